// sys/*: health, seal, mounts, auth methods, policies, namespaces.
#include "devlocker/locker.h"
#include "devlocker/policy.h"

namespace devlocker {

namespace {

// "+ent": it has namespaces, as Vault Enterprise (the client refuses a
// namespace on a community-edition version, which would ignore it).
const char* kVersion = "1.15.0+ent.devlocker";

json SealStatus(const Runtime& rt) {
  return json{{"type", "shamir"}, {"initialized", true}, {"sealed", rt.sealed.load()},
              {"t", 1}, {"n", 1}, {"progress", 0}, {"nonce", ""}, {"version", kVersion},
              {"cluster_name", "devlocker"}, {"cluster_id", rt.cluster_id},
              {"migration", false}, {"recovery_seal", false}, {"storage_type", "inmem"}};
}

json MountInfo(const json& m) {
  return json{{"type", m["type"]}, {"accessor", m["accessor"]}, {"description", m["description"]},
              {"options", m["options"]}, {"local", false}, {"seal_wrap", false},
              {"config", {{"default_lease_ttl", 0}, {"max_lease_ttl", 0}}}};
}

Reply MountTable(const json& table) {
  json out = json::object();
  for (auto it = table.begin(); it != table.end(); ++it) out[it.key()] = MountInfo(it.value());
  Reply r = Ok(out);
  // Vault repeats the table at the top level for old clients.
  for (auto it = out.begin(); it != out.end(); ++it) r.body[it.key()] = it.value();
  return r;
}

std::string WithSlash(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(p.begin());
  if (!p.empty() && p.back() != '/') p += '/';
  return p;
}

// Vault's system default lease TTL and maximum (768h), reported by tune for a
// mount with no TTL of its own; the mount table itself shows 0 (unset).
constexpr int64_t kSystemLeaseTtlS = 768 * 3600;

// GET sys/mounts/:path/tune and sys/auth/:path/tune: the mount's tunable
// settings, found like Vault finds them (the longest mount prefix of :path).
// hashicorp_key_management reads `options.version` here at start-up and
// refuses KV v1. Like other sys reads, the fields are repeated at the top
// level, where that plugin looks for them.
Reply TuneRead(Ctx& ctx, json& table, const std::string& path, bool auth) {
  if (ctx.method != "GET") {
    return Error(405, "devlocker does not tune mounts; only GET (read) of sys/mounts/<path>/tune is supported");
  }
  std::string mount_path, sub;
  json* m = FindMount(table, WithSlash(path), &mount_path, &sub);
  if (m == nullptr) return Error(400, "cannot fetch sysview for path \"" + WithSlash(path) + "\"");
  json data = {{"description", (*m).value("description", "")},
               {"default_lease_ttl", kSystemLeaseTtlS},
               {"max_lease_ttl", kSystemLeaseTtlS},
               {"force_no_cache", false}};
  if ((*m)["options"].is_object() && !(*m)["options"].empty()) data["options"] = (*m)["options"];
  if (auth) data["token_type"] = "default-service";
  Reply r = Ok(data);
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (!r.body.contains(it.key())) r.body[it.key()] = it.value();  // never over the envelope's own fields
  }
  return r;
}

// "<path>/tune" -> true with the mount path in *path.
bool IsTunePath(const std::string& rest, std::string* path) {
  static const std::string kTune = "/tune";
  if (rest.size() <= kTune.size() || rest.compare(rest.size() - kTune.size(), kTune.size(), kTune) != 0)
    return false;
  *path = rest.substr(0, rest.size() - kTune.size());
  return true;
}

// POST/DELETE sys/mounts/:path and sys/auth/:path.
Reply EditMount(Ctx& ctx, json& table, const std::string& raw_path, bool secrets) {
  const std::string path = WithSlash(raw_path);
  if (path.empty() || path.find("//") != std::string::npos) return Error(400, "invalid mount path");
  if (ctx.method == "DELETE") {
    table.erase(path);
    return NoContent();
  }
  if (ctx.method == "GET") {
    if (!table.contains(path)) return NotFoundEmpty();
    return Ok(MountInfo(table[path]));
  }
  if (ctx.method != "POST") return Error(405, "unsupported method");
  if (table.contains(path)) return Error(400, "path is already in use at " + path);
  std::string type = StringField(ctx.body, "type");
  std::string version = "1";
  if (ctx.body.contains("options") && ctx.body["options"].is_object())
    version = StringField(ctx.body["options"], "version", "1");
  if (type == "kv-v2") {
    type = "kv";
    version = "2";
  }
  const bool known = secrets ? (type == "kv" || type == "transit") : (type == "approle" || type == "cert");
  if (!known) {
    return Error(400, std::string("unsupported ") + (secrets ? "secrets engine" : "auth method") +
                          " type '" + type + "': devlocker implements " +
                          (secrets ? "kv (v1/v2) and transit" : "approle and cert"));
  }
  if (type == "kv" && version != "1" && version != "2") return Error(400, "kv options.version must be \"1\" or \"2\"");
  table[path] = State::NewMount(type, version);
  table[path]["description"] = StringField(ctx.body, "description");
  return NoContent();
}

Reply Policies(Ctx& ctx, const std::string& name) {
  json& policies = ctx.ns_doc["policies"];
  if (name.empty() || ctx.method == "LIST") {
    std::vector<std::string> keys = {"default"};
    for (auto it = policies.begin(); it != policies.end(); ++it) keys.push_back(it.key());
    if (ctx.is_root) keys.push_back("root");
    Reply r = Ok(json{{"keys", keys}, {"policies", keys}});
    r.body["policies"] = keys;
    return r;
  }
  if (ctx.method == "GET") {
    std::string text = name == "default" ? kDefaultPolicy : "";
    if (name != "default" && !policies.contains(name)) return NotFoundEmpty();
    if (name != "default") text = policies[name].get<std::string>();
    Reply r = Ok(json{{"name", name}, {"policy", text}, {"rules", text}});
    r.body["name"] = name;
    r.body["rules"] = text;
    return r;
  }
  if (name == "root" || name == "default") return Error(400, "cannot modify the built-in policy " + name);
  if (ctx.method == "DELETE") {
    policies.erase(name);
    return NoContent();
  }
  std::string text = StringField(ctx.body, "policy", StringField(ctx.body, "rules"));
  std::string error;
  if (!ValidatePolicy(text, &error)) return Error(400, error);
  policies[name] = text;
  return NoContent();
}

Reply Namespaces(Ctx& ctx, const std::string& name) {
  json& all = ctx.doc["namespaces"];
  const std::string base = ctx.ns.empty() ? "" : ctx.ns + "/";
  if (name.empty() || ctx.method == "LIST") {
    std::vector<std::string> keys;
    json info = json::object();
    for (auto it = all.begin(); it != all.end(); ++it) {
      const std::string& full = it.key();
      if (full.empty() || full.size() <= base.size() || full.compare(0, base.size(), base) != 0) continue;
      std::string child = full.substr(base.size());
      if (child.find('/') != std::string::npos) continue;
      keys.push_back(child + "/");
      info[child + "/"] = json{{"id", child}, {"path", full + "/"}};
    }
    if (keys.empty()) return NotFoundEmpty();
    return Ok(json{{"keys", keys}, {"key_info", info}});
  }
  std::string clean = name;
  while (!clean.empty() && clean.back() == '/') clean.pop_back();
  if (clean.empty() || clean.find('/') != std::string::npos)
    return Error(400, "namespace name must be one path segment; create nested ones from the parent");
  const std::string full = base + clean;
  if (ctx.method == "GET") {
    if (!all.contains(full)) return NotFoundEmpty();
    return Ok(json{{"id", clean}, {"path", full + "/"}});
  }
  if (ctx.method == "DELETE") {
    all.erase(full);
    return NoContent();
  }
  if (!all.contains(full)) all[full] = State::NewNamespace(false);
  return Ok(json{{"id", clean}, {"path", full + "/"}});
}

// GET sys/internal/ui/mounts/:path: the mount holding :path (clients learn
// the KV version here). Vault answers any token that has some capability on
// the mount or under it, whatever its policy says about this sys/ path, and
// refuses the others with a "preflight capability check" 403.
Reply MountLookup(Ctx& ctx, const std::string& path) {
  std::string mount_path, sub;
  json* m = FindMount(ctx.ns_doc["mounts"], path, &mount_path, &sub);
  // An unknown mount gets the same 403 as a forbidden one (Vault: so that the
  // lookup cannot be used to list mounts).
  if (m == nullptr || (!ctx.is_root && !PolicyGrantsUnder(ctx.policy_texts, mount_path))) {
    return Error(403, "preflight capability check returned 403, please ensure client's policies grant access to path \"" +
                          WithSlash(path) + "\"");
  }
  json info = MountInfo(*m);
  info["path"] = mount_path;
  return Ok(info);
}

// POST sys/capabilities-self {"paths": [...]}: the calling token's
// capabilities on each path, as Vault 1.14 answers it: one key per path,
// plus "capabilities" (kept for old clients) when one path was asked; a root
// token has ["root"] everywhere. Vault injects a sys/ reply's data into the
// top level too (old clients read it there), so both places hold it.
Reply CapabilitiesSelf(Ctx& ctx) {
  if (ctx.method != "POST") return Error(405, "unsupported operation: sys/capabilities-self takes POST (or PUT)");
  std::vector<std::string> paths;
  for (const char* field : {"paths", "path"}) {  // "path": Vault's deprecated name
    const json& v = ctx.body.contains(field) ? ctx.body[field] : json(nullptr);
    if (v.is_string()) {  // Vault also takes a comma-separated string
      std::string text = v.get<std::string>();
      for (size_t start = 0; start <= text.size();) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) paths.push_back(text.substr(start, comma - start));
        start = comma + 1;
      }
    } else if (v.is_array()) {
      for (const auto& p : v) {
        if (!p.is_string()) return Error(400, "paths: expected a list of strings");
        paths.push_back(p.get<std::string>());
      }
    }
    if (!paths.empty()) break;
  }
  if (paths.empty()) return Error(400, "paths must be supplied");
  json data = json::object();
  for (std::string path : paths) {
    const std::string key = path;
    while (!path.empty() && path.front() == '/') path.erase(path.begin());
    data[key] = ctx.is_root ? std::vector<std::string>{"root"} : PolicyCapabilities(ctx.policy_texts, path);
  }
  if (paths.size() == 1) data["capabilities"] = data[paths.front()];
  Reply r = Ok(data);
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (!r.body.contains(it.key())) r.body[it.key()] = it.value();  // never over the envelope's own fields
  }
  return r;
}

}  // namespace

Reply HandleSys(Ctx& ctx, const std::string& rest) {
  Runtime& rt = ctx.rt;
  if (rest == "health") {
    json body = {{"initialized", true}, {"sealed", rt.sealed.load()}, {"standby", rt.sealed.load()},
                 {"performance_standby", false}, {"replication_performance_mode", "disabled"},
                 {"replication_dr_mode", "disabled"}, {"server_time_utc", NowUnix()},
                 {"version", kVersion}, {"cluster_name", "devlocker"}, {"cluster_id", rt.cluster_id}};
    Reply r;
    r.status = rt.sealed ? 503 : 200;
    r.body = body;
    return r;
  }
  if (rest == "seal-status") return Reply{200, SealStatus(rt), {}, std::nullopt};
  if (rest == "unseal") {
    // Any key unseals: the dev locker has no real barrier to open.
    if (!BoolField(ctx.body, "reset", false)) rt.sealed = false;
    return Reply{200, SealStatus(rt), {}, std::nullopt};
  }
  // Tune reads need no root: the router has already checked that a non-root
  // token's policy grants "read" on this exact sys/ path, as Vault does.
  std::string tune_path;
  if (rest.compare(0, 7, "mounts/") == 0 && IsTunePath(rest.substr(7), &tune_path)) {
    if (tune_path.compare(0, 5, "auth/") == 0)  // Vault serves auth mounts here too
      return TuneRead(ctx, ctx.ns_doc["auth"], tune_path.substr(5), true);
    return TuneRead(ctx, ctx.ns_doc["mounts"], tune_path, false);
  }
  if (rest.compare(0, 5, "auth/") == 0 && IsTunePath(rest.substr(5), &tune_path))
    return TuneRead(ctx, ctx.ns_doc["auth"], tune_path, true);
  if (rest.compare(0, 19, "internal/ui/mounts/") == 0) return MountLookup(ctx, rest.substr(19));
  // Every token may ask (the router checked the "default" policy's rule).
  if (rest == "capabilities-self") return CapabilitiesSelf(ctx);
  if (!ctx.is_root) return PolicyDenied();  // the rest of sys/ needs root (or sudo)
  if (rest == "seal") {
    rt.sealed = true;
    return NoContent();
  }
  if (rest == "mounts") return MountTable(ctx.ns_doc["mounts"]);
  if (rest.compare(0, 7, "mounts/") == 0) return EditMount(ctx, ctx.ns_doc["mounts"], rest.substr(7), true);
  if (rest == "auth") return MountTable(ctx.ns_doc["auth"]);
  if (rest.compare(0, 5, "auth/") == 0) return EditMount(ctx, ctx.ns_doc["auth"], rest.substr(5), false);
  if (rest == "policies/acl" || rest == "policy") return Policies(ctx, "");
  if (rest.compare(0, 13, "policies/acl/") == 0) return Policies(ctx, rest.substr(13));
  if (rest.compare(0, 7, "policy/") == 0) return Policies(ctx, rest.substr(7));
  if (rest == "namespaces") return Namespaces(ctx, "");
  if (rest.compare(0, 11, "namespaces/") == 0) return Namespaces(ctx, rest.substr(11));
  return Error(404, "unsupported path sys/" + rest + " in devlocker");
}

}  // namespace devlocker
