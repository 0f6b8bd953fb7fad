// Injected faults: tests tell the dev locker to misbehave on matching
// requests (error statuses, delays, dropped connections, broken bodies) so
// the client's retry, timeout and parsing paths can be exercised for real.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "devlocker/util.h"

namespace devlocker {

struct Fault {
  std::string id;
  // Matches the request path. "/v1/secret/" style prefixes match the full
  // path; prefixes without a leading '/' are taken relative to /v1/.
  std::string path_prefix;
  std::string method;  // empty = any; else GET/POST/PUT/DELETE (PUT == POST)
  std::string action;
  int status = 500;
  int retry_after = 0;
  int delay_ms = 0;
  std::string location;
  int64_t size_bytes = 0;
  int count = -1;  // -1 = until cleared

  json ToJson() const;
};

class Faults {
 public:
  // Validates a fault spec; "expire_tokens" is accepted but not stored (the
  // caller applies it at once). Returns nullopt and sets *error when invalid.
  std::optional<Fault> Add(const json& spec, std::string* error);
  json List();
  void Clear();
  // The first live fault matching the request, with its count consumed.
  std::optional<Fault> Take(const std::string& method, const std::string& full_path);

  // Sleeps up to `ms`; returns false early when the server is shutting down,
  // so a "hang" never holds up SIGTERM.
  bool Sleep(int64_t ms);
  void Shutdown();
  bool shutting_down();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool shutdown_ = false;
  std::vector<Fault> faults_;
  uint64_t next_id_ = 1;
};

}  // namespace devlocker
