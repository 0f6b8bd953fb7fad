// ParseConfig / LoadConfigFile: the JSON text -> Config mapping. The auth and
// tls groups live in config_auth_tls.cc.
#include "keyring_backend/config/config.h"

#include <openssl/crypto.h>

#include "common/safe_file.h"
#include "keyring_backend/config/config_files.h"
#include "keyring_backend/config/config_groups.h"
#include "keyring_backend/config/config_reader.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker {
namespace config_internal {
namespace {

using nlohmann::json;

// nlohmann's message ends with "last read: '<text>'", which could echo a
// secret someone pasted into the file; keep only the position and the kind.
std::string SafeParseMessage(const json::parse_error& e) {
  std::string what = e.what();
  size_t start = what.find("parse error");
  if (start != std::string::npos) what = what.substr(start);
  size_t last_read = what.find("; last read:");
  if (last_read != std::string::npos) {
    size_t expected = what.find("; expected", last_read);
    what = what.substr(0, last_read) +
           (expected == std::string::npos ? std::string() : what.substr(expected));
  }
  return what;
}

Status ParseLocker(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("locker");
  RETURN_IF_ERROR(g.Expect({"type", "urls", "namespace", "kv_mount", "kv_version",
                            "transit_mount", "transit_key"}));
  RETURN_IF_ERROR(g.String("type", &config->locker_type));
  if (config->locker_type != "vault") {
    return g.Error("type", "\"" + config->locker_type + "\" is not a supported locker",
                   "use \"vault\" (HashiCorp Vault or OpenBao)");
  }
  if (!g.Has("urls")) {
    return g.Error("urls", "is required",
                   "list the locker's addresses, e.g. [\"https://vault1:8200\"]");
  }
  RETURN_IF_ERROR(g.StringList("urls", &config->http.endpoints));
  RETURN_IF_ERROR(CheckUrls(g, &config->http.endpoints));

  RETURN_IF_ERROR(g.String("namespace", &config->vault.ns));
  if (!config->vault.ns.empty()) {
    std::string problem = NameProblem(config->vault.ns, true);
    if (!problem.empty()) return g.Error("namespace", problem, "write it as \"team/sub\"");
  }
  VaultOptions& v = config->vault;
  RETURN_IF_ERROR(g.String("kv_mount", &v.kv_mount));
  RETURN_IF_ERROR(g.String("transit_mount", &v.transit_mount));
  RETURN_IF_ERROR(g.String("transit_key", &v.transit_key));
  for (auto [key, value, slash] : {std::tuple{"kv_mount", &v.kv_mount, true},
                                   std::tuple{"transit_mount", &v.transit_mount, true},
                                   std::tuple{"transit_key", &v.transit_key, false}}) {
    std::string problem = NameProblem(*value, slash);
    if (!problem.empty()) {
      return g.Error(key, problem, "use the mount or key name as shown by the locker");
    }
  }
  if (const json* kv = g.Get("kv_version")) {
    if (kv->is_string() && kv->get<std::string>() == "auto") {
      v.kv_version = 0;
    } else if (kv->is_number_integer() && (*kv == 1 || *kv == 2)) {
      v.kv_version = kv->get<int>();
    } else {
      return g.Error("kv_version", "must be \"auto\", 1 or 2, got " + Shown(*kv),
                     "use \"auto\" to detect the KV engine version from the locker");
    }
  }
  return Status::Ok();
}

const std::string kNameFix =
    "use segments of letters, digits, '_', '.' and '-' joined by '/', e.g.";

Status ParseKeys(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("keys");
  RETURN_IF_ERROR(g.Expect({"prefix", "scope", "unbound_documents"}));
  RETURN_IF_ERROR(g.String("prefix", &config->keys.prefix));
  std::string problem = NameProblem(config->keys.prefix, true);
  if (!problem.empty()) return g.Error("prefix", problem, kNameFix + " \"keyring_locker\"");
  if (!g.Has("scope")) {
    return g.Error("scope", "is required",
                   "name the key set this server uses, e.g. \"prod/db1\"; servers sharing a "
                   "scope share keys (replicas, backups)");
  }
  RETURN_IF_ERROR(g.String("scope", &config->keys.scope));
  problem = NameProblem(config->keys.scope, true);
  if (!problem.empty()) return g.Error("scope", problem, kNameFix + " \"prod/db1\"");
  if (g.Has("unbound_documents")) {
    std::string unbound;
    RETURN_IF_ERROR(g.String("unbound_documents", &unbound));
    if (unbound != "read" && unbound != "refuse") {
      return g.Error("unbound_documents", "must be \"read\" or \"refuse\", got " + Shown(unbound),
                     "use \"refuse\" once no key version from before key binding is needed (docs/security.md)");
    }
    config->keys.read_unbound_documents = unbound == "read";
  }
  return Status::Ok();
}

Status ParseNetwork(const GroupReader& root, Config* config) {
  HttpOptions& http = config->http;
  GroupReader t = root.Group("timeouts");
  RETURN_IF_ERROR(t.Expect({"connect_ms", "total_ms"}));
  int64_t connect = http.connect_timeout.count(), total = http.total_timeout.count();
  RETURN_IF_ERROR(t.Int("connect_ms", 1, 600000, "milliseconds", &connect));
  RETURN_IF_ERROR(t.Int("total_ms", 1, 3600000, "milliseconds", &total));
  if (total < connect) {
    return t.Error("total_ms", "(" + std::to_string(total) + ") is shorter than "
                   "timeouts.connect_ms (" + std::to_string(connect) + ")",
                   "make total_ms at least connect_ms: it bounds a whole request, retries included");
  }
  http.connect_timeout = std::chrono::milliseconds(connect);
  http.total_timeout = std::chrono::milliseconds(total);

  GroupReader r = root.Group("retries");
  RETURN_IF_ERROR(r.Expect({"max", "backoff_initial_ms", "backoff_max_ms"}));
  int64_t max = http.max_retries, initial = http.backoff_initial.count(),
          backoff_max = http.backoff_max.count();
  RETURN_IF_ERROR(r.Int("max", 0, 10, "extra attempts", &max));
  RETURN_IF_ERROR(r.Int("backoff_initial_ms", 1, 60000, "milliseconds", &initial));
  RETURN_IF_ERROR(r.Int("backoff_max_ms", 1, 600000, "milliseconds", &backoff_max));
  if (backoff_max < initial) {
    return r.Error("backoff_max_ms", "is smaller than retries.backoff_initial_ms",
                   "make backoff_max_ms at least backoff_initial_ms");
  }
  http.max_retries = static_cast<int>(max);
  http.backoff_initial = std::chrono::milliseconds(initial);
  http.backoff_max = std::chrono::milliseconds(backoff_max);

  GroupReader l = root.Group("limits");
  RETURN_IF_ERROR(l.Expect({"max_response_bytes"}));
  int64_t cap = static_cast<int64_t>(http.max_response_bytes);
  RETURN_IF_ERROR(l.Int("max_response_bytes", 1024, 33554432, "bytes", &cap));
  http.max_response_bytes = static_cast<size_t>(cap);
  return Status::Ok();
}

Status ParseCacheAndAudit(const GroupReader& root, Config* config) {
  GroupReader c = root.Group("cache");
  RETURN_IF_ERROR(c.Expect({"version_refresh_s", "max_keys"}));
  int64_t refresh = config->cache.version_refresh.count();
  int64_t max_keys = static_cast<int64_t>(config->cache.max_keys);
  RETURN_IF_ERROR(c.Int("version_refresh_s", 1, 86400, "seconds", &refresh));
  RETURN_IF_ERROR(c.Int("max_keys", 1, 10000000, "keys", &max_keys));
  config->cache.version_refresh = std::chrono::seconds(refresh);
  config->cache.max_keys = static_cast<size_t>(max_keys);

  GroupReader a = root.Group("audit");
  RETURN_IF_ERROR(a.Expect({"path", "actor"}));
  RETURN_IF_ERROR(a.String("path", &config->audit.path));
  if (!config->audit.path.empty() && config->audit.path.front() != '/') {
    return a.Error("path", "\"" + config->audit.path + "\" is not an absolute path",
                   "give the full path; the server's working directory is its data directory");
  }
  RETURN_IF_ERROR(a.String("actor", &config->audit.actor));
  if (config->audit.actor.size() > 128) {
    return a.Error("actor", "is longer than 128 characters", "use a short name such as db1");
  }
  for (char ch : config->audit.actor) {
    if (static_cast<unsigned char>(ch) < 0x20) {
      return a.Error("actor", "contains a control character", "use printable characters only");
    }
  }
  return Status::Ok();
}

}  // namespace
}  // namespace config_internal

Status CheckNoNulByte(const std::string& text, const std::string& source) {
  const size_t at = text.find('\0');
  if (at == std::string::npos) return Status::Ok();
  return InvalidArgument(source + ": holds a NUL byte at byte offset " + std::to_string(at) +
                         "; the JSON parser would silently ignore everything after it. Save the "
                         "file as plain UTF-8 text without NUL bytes (an editor set to UTF-16, "
                         "or a copy of a binary file, writes them)");
}

StatusOr<Config> ParseConfig(const std::string& json_text, const std::string& source) {
  using config_internal::GroupReader;
  // nlohmann::json takes a NUL as the end of input: text after it, a
  // second "auth" group for instance, would be ignored without a word.
  RETURN_IF_ERROR(CheckNoNulByte(json_text, source));
  try {
    DuplicateKeyFinder duplicates;  // a second "verify": false further down must not win silently
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(json_text, std::ref(duplicates));
    } catch (const nlohmann::json::parse_error& e) {
      return InvalidArgument(source + ": not valid JSON at byte " + std::to_string(e.byte) +
                             ": " + config_internal::SafeParseMessage(e) +
                             "; fix the syntax (a JSON linter such as `jq . FILE` shows it)");
    }
    if (!duplicates.duplicate().empty()) {
      return InvalidArgument(source + ": " + duplicates.duplicate() +
                             ": appears twice in the same object; keep only one");
    }
    Config config;
    GroupReader top(source, "", &root);
    RETURN_IF_ERROR(top.Expect({"store", "wrapper", "locker", "kmip", "aws_kms", "azure", "keys", "auth", "tls",
                                "timeouts", "retries", "limits", "cache", "audit"}));
    RETURN_IF_ERROR(config_internal::ParseRoles(top, &config));
    if (config.roles.UsesVault()) {
      RETURN_IF_ERROR(config_internal::ParseLocker(top, &config));
      RETURN_IF_ERROR(config_internal::ParseTls(top, &config));
      RETURN_IF_ERROR(config_internal::ParseAuth(top, &config));
    }
    RETURN_IF_ERROR(config_internal::ParseKeys(top, &config));
    RETURN_IF_ERROR(config_internal::ParseNetwork(top, &config));
    if (config.roles.UsesKmip()) RETURN_IF_ERROR(config_internal::ParseKmip(top, &config));
    if (config.roles.UsesAwsKms()) RETURN_IF_ERROR(config_internal::ParseAwsKms(top, &config));
    if (config.roles.UsesAzure()) RETURN_IF_ERROR(config_internal::ParseAzure(top, &config));
    RETURN_IF_ERROR(config_internal::ParseCacheAndAudit(top, &config));
    return config;
  } catch (const std::exception& e) {
    // Only allocation failures or nlohmann type errors after validation can
    // land here; neither message holds config values.
    return Internal(source + ": unexpected error while reading the config: " + e.what() +
                    "; please report this as a bug");
  }
}

StatusOr<Config> LoadConfigFile(const std::string& path) {
  try {
    ASSIGN_OR_RETURN(std::string text, config_internal::ReadConfigText(path));
    StatusOr<Config> config = ParseConfig(text, path);
    if (config.ok()) {
      for (std::string& w : InsecureDirectoryWarnings(path, "config file"))
        config->warnings.push_back(std::move(w));
    }
    // A rejected inline secret may sit in the text; do not leave it in freed memory.
    OPENSSL_cleanse(text.data(), text.size());
    return config;
  } catch (const std::exception& e) {
    return Internal(path + ": unexpected error while loading the config: " + e.what() +
                    "; please report this as a bug");
  }
}

}  // namespace keyring_locker
