// check, Vault: a session of its own (HTTP client, login), then
// sys/capabilities-self for every path the plugin uses, compared with
// exactly what it needs (docs/locker-setup.md, "The policy"): a missing
// capability is a FAIL naming the policy line to add; a dangerous extra one
// (update or delete on key documents, KEK export, ...) is a WARN, since the
// plugin only ever creates. The session is separate from the backend so
// that a token the backend cannot even start with is still examined.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/vault/vault_namespace.h"
#include "tools/check_report.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

// One path the plugin uses: what it must be granted there, and what it must
// not be (capabilities that could destroy or leak keys).
struct PathNeed {
  std::string path;
  std::vector<std::pair<std::string, std::string>> required;  // capability, check name
  std::vector<std::string> dangerous;
  std::string policy_glob;   // the policy line's path
  std::string policy_caps;   // its capabilities, as docs/locker-setup.md writes them
  std::string why;           // what the plugin does there
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string Stanza(const PathNeed& n) {
  return "path \"" + n.policy_glob + "\" { capabilities = [" + n.policy_caps + "] }";
}

StatusOr<json> VaultCall(HttpClient& http, Authenticator& auth, const std::string& method, const std::string& path,
                         const std::string& body, long* status) {
  HttpRequest req;
  req.method = method;
  req.path = "/v1/" + path;
  req.body = body;
  req.headers.emplace_back("X-Vault-Token", auth.Token());
  ASSIGN_OR_RETURN(HttpResponse r, http.Send(req));
  *status = r.status;
  json doc = json::parse(r.body, nullptr, false);
  return doc.is_discarded() ? json() : doc;
}

std::string VaultErrors(const json& body) {
  if (body.is_object() && body.contains("errors") && body["errors"].is_array()) {
    std::string out;
    for (const auto& e : body["errors"])
      if (e.is_string()) out += (out.empty() ? "" : "; ") + e.get<std::string>();
    return out;
  }
  return "";
}

// The KV version of the mount (sys/internal/ui/mounts, as the plugin asks);
// 0 when it cannot be learnt (the check reports why).
int KvVersion(const Config& config, HttpClient& http, Authenticator& auth, CheckReport& report) {
  const std::string mount = config.vault.kv_mount;
  long status = 0;
  auto r = VaultCall(http, auth, "GET", "sys/internal/ui/mounts/" + mount, "", &status);
  if (!r.ok()) {
    report.Fail("vault.kv.mount", "asking sys/internal/ui/mounts/" + mount + ": " + r.status().message(),
                "check that the locker answers (keyring-locker health)");
    return config.vault.kv_version;
  }
  if (status != 200) {
    const std::string why = VaultErrors(*r);
    if (config.vault.kv_version != 0) {
      report.Info("vault.kv.mount", "sys/internal/ui/mounts/" + mount + " answered " + std::to_string(status) +
                                        " (" + why + "); locker.kv_version = " +
                                        std::to_string(config.vault.kv_version) + " is used");
    } else {
      report.Fail("vault.kv.mount",
                  "the plugin cannot learn the KV version of \"" + mount + "\": sys/internal/ui/mounts/" + mount +
                      " answered " + std::to_string(status) + " (" + why + ")",
                  "enable the mount (vault secrets enable -path=" + mount + " kv-v2) and grant the policy below "
                  "on it, or fix locker.kv_mount");
    }
    return config.vault.kv_version;
  }
  const json& data = r->contains("data") && (*r)["data"].is_object() ? (*r)["data"] : *r;
  std::string version = "1";
  if (data.contains("options") && data["options"].is_object() && data["options"].contains("version") &&
      data["options"]["version"].is_string())
    version = data["options"]["version"].get<std::string>();
  const std::string type = data.value("type", "");
  if (type != "kv" && type != "generic") {
    report.Fail("vault.kv.mount", "\"" + mount + "\" is a " + type + " mount, not KV",
                "set locker.kv_mount to the KV mount holding the keys");
    return 0;
  }
  const int v = version == "2" ? 2 : 1;
  if (config.vault.kv_version != 0 && config.vault.kv_version != v) {
    report.Fail("vault.kv.mount",
                "locker.kv_version says " + std::to_string(config.vault.kv_version) + " but \"" + mount +
                    "\" is KV v" + std::to_string(v),
                "set locker.kv_version to " + std::to_string(v) + " or \"auto\"");
    return v;
  }
  report.Pass("vault.kv.mount", "\"" + mount + "/\" is KV v" + std::to_string(v) + " (read as the plugin does)");
  return v;
}

std::vector<PathNeed> PluginPaths(const Config& config, int kv_version) {
  const VaultOptions& v = config.vault;
  const std::string scope = config.keys.prefix + "/" + config.keys.scope;
  const bool v2 = kv_version != 1;
  const std::string data = v.kv_mount + (v2 ? "/data/" : "/") + scope;
  const std::string meta = v.kv_mount + (v2 ? "/metadata/" : "/") + scope;
  const std::string t = v.transit_mount;
  const std::string k = v.transit_key;
  std::vector<PathNeed> needs = {
      {data + "/keys/1/1",
       {{"create", "vault.kv.create"}, {"read", "vault.kv.read"}},
       {"update", "patch", "delete", "sudo"},
       data + "/*",
       v2 ? "\"create\", \"read\"" : "\"create\", \"read\", \"list\"",
       "key documents are created once (create-only) and read back"},
      {meta + "/keys/",
       {{"list", "vault.kv.list"}},
       v2 ? std::vector<std::string>{"create", "update", "patch", "delete", "sudo"} : std::vector<std::string>{},
       meta + "/*",
       "\"list\"",
       "the scope's keys and versions are listed at start and by the version refresh"},
      {t + "/encrypt/" + k, {{"update", "vault.transit.encrypt"}}, {"sudo"}, t + "/encrypt/" + k, "\"update\"",
       "every new key version is wrapped bound to its name"},
      {t + "/decrypt/" + k, {{"update", "vault.transit.decrypt"}}, {"sudo"}, t + "/decrypt/" + k, "\"update\"",
       "every key is unwrapped when the server first needs it"},
      {t + "/datakey/plaintext/" + k, {{"update", "vault.transit.datakey"}}, {"sudo"},
       t + "/datakey/plaintext/" + k, "\"update\"", "new key versions are generated in the locker"},
      {t + "/keys/" + k, {{"read", "vault.transit.key"}}, {"update", "delete", "sudo"}, t + "/keys/" + k, "\"read\"",
       "the Transit key is checked at start"},
      {"auth/token/lookup-self", {{"read", "vault.token.lookup_self"}}, {}, "auth/token/lookup-self", "\"read\"",
       "the token's TTL is read at login (Vault's default policy grants it)"},
      {"auth/token/renew-self", {{"update", "vault.token.renew_self"}}, {}, "auth/token/renew-self", "\"update\"",
       "the token is renewed at 2/3 of its TTL (Vault's default policy grants it)"},
      // Paths the plugin never uses, where any right at all is a risk.
      {t + "/keys/" + k + "/config", {}, {"create", "update", "sudo"}, "", "",
       "lets the KEK be made deletable (deletion_allowed)"},
      {t + "/export/encryption-key/" + k, {}, {"read", "sudo"}, "", "", "exports the KEK itself"},
  };
  if (!v2) needs[1].policy_caps = "\"create\", \"read\", \"list\"";
  return needs;
}

void JudgeCapabilities(const PathNeed& need, const std::vector<std::string>& caps, CheckReport& report) {
  const std::set<std::string> have(caps.begin(), caps.end());
  const bool root = have.count("root") > 0;
  for (const auto& [cap, check] : need.required) {
    if (root || have.count(cap)) {
      report.Pass(check, "\"" + cap + "\" on " + need.path + ": " + need.why);
    } else {
      report.Fail(check,
                  "the token lacks \"" + cap + "\" on " + need.path + " (has: " + Join(caps) +
                      "), which the plugin needs: " + need.why,
                  "add to the token's policy: " + Stanza(need) + " (then 'vault policy write NAME FILE')");
    }
  }
  std::vector<std::string> extra;
  for (const auto& cap : need.dangerous)
    if (have.count(cap)) extra.push_back(cap);
  if (!extra.empty()) {
    const std::string check = need.required.empty() ? "vault.least_privilege" : need.required.front().second;
    report.Warn(check + ".extra",
                "not least privilege: the token also has " + Join(extra) + " on " + need.path +
                    (need.required.empty() ? " (" + need.why + ")"
                                           : "; the plugin never needs it (writes are create-only)"),
                need.required.empty() ? "remove the rule granting it from the token's policies"
                                      : "narrow the rule to " + Stanza(need));
  }
}

void CheckToken(const Config& config, const AuthInfo& info, CheckReport& report) {
  const bool relogin = config.auth.method != AuthOptions::Method::kToken;
  const auto interval = std::max(config.auth.min_retry_interval, config.cache.version_refresh);
  if (info.ttl.count() == 0) {
    report.Info("auth.token_ttl", "the token never expires (no TTL)");
    return;
  }
  const std::string ttl = std::to_string(info.ttl.count()) + " s";
  if (!info.renewable) {
    const std::string detail = "the token (TTL " + ttl + ") is not renewable";
    if (relogin) {
      report.Warn("auth.token_renewable", detail + "; the plugin logs in again when it expires",
                  "make the role's tokens renewable (token_ttl below token_max_ttl)");
    } else {
      report.Warn("auth.token_renewable", detail + ": when it expires the server loses the locker",
                  "use a periodic token (vault token create -orphan -period=24h -policy=...) or AppRole");
    }
  } else {
    report.Pass("auth.token_renewable", "the token is renewable (renewed at 2/3 of its TTL)");
  }
  if (info.ttl < 2 * interval) {
    report.Warn("auth.token_ttl",
                "the token's TTL " + ttl + " is under twice the plugin's renewal/refresh interval (" +
                    std::to_string(interval.count()) + " s): one missed renewal and it expires",
                "give the token (or the AppRole) a TTL of at least " + std::to_string(2 * interval.count()) +
                    " s, e.g. token_ttl=1h");
  } else {
    report.Pass("auth.token_ttl", "TTL " + ttl);
  }
}

const char* MethodName(AuthOptions::Method m) {
  switch (m) {
    case AuthOptions::Method::kAppRole: return "AppRole";
    case AuthOptions::Method::kCert: return "TLS certificate";
    default: return "token";
  }
}

}  // namespace

void CheckVaultPermissions(const Config& config, CheckReport& report) {
  auto http = HttpClient::Create(WithVaultNamespace(config.http, config.vault.ns));
  if (!http.ok()) {
    report.Fail("vault.session", http.status().message(), "fix the locker and tls groups of the config");
    return;
  }
  auto auth = Authenticator::Create(config.auth, http->get());
  if (!auth.ok()) {
    report.Fail("auth.login", auth.status().message(), "fix the auth group of the config");
    return;
  }
  Status login = (*auth)->Login();
  if (!login.ok()) {
    report.Fail("auth.login", std::string(MethodName(config.auth.method)) + " login failed: " + login.message(),
                "see docs/locker-setup.md, step 3-5; the message above names the file or role");
    return;
  }
  std::string how = MethodName(config.auth.method);
  if (config.auth.method == AuthOptions::Method::kAppRole) how += " login with role_id " + config.auth.role_id;
  report.Pass("auth.login", how + " works (token checked with lookup-self)");
  CheckToken(config, (*auth)->info(), report);

  const int kv_version = KvVersion(config, **http, **auth, report);
  const std::vector<PathNeed> needs = PluginPaths(config, kv_version);
  json paths = json::array();
  for (const auto& n : needs) paths.push_back(n.path);
  long status = 0;
  auto r = VaultCall(**http, **auth, "POST", "sys/capabilities-self", json{{"paths", paths}}.dump(), &status);
  if (!r.ok() || status != 200) {
    report.Warn("vault.capabilities",
                "cannot ask sys/capabilities-self (" + (r.ok() ? std::to_string(status) + " " + VaultErrors(*r)
                                                               : r.status().message()) +
                    "); only the exercised checks below speak for the policy",
                "keep Vault's default policy on the token (it grants update on sys/capabilities-self)");
    return;
  }
  const json& data = r->contains("data") && (*r)["data"].is_object() ? (*r)["data"] : *r;
  bool root = false;
  for (const auto& n : needs) {
    std::vector<std::string> caps;
    if (data.contains(n.path) && data[n.path].is_array()) {
      for (const auto& c : data[n.path])
        if (c.is_string()) caps.push_back(c.get<std::string>());
    } else {
      report.Warn("vault.capabilities", "the locker did not answer for " + n.path, "check the locker's version");
      continue;
    }
    root = root || std::find(caps.begin(), caps.end(), "root") != caps.end();
    JudgeCapabilities(n, caps, report);
  }
  if (root) {
    report.Warn("vault.least_privilege", "the token has the root policy: it can do anything in the locker",
                "give the server a token or AppRole with only the policy of docs/locker-setup.md");
  }
}

}  // namespace keyring_locker
