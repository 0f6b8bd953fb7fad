#include "keyring_backend/request_health.h"

#include "common/rfc3339.h"

namespace keyring_locker {

bool Unreachable(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
}

void RequestHealth::Failure(const Status& s) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_in_run_ == 0) {
    failing_since_ = now;
    failing_since_steady_ = std::chrono::steady_clock::now();
  }
  ++failed_in_run_;
  last_unreachable_ = Unreachable(s);
  unreachable_in_run_ = unreachable_in_run_ || last_unreachable_;
  last_error_ = s.ToString();
  last_error_at_ = now;
}

std::string RequestHealth::Success() {
  // Fast path without the lock's cost in the common case is not worth the
  // subtlety: a success is one locker round trip, the lock is nanoseconds.
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_in_run_ == 0) return "";
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - failing_since_steady_).count();
  std::string message = std::string(unreachable_in_run_ ? "locker reachable again" : "locker requests succeed again") +
                        " after " + std::to_string(seconds) + " s (" +
                        std::to_string(failed_in_run_) + " failed request" + (failed_in_run_ == 1 ? "" : "s") +
                        " since " + Rfc3339(failing_since_) + "; last error at " + Rfc3339(last_error_at_) + ": " +
                        last_error_ + ")";
  failed_in_run_ = 0;
  unreachable_in_run_ = last_unreachable_ = false;
  last_error_.clear();
  last_error_at_ = {};
  recoveries_.fetch_add(1, std::memory_order_release);
  return message;
}

RequestHealthSnapshot RequestHealth::Snapshot() const {
  RequestHealthSnapshot s;
  std::lock_guard<std::mutex> lock(mu_);
  s.failing = failed_in_run_ > 0;
  s.last_error = last_error_;
  if (s.failing) {
    s.last_error_time = Rfc3339(last_error_at_);
    s.failing_since = Rfc3339(failing_since_);
  }
  s.failed_in_run = failed_in_run_;
  s.unreachable = s.failing && last_unreachable_;
  s.recoveries = recoveries_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace keyring_locker
