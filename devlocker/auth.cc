// auth/*: routes to the token store or to the auth method mounted there, and
// the AppRole method itself.
#include <algorithm>
#include <optional>

#include "devlocker/cidr.h"
#include "devlocker/locker.h"

namespace devlocker {

Reply HandleAuth(Ctx& ctx, const std::string& rest) {
  std::string mount_path, sub;
  json* mount = FindMount(ctx.ns_doc["auth"], rest, &mount_path, &sub);
  if (!mount) return Error(404, "no auth method mounted at auth/" + rest + ": enable it with sys/auth");
  const std::string type = (*mount)["type"].get<std::string>();
  if (type == "token") return HandleToken(ctx, sub);
  if (type == "approle") return HandleAppRole(ctx, *mount, sub);
  if (type == "cert") return HandleCert(ctx, *mount, sub);
  return Error(404, "unsupported auth method type " + type);
}

namespace {

constexpr int64_t kDefaultTtl = 768 * 3600;

// Roles written before these fields existed read as "no restriction".
json RoleInfo(const json& role) {
  return json{{"token_ttl", role["token_ttl"]}, {"token_max_ttl", role["token_max_ttl"]},
              {"token_policies", role["token_policies"]}, {"policies", role["token_policies"]},
              {"secret_id_ttl", role["secret_id_ttl"]}, {"bind_secret_id", role["bind_secret_id"]},
              {"token_type", "default"}, {"secret_id_num_uses", role.value("secret_id_num_uses", 0)},
              {"token_num_uses", 0},
              {"secret_id_bound_cidrs", role.value("secret_id_bound_cidrs", json::array())},
              {"token_bound_cidrs", role.value("token_bound_cidrs", json::array())}};
}

// Reads a CIDR list field into `out`; an error reply when one is invalid.
std::optional<Reply> CidrField(const json& body, const char* name, json* out) {
  if (!body.contains(name)) return std::nullopt;
  std::vector<std::string> cidrs = StringListField(body, name);
  const std::string bad = FirstInvalidCidr(cidrs);
  if (!bad.empty()) return Error(400, std::string("invalid ") + name + " entry \"" + bad + "\": use e.g. 10.0.0.0/8");
  *out = cidrs;
  return std::nullopt;
}

Reply Login(Ctx& ctx, json& roles) {
  const std::string role_id = StringField(ctx.body, "role_id");
  if (role_id.empty()) return Error(400, "missing role_id");
  for (auto it = roles.begin(); it != roles.end(); ++it) {
    json& role = it.value();
    if (role["role_id"] != role_id) continue;
    if (role["bind_secret_id"].get<bool>()) {
      const std::string secret_id = StringField(ctx.body, "secret_id");
      json& ids = role["secret_ids"];
      if (secret_id.empty() || !ids.contains(secret_id)) return Error(400, "invalid role or secret ID");
      json& entry = ids[secret_id];
      int64_t exp = entry["expire_time"].get<int64_t>();
      if (exp != 0 && NowUnix() >= exp) {
        ids.erase(secret_id);
        return Error(400, "invalid role or secret ID");
      }
      // The secret ID keeps the CIDRs it was issued with (Vault: changing
      // the role's list later does not change secret IDs already issued).
      const auto cidrs = entry.value("cidr_list", std::vector<std::string>{});
      if (!AddressAllowed(ctx.http.remote_addr, cidrs)) {
        return Error(400, "source address \"" + ctx.http.remote_addr +
                              "\" unauthorized through CIDR restrictions on the secret ID");
      }
      const int64_t uses = entry.value("num_uses", int64_t{0});
      if (uses == 1) {
        ids.erase(secret_id);  // its last use
      } else if (uses > 1) {
        entry["num_uses"] = uses - 1;
      }
    }
    const auto token_cidrs = role.value("token_bound_cidrs", std::vector<std::string>{});
    if (!AddressAllowed(ctx.http.remote_addr, token_cidrs)) return PermissionDenied();
    int64_t ttl = role["token_ttl"].get<int64_t>();
    int64_t max_ttl = role["token_max_ttl"].get<int64_t>();
    if (ttl == 0) ttl = max_ttl != 0 ? max_ttl : kDefaultTtl;
    if (max_ttl != 0 && ttl > max_ttl) ttl = max_ttl;
    json auth = IssueToken(ctx, role["token_policies"].get<std::vector<std::string>>(), ttl, max_ttl, 0, true,
                           "auth/approle/login", json{{"role_name", it.key()}});
    if (!token_cidrs.empty()) {
      ctx.doc["tokens"][auth["client_token"].get<std::string>()]["bound_cidrs"] = token_cidrs;
      auth["token_bound_cidrs"] = token_cidrs;  // hvac and the CLI show it; our client ignores it
    }
    return OkAuth(auth);
  }
  return Error(400, "invalid role or secret ID");
}

}  // namespace

Reply HandleAppRole(Ctx& ctx, json& mount, const std::string& rest) {
  json& roles = mount["data"]["roles"];
  if (rest == "login") return Login(ctx, roles);
  if (rest == "role" || rest == "role/") {
    std::vector<std::string> names;
    for (auto it = roles.begin(); it != roles.end(); ++it) names.push_back(it.key());
    return ListReply(names);
  }
  if (rest.compare(0, 5, "role/") != 0) return Error(404, "unsupported AppRole path " + rest);
  const std::string tail = rest.substr(5);
  const size_t slash = tail.find('/');
  const std::string name = tail.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : tail.substr(slash + 1);
  if (action.empty()) {
    if (ctx.method == "GET") return roles.contains(name) ? Ok(RoleInfo(roles[name])) : NotFoundEmpty();
    if (ctx.method == "DELETE") {
      roles.erase(name);
      return NoContent();
    }
    json& role = roles[name];
    if (role.is_null())
      role = json{{"role_id", NewUuid()}, {"token_ttl", 0}, {"token_max_ttl", 0},
                  {"token_policies", json::array()}, {"secret_id_ttl", 0}, {"bind_secret_id", true},
                  {"secret_ids", json::object()}};
    for (const char* f : {"token_ttl", "token_max_ttl", "secret_id_ttl"}) {
      if (!ctx.body.contains(f)) continue;
      auto d = ParseDuration(ctx.body[f]);
      if (!d) return Error(400, std::string("invalid ") + f + ": use e.g. 3600 or \"1h\"");
      role[f] = *d;
    }
    if (ctx.body.contains("token_policies")) role["token_policies"] = StringListField(ctx.body, "token_policies");
    else if (ctx.body.contains("policies")) role["token_policies"] = StringListField(ctx.body, "policies");
    role["bind_secret_id"] = BoolField(ctx.body, "bind_secret_id", role["bind_secret_id"].get<bool>());
    for (const char* f : {"secret_id_bound_cidrs", "token_bound_cidrs"}) {
      json cidrs = role.value(f, json::array());
      if (auto bad = CidrField(ctx.body, f, &cidrs)) return *bad;
      role[f] = cidrs;
    }
    if (ctx.body.contains("secret_id_num_uses")) {
      const int64_t uses = IntField(ctx.body, "secret_id_num_uses", -1);
      if (uses < 0) return Error(400, "secret_id_num_uses cannot be negative");
      role["secret_id_num_uses"] = uses;
    }
    return NoContent();
  }
  if (!roles.contains(name)) return Error(400, "role \"" + name + "\" does not exist");
  json& role = roles[name];
  if (action == "role-id") {
    if (ctx.method == "POST") {
      const std::string custom = StringField(ctx.body, "role_id");
      if (custom.empty()) return Error(400, "missing role_id");
      role["role_id"] = custom;
      return NoContent();
    }
    return Ok(json{{"role_id", role["role_id"]}});
  }
  if (action == "secret-id") {
    if (ctx.method == "LIST") {
      std::vector<std::string> accessors;
      for (const auto& s : role["secret_ids"]) accessors.push_back(s["accessor"].get<std::string>());
      return ListReply(accessors);
    }
    // cidr_list narrows the role's secret_id_bound_cidrs; it may not widen them.
    json cidrs = role.value("secret_id_bound_cidrs", json::array());
    if (auto bad = CidrField(ctx.body, "cidr_list", &cidrs)) return *bad;
    const auto role_cidrs = role.value("secret_id_bound_cidrs", std::vector<std::string>{});
    for (const auto& c : cidrs) {
      const std::string block = c.get<std::string>();
      if (!role_cidrs.empty() && std::find(role_cidrs.begin(), role_cidrs.end(), block) == role_cidrs.end()) {
        return Error(400, "failed to verify the CIDR restrictions set on the secret ID: \"" + block +
                              "\" is not one of the role's secret_id_bound_cidrs");
      }
    }
    const int64_t uses = IntField(ctx.body, "num_uses", role.value("secret_id_num_uses", int64_t{0}));
    if (uses < 0) return Error(400, "num_uses cannot be negative");
    const std::string secret_id = NewUuid();
    const std::string accessor = NewUuid();
    const int64_t ttl = role["secret_id_ttl"].get<int64_t>();
    role["secret_ids"][secret_id] = json{{"accessor", accessor}, {"expire_time", ttl == 0 ? 0 : NowUnix() + ttl},
                                         {"cidr_list", cidrs}, {"num_uses", uses}};
    return Ok(json{{"secret_id", secret_id}, {"secret_id_accessor", accessor}, {"secret_id_ttl", ttl},
                   {"secret_id_num_uses", uses}});
  }
  return Error(404, "unsupported AppRole path " + rest);
}

}  // namespace devlocker
