// KV secrets engine, versions 1 and 2. Entries live in mount.data.entries
// keyed by path. v2 entry: {current_version, oldest_version, max_versions,
// cas_required, custom_metadata, created_time, updated_time,
// versions{"N": {data, created_time, deletion_time, destroyed}}}.
#include <algorithm>

#include "devlocker/locker.h"

namespace devlocker {

namespace {

std::vector<std::string> EntryPaths(const json& entries) {
  std::vector<std::string> paths;
  for (auto it = entries.begin(); it != entries.end(); ++it) paths.push_back(it.key());
  return paths;
}

Reply HandleKv1(Ctx& ctx, json& entries, const std::string& path) {
  if (ctx.method == "LIST") return ListReply(ListChildren(EntryPaths(entries), path));
  if (path.empty()) return Error(405, "a KV path is required");
  if (ctx.method == "GET") {
    if (!entries.contains(path)) return NotFoundEmpty();
    return Ok(entries[path]);
  }
  if (ctx.method == "DELETE") {
    entries.erase(path);
    return NoContent();
  }
  if (!ctx.body.is_object() || ctx.body.empty()) return Error(400, "no data provided");
  entries[path] = ctx.body;
  return NoContent();
}

json VersionMetadata(const json& v, int64_t version, const json& entry) {
  return json{{"created_time", v["created_time"]}, {"deletion_time", v["deletion_time"]},
              {"destroyed", v["destroyed"]}, {"version", version},
              {"custom_metadata", entry["custom_metadata"]}};
}

json Metadata(const json& entry, int64_t mount_max) {
  json versions = json::object();
  for (auto it = entry["versions"].begin(); it != entry["versions"].end(); ++it)
    versions[it.key()] = json{{"created_time", it.value()["created_time"]},
                              {"deletion_time", it.value()["deletion_time"]},
                              {"destroyed", it.value()["destroyed"]}};
  return json{{"cas_required", entry["cas_required"]}, {"created_time", entry["created_time"]},
              {"current_version", entry["current_version"]}, {"custom_metadata", entry["custom_metadata"]},
              {"delete_version_after", "0s"}, {"max_versions", entry["max_versions"]},
              {"oldest_version", entry["oldest_version"]}, {"updated_time", entry["updated_time"]},
              {"versions", versions}};
}

json NewEntry() {
  const std::string now = NowRfc3339();
  return json{{"current_version", 0}, {"oldest_version", 0}, {"max_versions", 0},
              {"cas_required", false}, {"custom_metadata", nullptr}, {"created_time", now},
              {"updated_time", now}, {"versions", json::object()}};
}

// Drops the oldest versions beyond the effective max_versions, as Vault does
// silently (this is why keyring_locker never stores key versions as KV versions).
void Prune(json& entry, int64_t mount_max) {
  int64_t max = entry["max_versions"].get<int64_t>();
  if (max == 0) max = mount_max;
  json& versions = entry["versions"];
  while (max > 0 && static_cast<int64_t>(versions.size()) > max) {
    int64_t oldest = entry["oldest_version"].get<int64_t>();
    versions.erase(std::to_string(oldest));
    int64_t next = oldest + 1;
    while (!versions.contains(std::to_string(next)) && next <= entry["current_version"].get<int64_t>()) ++next;
    entry["oldest_version"] = next;
  }
}

Reply WriteData(Ctx& ctx, json& entries, const json& config, const std::string& path) {
  if (!ctx.body.contains("data") || !ctx.body["data"].is_object())
    return Error(400, "no data provided: send {\"data\": {...}}");
  const bool created = !entries.contains(path);
  json& entry = entries[path];
  if (created) entry = NewEntry();
  const json options = ctx.body.value("options", json::object());
  const bool has_cas = options.is_object() && options.contains("cas") && !options["cas"].is_null();
  if (!has_cas && (entry["cas_required"].get<bool>() || config.value("cas_required", false))) {
    if (created) entries.erase(path);
    return Error(400, "check-and-set parameter required for this call");
  }
  if (has_cas && IntField(options, "cas", -1) != entry["current_version"].get<int64_t>()) {
    if (created) entries.erase(path);
    return Error(400, "check-and-set parameter did not match the current version");
  }
  const int64_t version = entry["current_version"].get<int64_t>() + 1;
  const std::string now = NowRfc3339();
  entry["versions"][std::to_string(version)] =
      json{{"data", ctx.body["data"]}, {"created_time", now}, {"deletion_time", ""}, {"destroyed", false}};
  entry["current_version"] = version;
  entry["updated_time"] = now;
  Prune(entry, config.value("max_versions", int64_t{10}));
  return Ok(VersionMetadata(entry["versions"][std::to_string(version)], version, entry));
}

Reply ReadData(Ctx& ctx, json& entries, const std::string& path) {
  if (!entries.contains(path)) return NotFoundEmpty();
  json& entry = entries[path];
  int64_t version = entry["current_version"].get<int64_t>();
  const std::string asked = ctx.http.get_param_value("version");
  if (!asked.empty() && asked != "0") {
    try {
      version = std::stoll(asked);
    } catch (const std::exception&) {
      return Error(400, "version must be a number");
    }
  }
  const std::string key = std::to_string(version);
  if (!entry["versions"].contains(key)) return NotFoundEmpty();
  const json& v = entry["versions"][key];
  json data = {{"data", v["data"]}, {"metadata", VersionMetadata(v, version, entry)}};
  if (!v["deletion_time"].get<std::string>().empty() || v["destroyed"].get<bool>()) {
    // Vault answers 404 but still says which version is gone and why.
    Reply r = Ok(json{{"data", nullptr}, {"metadata", data["metadata"]}});
    r.status = 404;
    return r;
  }
  return Ok(data);
}

// delete/, undelete/, destroy/ with {"versions": [...]}.
Reply EditVersions(Ctx& ctx, json& entries, const std::string& op, const std::string& path) {
  if (!entries.contains(path)) return NoContent();
  json& entry = entries[path];
  if (!ctx.body.contains("versions") || !ctx.body["versions"].is_array())
    return Error(400, "no version number provided: send {\"versions\": [1, 2]}");
  for (const auto& n : ctx.body["versions"]) {
    const std::string key = n.is_string() ? n.get<std::string>() : std::to_string(n.get<int64_t>());
    if (!entry["versions"].contains(key)) continue;
    json& v = entry["versions"][key];
    if (op == "delete") {
      if (v["deletion_time"].get<std::string>().empty()) v["deletion_time"] = NowRfc3339();
    } else if (op == "undelete") {
      if (!v["destroyed"].get<bool>()) v["deletion_time"] = "";
    } else {
      v["destroyed"] = true;
      v["data"] = nullptr;
    }
  }
  return NoContent();
}

Reply HandleMetadata(Ctx& ctx, json& entries, const json& config, const std::string& path) {
  if (ctx.method == "LIST") return ListReply(ListChildren(EntryPaths(entries), path));
  if (ctx.method == "GET") {
    if (!entries.contains(path)) return NotFoundEmpty();
    return Ok(Metadata(entries[path], config.value("max_versions", int64_t{10})));
  }
  if (ctx.method == "DELETE") {
    entries.erase(path);
    return NoContent();
  }
  json& entry = entries[path];
  if (entry.is_null()) entry = NewEntry();
  if (ctx.body.contains("max_versions")) entry["max_versions"] = IntField(ctx.body, "max_versions", 0);
  if (ctx.body.contains("cas_required")) entry["cas_required"] = BoolField(ctx.body, "cas_required", false);
  if (ctx.body.contains("custom_metadata")) entry["custom_metadata"] = ctx.body["custom_metadata"];
  entry["updated_time"] = NowRfc3339();
  Prune(entry, config.value("max_versions", int64_t{10}));
  return NoContent();
}

Reply HandleKv2(Ctx& ctx, json& data, const std::string& rest) {
  json& entries = data["entries"];
  json& config = data["config"];
  if (rest == "config") {
    if (ctx.method == "GET")
      return Ok(json{{"max_versions", config["max_versions"]}, {"cas_required", config["cas_required"]},
                     {"delete_version_after", "0s"}});
    if (ctx.body.contains("max_versions")) config["max_versions"] = IntField(ctx.body, "max_versions", 10);
    if (ctx.body.contains("cas_required")) config["cas_required"] = BoolField(ctx.body, "cas_required", false);
    return NoContent();
  }
  const size_t slash = rest.find('/');
  const std::string op = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (op == "metadata") return HandleMetadata(ctx, entries, config, path);
  if (path.empty()) return Error(404, "no handler for route: KV v2 paths look like data/<path>");
  if (op == "data") {
    if (ctx.method == "GET") return ReadData(ctx, entries, path);
    if (ctx.method == "DELETE") {
      if (!entries.contains(path)) return NoContent();
      ctx.body = json{{"versions", {entries[path]["current_version"]}}};
      return EditVersions(ctx, entries, "delete", path);
    }
    if (ctx.method == "POST") return WriteData(ctx, entries, config, path);
    return Error(405, "unsupported method on data/");
  }
  if ((op == "delete" || op == "undelete" || op == "destroy") && ctx.method == "POST")
    return EditVersions(ctx, entries, op, path);
  return Error(404, "no handler for route: KV v2 has data/, metadata/, delete/, undelete/, destroy/, config");
}

}  // namespace

Reply HandleKv(Ctx& ctx, json& mount, const std::string& rest) {
  json& data = mount["data"];
  if (mount["options"].value("version", "1") == "2") return HandleKv2(ctx, data, rest);
  return HandleKv1(ctx, data["entries"], rest);
}

}  // namespace devlocker
