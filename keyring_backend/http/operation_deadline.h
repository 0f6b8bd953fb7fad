// One time budget per server call. A call that needs several locker requests
// (a KV read and a Transit unwrap; a listing, a data key and a write; a token
// refresh and the retried request) must still return within
// timeouts.total_ms: each request alone is bounded by it, so without a shared
// deadline three slow-but-not-timed-out replies would add up to three budgets.
// KeyService's entry points open a scope; the HTTP client cuts every request
// to what the innermost scope has left. Nested scopes keep the earliest
// deadline. Thread-local, because a server call runs on one thread.
//
// A scope reads no clock until the first request asks for its deadline, so
// opening one on a path that is usually served from the cache costs two
// thread-local writes; the budget runs from the call's first request.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

namespace keyring_locker {

class OperationDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  // budget <= 0: no deadline (the scope changes nothing).
  explicit OperationDeadline(std::chrono::milliseconds budget);
  ~OperationDeadline();
  OperationDeadline(const OperationDeadline&) = delete;
  OperationDeadline& operator=(const OperationDeadline&) = delete;

  // The deadline of the innermost open scope on this thread, if any. Asking
  // starts the clock (see above).
  static std::optional<Clock::time_point> Current();

 private:
  Clock::time_point Deadline();  // fixed on first use, never later than the outer scope's

  std::chrono::milliseconds budget_;
  std::optional<Clock::time_point> deadline_;
  OperationDeadline* outer_ = nullptr;
  bool active_ = false;
};

// Takes `mu` (a lock other threads hold while they talk to the locker: the
// first connect, a login), but gives up when this thread's deadline passes
// first: a server call must not wait out another thread's whole budget on
// top of its own. Starts the clock, so time spent queueing counts. Without a
// deadline (tools, background threads) it waits as long as it takes.
std::unique_lock<std::timed_mutex> LockWithinDeadline(std::timed_mutex& mu);

}  // namespace keyring_locker
