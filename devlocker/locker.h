// The dev locker server: one catch-all HTTP handler that does what Vault's
// request pipeline does (stats, injected faults, seal check, namespace, token,
// policy) and then hands the call to the engine that owns the path.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <httplib.h>

#include "devlocker/faults.h"
#include "devlocker/state.h"
#include "devlocker/util.h"

namespace devlocker {

// Process-wide settings and counters that are not persisted.
struct Runtime {
  std::string root_token;
  std::string cluster_id = NewUuid();
  std::atomic<bool> sealed{false};
  std::atomic<uint64_t> handshakes{0};
  Faults faults;
  std::mutex stats_mutex;
  uint64_t requests = 0;
  std::map<std::string, uint64_t> by_path;
  std::map<std::string, uint64_t> by_method_path;  // "GET secret/data/...": reads apart from writes
};

// One authenticated call as the engines see it. `doc` is locked for the
// duration of the handler.
struct Ctx {
  const httplib::Request& http;
  std::string method;  // GET, POST (also PUT), DELETE or LIST
  std::string path;    // after /v1/, relative to the namespace
  std::string ns;      // "" = root namespace, else "a/b"
  json body;           // request JSON (empty object when none)
  json& doc;           // whole state
  json& ns_doc;        // doc["namespaces"][ns]
  Runtime& rt;
  bool is_root = false;
  std::string token_id;  // empty on unauthenticated endpoints
};

class Locker {
 public:
  Locker(std::string root_token, std::string data_file);
  bool Init(std::string* error);
  void Install(httplib::Server& server);
  Runtime& runtime() { return rt_; }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);
  Reply Process(const httplib::Request& req, const std::string& rel, const std::string& method);
  Reply Dispatch(Ctx& ctx);
  Reply HandleDevlocker(const httplib::Request& req, const std::string& method,
                        const std::string& rest);

  Runtime rt_;
  State state_;
};

// Engines (one file each). `rest` is the path below the mount.
Reply HandleSys(Ctx& ctx, const std::string& rest);
Reply HandleAuth(Ctx& ctx, const std::string& rest);
Reply HandleKv(Ctx& ctx, json& mount, const std::string& rest);
Reply HandleTransit(Ctx& ctx, json& mount, const std::string& rest);
Reply HandleToken(Ctx& ctx, const std::string& rest);
Reply HandleAppRole(Ctx& ctx, json& mount, const std::string& rest);
Reply HandleCert(Ctx& ctx, json& mount, const std::string& rest);

// Creates a token in ctx.ns and returns Vault's "auth" object for it.
json IssueToken(Ctx& ctx, std::vector<std::string> policies, int64_t ttl, int64_t explicit_max_ttl,
                int64_t period, bool renewable, const std::string& path, json metadata = nullptr);

// Longest mount in `table` that prefixes `path`; nullptr when none.
json* FindMount(json& table, const std::string& path, std::string* mount_path, std::string* rest);

}  // namespace devlocker
