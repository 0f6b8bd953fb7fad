// auth/token/*: create, lookup-self, renew-self, revoke-self (+ lookup and
// revoke by id for root). Tokens are random UUIDs prefixed "hvs." like Vault's.
#include <algorithm>

#include "devlocker/locker.h"

namespace devlocker {

namespace {

constexpr int64_t kDefaultTtl = 768 * 3600;  // Vault's system default max TTL

json AuthObject(const std::string& id, const json& t) {
  int64_t exp = t["expire_time"].get<int64_t>();
  int64_t left = exp == 0 ? 0 : std::max<int64_t>(0, exp - NowUnix());
  std::vector<std::string> policies = t["policies"].get<std::vector<std::string>>();
  std::vector<std::string> token_policies;
  for (const auto& p : policies)
    if (p != "default") token_policies.push_back(p);
  return json{{"client_token", id}, {"accessor", t["accessor"]}, {"policies", policies},
              {"token_policies", policies}, {"identity_policies", nullptr},
              {"metadata", t.value("meta", json(nullptr))}, {"lease_duration", left},
              {"renewable", t["renewable"]}, {"entity_id", ""}, {"token_type", "service"},
              {"orphan", true}, {"num_uses", 0}};
}

json LookupData(const json& t, bool include_expiry_details) {
  int64_t exp = t["expire_time"].get<int64_t>();
  int64_t left = exp == 0 ? 0 : std::max<int64_t>(0, exp - NowUnix());
  // The token id itself is deliberately not echoed: tests check that clients
  // never need it back, and logs of this response stay secret-free.
  return json{{"accessor", t["accessor"]}, {"creation_time", t["creation_time"]},
              {"creation_ttl", t["creation_ttl"]}, {"display_name", "token"},
              {"entity_id", ""}, {"expire_time", exp == 0 ? json(nullptr) : json(Rfc3339(exp))},
              {"explicit_max_ttl", t["explicit_max_ttl"]}, {"issue_time", Rfc3339(t["creation_time"].get<int64_t>())},
              {"meta", t.value("meta", json(nullptr))}, {"num_uses", 0}, {"orphan", true},
              {"path", t["path"]}, {"period", t["period"]}, {"policies", t["policies"]},
              {"renewable", t["renewable"]}, {"ttl", left}, {"type", "service"},
              {"namespace_path", t["ns"].get<std::string>().empty() ? "" : t["ns"].get<std::string>() + "/"}};
}

json RootRecord(const Ctx& ctx) {
  return json{{"accessor", "root-accessor"}, {"ns", ""}, {"policies", {"root"}}, {"creation_time", 0},
              {"creation_ttl", 0}, {"expire_time", 0}, {"max_expire", 0}, {"explicit_max_ttl", 0},
              {"period", 0}, {"renewable", false}, {"path", "auth/token/root"}};
}

Reply Create(Ctx& ctx) {
  auto ttl = ParseDuration(ctx.body.value("ttl", json(nullptr)));
  auto max_ttl = ParseDuration(ctx.body.value("explicit_max_ttl", json(nullptr)));
  auto period = ParseDuration(ctx.body.value("period", json(nullptr)));
  if (!ttl || !max_ttl || !period) return Error(400, "invalid ttl, explicit_max_ttl or period: use e.g. 30, \"30s\", \"10m\", \"1h\"");
  std::vector<std::string> policies = StringListField(ctx.body, "policies");
  if (policies.empty()) {
    if (!ctx.is_root) return Error(400, "a non-root token must name its policies explicitly");
    policies = {"root"};
  }
  if (std::find(policies.begin(), policies.end(), "root") != policies.end() && !ctx.is_root)
    return Error(400, "root tokens can only be created by a root token");
  bool is_root_token = std::find(policies.begin(), policies.end(), "root") != policies.end();
  int64_t lifetime = *period > 0 ? *period : (*ttl > 0 ? *ttl : (is_root_token ? 0 : kDefaultTtl));
  if (*max_ttl > 0 && (lifetime == 0 || lifetime > *max_ttl)) lifetime = *max_ttl;
  json auth = IssueToken(ctx, policies, lifetime, *max_ttl, *period, BoolField(ctx.body, "renewable", true),
                         "auth/token/create", ctx.body.value("meta", json(nullptr)));
  if (BoolField(ctx.body, "no_default_policy", false)) {
    // As Vault: the token lacks even lookup-self and renew-self then.
    json& t = ctx.doc["tokens"][auth["client_token"].get<std::string>()];
    std::vector<std::string> kept;
    for (const auto& p : t["policies"].get<std::vector<std::string>>())
      if (p != "default") kept.push_back(p);
    t["policies"] = kept;
    auth = AuthObject(auth["client_token"].get<std::string>(), t);
  }
  return OkAuth(auth);
}

Reply RenewSelf(Ctx& ctx) {
  if (ctx.is_root && ctx.token_id == ctx.rt.root_token) return Error(400, "lease is not renewable");
  json& t = ctx.doc["tokens"][ctx.token_id];
  if (!t["renewable"].get<bool>()) return Error(400, "lease is not renewable");
  auto increment = ParseDuration(ctx.body.value("increment", json(nullptr)));
  if (!increment) return Error(400, "invalid increment: use e.g. 3600 or \"1h\"");
  int64_t period = t["period"].get<int64_t>();
  int64_t grant = period > 0 ? period : (*increment > 0 ? *increment : t["creation_ttl"].get<int64_t>());
  int64_t exp = NowUnix() + grant;
  const int64_t max_expire = t["max_expire"].get<int64_t>();
  Reply r;
  bool capped = max_expire != 0 && exp > max_expire;
  if (capped) exp = max_expire;
  t["expire_time"] = exp;
  r = OkAuth(AuthObject(ctx.token_id, t));
  if (capped)
    r.body["warnings"] = json::array({"TTL of \"" + std::to_string(grant) +
                                      "s\" exceeded the effective max_ttl; TTL value is capped accordingly"});
  return r;
}

}  // namespace

json IssueToken(Ctx& ctx, std::vector<std::string> policies, int64_t ttl, int64_t explicit_max_ttl,
                int64_t period, bool renewable, const std::string& path, json metadata) {
  if (std::find(policies.begin(), policies.end(), "root") == policies.end() &&
      std::find(policies.begin(), policies.end(), "default") == policies.end())
    policies.push_back("default");
  std::sort(policies.begin(), policies.end());
  const int64_t now = NowUnix();
  const std::string id = "hvs." + NewUuid();
  json t = {{"accessor", NewUuid()}, {"ns", ctx.ns}, {"policies", policies}, {"creation_time", now},
            {"creation_ttl", ttl}, {"expire_time", ttl == 0 ? 0 : now + ttl},
            {"max_expire", explicit_max_ttl == 0 ? 0 : now + explicit_max_ttl},
            {"explicit_max_ttl", explicit_max_ttl}, {"period", period},
            {"renewable", renewable && ttl != 0}, {"path", path}, {"meta", metadata}};
  ctx.doc["tokens"][id] = t;
  return AuthObject(id, t);
}

Reply HandleToken(Ctx& ctx, const std::string& rest) {
  json& tokens = ctx.doc["tokens"];
  const bool own_record = tokens.contains(ctx.token_id);
  if (rest == "create" || rest == "create-orphan") return Create(ctx);
  if (rest == "lookup-self")
    return Ok(LookupData(own_record ? tokens[ctx.token_id] : RootRecord(ctx), true));
  if (rest == "renew-self") return RenewSelf(ctx);
  if (rest == "revoke-self") {
    if (own_record) tokens.erase(ctx.token_id);
    return NoContent();
  }
  if (!ctx.is_root) return PermissionDenied();
  const std::string other = StringField(ctx.body, "token", ctx.http.get_param_value("token"));
  if (rest == "lookup") {
    if (other == ctx.rt.root_token) return Ok(LookupData(RootRecord(ctx), true));
    if (!tokens.contains(other)) return Error(403, "bad token");
    return Ok(LookupData(tokens[other], true));
  }
  if (rest == "revoke") {
    tokens.erase(other);
    return NoContent();
  }
  return Error(404, "unsupported path auth/token/" + rest + " in devlocker");
}

}  // namespace devlocker
