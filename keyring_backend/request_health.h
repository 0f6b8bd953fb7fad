// RequestHealth: whether the locker's latest answers were errors, since when,
// and the moment it recovers. KeyService notes every request's outcome here
// so SHOW STATUS can tell "failing now" from "failed once, an hour ago"
// (issue #16): the last error carries its time, a success after a run of
// failures clears it, and the recovery is reported once (for the log).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"

namespace keyring_locker {

struct RequestHealthSnapshot {
  bool failing = false;           // the latest request that reached the locker failed
  std::string last_error;         // of the current run of failures; empty once the locker answers again
  std::string last_error_time;    // RFC 3339, empty with last_error
  std::string failing_since;      // RFC 3339 of the run's first failure, empty when not failing
  uint64_t failed_in_run = 0;     // failures in the current run
  uint64_t recoveries = 0;        // runs of failures that ended with a success
  bool unreachable = false;       // the latest failure was the locker not answering (Unreachable())
};

// A failure of reaching the locker (connect, TLS, timeout, 5xx, sealed), as
// opposed to an answer that refused or a key that is wrong: only these end
// when the locker answers again.
bool Unreachable(const Status& s);

class RequestHealth {
 public:
  void Failure(const Status& s);
  // Returns the recovery message ("... again after N s (M failed requests ...)")
  // when this success ends a run of failures, else an empty string.
  std::string Success();
  RequestHealthSnapshot Snapshot() const;
  // Counts recoveries without a lock: a caller that paused after a failure
  // compares it with the count it saw then (KeyGate).
  uint64_t Recoveries() const { return recoveries_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::string last_error_;
  std::chrono::system_clock::time_point last_error_at_{};
  std::chrono::system_clock::time_point failing_since_{};
  std::chrono::steady_clock::time_point failing_since_steady_{};
  uint64_t failed_in_run_ = 0;
  bool unreachable_in_run_ = false;
  bool last_unreachable_ = false;
  std::atomic<uint64_t> recoveries_{0};
};

}  // namespace keyring_locker
