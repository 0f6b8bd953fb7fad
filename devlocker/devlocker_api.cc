// /v1/sys/devlocker/*: the test-control API (faults, stats). Root token only;
// never subject to faults or the seal, so tests can always clean up.
#include "devlocker/locker.h"

namespace devlocker {

Reply Locker::HandleDevlocker(const httplib::Request& req, const std::string& method,
                              const std::string& rest) {
  if (req.get_header_value("X-Vault-Token") != rt_.root_token) return PermissionDenied();
  if (rest == "faults") {
    if (method == "GET" || method == "LIST") return Ok(json{{"faults", rt_.faults.List()}});
    if (method == "DELETE") {
      rt_.faults.Clear();
      return NoContent();
    }
    json spec = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (!spec.is_object()) return Error(400, "fault spec must be a JSON object");
    std::string error;
    std::optional<Fault> fault = rt_.faults.Add(spec, &error);
    if (!fault) return Error(400, error);
    if (fault->action == "expire_tokens") {
      std::lock_guard<std::mutex> lock(state_.mutex());
      const int64_t past = NowUnix() - 1;
      for (auto& t : state_.doc()["tokens"]) t["expire_time"] = past;
      if (!state_.Save(&error)) return Error(500, error);
    }
    return Ok(json{{"id", fault->id}});
  }
  if (rest == "stats") {
    std::lock_guard<std::mutex> lock(rt_.stats_mutex);
    if (method == "DELETE") {
      rt_.requests = 0;
      rt_.by_path.clear();
      rt_.by_method_path.clear();
      rt_.handshakes = 0;
      return NoContent();
    }
    return Ok(json{{"requests", rt_.requests}, {"by_path", rt_.by_path},
                   {"by_method_path", rt_.by_method_path},
                   {"tls_handshakes", rt_.handshakes.load()}});
  }
  return Error(404, "unknown devlocker endpoint: use sys/devlocker/faults or sys/devlocker/stats");
}

}  // namespace devlocker
