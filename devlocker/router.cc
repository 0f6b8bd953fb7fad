// Vault's request pipeline, in the order Vault applies it: seal, namespace,
// token, policy, then the engine owning the path.
#include <exception>

#include "devlocker/cidr.h"
#include "devlocker/locker.h"
#include "devlocker/policy.h"
#include "devlocker/respond.h"

namespace devlocker {

Locker::Locker(std::string root_token, std::string data_file) : state_(std::move(data_file)) {
  rt_.root_token = std::move(root_token);
}

bool Locker::Init(std::string* error) { return state_.Load(error); }

void Locker::Install(httplib::Server& server) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Delete(".*", handler);
  server.Patch(".*", handler);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    WriteReply(Error(500, "internal error in devlocker; see its stderr"), res);
  });
}

json* FindMount(json& table, const std::string& path, std::string* mount_path, std::string* rest) {
  json* best = nullptr;
  size_t best_len = 0;
  for (auto it = table.begin(); it != table.end(); ++it) {
    const std::string& m = it.key();  // always ends with '/'
    bool match = path.compare(0, m.size(), m) == 0 || path + "/" == m;
    if (match && m.size() > best_len) {
      best = &it.value();
      best_len = m.size();
      *mount_path = m;
    }
  }
  if (best) *rest = path.size() > best_len ? path.substr(best_len) : "";
  return best;
}

namespace {

std::string TrimSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(s.begin());
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

bool IsUnauthenticated(const std::string& path) {
  if (path == "sys/health" || path == "sys/seal-status" || path == "sys/unseal") return true;
  return path.compare(0, 5, "auth/") == 0 && path.size() > 6 &&
         path.compare(path.size() - 6, 6, "/login") == 0;
}

// What Vault still answers while sealed; everything else, sys/ included,
// gets 503 "Vault is sealed".
bool AnswersWhileSealed(const std::string& path) {
  return path == "sys/health" || path == "sys/seal-status" || path == "sys/unseal" ||
         path == "sys/init" || path == "sys/leader";
}

bool IsMountLookup(const std::string& path) {
  static const std::string kLookup = "sys/internal/ui/mounts/";
  return path.compare(0, kLookup.size(), kLookup) == 0;
}

// Vault's existence check: a write to a path whose backend checks existence
// needs "update" when the entry exists and "create" when it does not (a
// "create, read" policy cannot overwrite a key document). Vault 1.14.8 does
// this for KV entries (v1; v2 data and metadata) and Transit encrypt (which
// may create the key); every other Transit write (keys/<name> included:
// creating a key needs "update"), decrypt and datakey need "update". Other
// engines' writes take either here.
std::vector<std::string> WriteCapabilities(json& ns_doc, const std::string& path) {
  std::string mount_path, rest;
  json* mount = FindMount(ns_doc["mounts"], path, &mount_path, &rest);
  if (mount == nullptr) return {"create", "update"};
  const std::string type = (*mount).value("type", "");
  json& data = (*mount)["data"];
  bool exists = false;
  if (type == "kv") {
    json& entries = data["entries"];
    if ((*mount)["options"].value("version", "1") == "2") {
      const bool is_data = rest.compare(0, 5, "data/") == 0;
      if (!is_data && rest.compare(0, 9, "metadata/") != 0) return {"create", "update"};
      const std::string key = rest.substr(is_data ? 5 : 9);
      exists = entries.contains(key) && (!is_data || entries[key].value("current_version", int64_t{0}) > 0);
    } else {
      exists = entries.contains(rest);
    }
  } else if (type == "transit") {
    if (rest.compare(0, 8, "encrypt/") != 0 || rest.find('/', 8) != std::string::npos) return {"update"};
    exists = data["keys"].contains(rest.substr(8));
  } else {
    return {"create", "update"};
  }
  return {exists ? "update" : "create"};
}

std::vector<std::string> CapabilitiesFor(const std::string& method, json& ns_doc, const std::string& path) {
  if (method == "GET") return {"read"};
  if (method == "LIST") return {"list"};
  if (method == "DELETE") return {"delete"};
  return WriteCapabilities(ns_doc, path);
}

}  // namespace

void Locker::Handle(const httplib::Request& req, httplib::Response& res) {
  if (req.path.compare(0, 4, "/v1/") != 0) {
    WriteReply(NotFoundEmpty(), res);
    return;
  }
  const std::string rel = req.path.substr(4);
  std::string method = req.method == "PUT" ? "POST" : req.method;
  if (method == "HEAD") method = "GET";
  if (method == "GET" && (req.get_param_value("list") == "true" || req.get_param_value("list") == "1"))
    method = "LIST";
  if (rel.compare(0, 14, "sys/devlocker/") == 0) {  // never faulted, never counted
    WriteReply(HandleDevlocker(req, method, rel.substr(14)), res);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(rt_.stats_mutex);
    ++rt_.requests;
    ++rt_.by_path[rel];
    ++rt_.by_method_path[method + " " + rel];
  }
  std::optional<Fault> fault = rt_.faults.Take(req.method, req.path);
  if (fault && ApplyFaultBefore(*fault, rt_.faults, req, res)) return;
  Reply reply;
  try {
    reply = Process(req, rel, method);
  } catch (const std::exception&) {
    // nlohmann type errors from odd input: a client bug, reported without
    // echoing the input (it may hold key material).
    reply = Error(400, "invalid request body: a field has the wrong JSON type; see the Vault API docs");
  }
  WriteReply(reply, res);
  if (fault) ApplyFaultAfter(*fault, rt_.faults, res);
}

Reply Locker::Process(const httplib::Request& req, const std::string& rel, const std::string& method) {
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_null()) body = json::object();  // `vault write -f` sends "null", as Vault accepts
    if (body.is_discarded() || !body.is_object())
      return Error(400, "failed to parse JSON input: send a JSON object body");
  }
  const std::string ns = TrimSlashes(req.get_header_value("X-Vault-Namespace"));
  if (rt_.sealed && !AnswersWhileSealed(rel)) return Error(503, "Vault is sealed");

  std::lock_guard<std::mutex> lock(state_.mutex());
  json& doc = state_.doc();
  // Unknown namespaces answer 403 (not 404): a keyring must never mistake a
  // misconfigured namespace for "this key does not exist".
  if (!doc["namespaces"].contains(ns)) return PermissionDenied();
  Ctx ctx{req, method, rel, ns, std::move(body), doc, doc["namespaces"][ns], rt_, false, "", {}};

  if (!IsUnauthenticated(rel)) {
    const std::string token = req.get_header_value("X-Vault-Token");
    if (token.empty()) return PermissionDenied();
    if (token == rt_.root_token) {
      ctx.is_root = true;
    } else {
      json& tokens = doc["tokens"];
      if (!tokens.contains(token)) return PermissionDenied();
      const json& t = tokens[token];
      int64_t exp = t.value("expire_time", int64_t{0});
      if ((exp != 0 && NowUnix() >= exp) || t.value("ns", "") != ns) return PermissionDenied();
      // token_bound_cidrs: the token works only from those addresses (Vault
      // answers a plain 403, as for any other token it will not honour).
      if (!AddressAllowed(req.remote_addr, t.value("bound_cidrs", std::vector<std::string>{}))) {
        return PermissionDenied();
      }
      std::vector<std::string> policies = t.value("policies", std::vector<std::string>{});
      bool root_policy = false;
      std::vector<std::string> texts;
      for (const auto& p : policies) {
        if (p == "root") root_policy = true;
        if (p == "default") texts.push_back(kDefaultPolicy);
        if (ctx.ns_doc["policies"].contains(p)) texts.push_back(ctx.ns_doc["policies"][p].get<std::string>());
      }
      // The mount lookup is checked by its handler, as in Vault (sys.cc).
      if (!root_policy && !IsMountLookup(rel) && !PolicyAllows(texts, rel, CapabilitiesFor(method, ctx.ns_doc, rel)))
        return PolicyDenied();
      ctx.is_root = root_policy;
      ctx.policy_texts = std::move(texts);
    }
    ctx.token_id = token;
  }
  Reply reply = Dispatch(ctx);
  if (method != "GET" && method != "LIST" && reply.status < 400) {
    std::string error;
    if (!state_.Save(&error)) return Error(500, error);
  }
  return reply;
}

Reply Locker::Dispatch(Ctx& ctx) {
  const std::string& p = ctx.path;
  if (p.compare(0, 4, "sys/") == 0) return HandleSys(ctx, p.substr(4));
  if (p.compare(0, 5, "auth/") == 0) return HandleAuth(ctx, p.substr(5));
  std::string mount_path, rest;
  json* mount = FindMount(ctx.ns_doc["mounts"], p, &mount_path, &rest);
  if (!mount) return Error(404, "no handler for route \"" + p + "\": enable a secrets engine at that path");
  const std::string type = (*mount)["type"].get<std::string>();
  if (type == "kv") return HandleKv(ctx, *mount, rest);
  if (type == "transit") return HandleTransit(ctx, *mount, rest);
  return Error(404, "no handler for route \"" + p + "\"");
}

}  // namespace devlocker
