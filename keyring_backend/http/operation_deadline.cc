#include "keyring_backend/http/operation_deadline.h"

#include <algorithm>

namespace keyring_locker {
namespace {
thread_local OperationDeadline* t_innermost = nullptr;
}  // namespace

OperationDeadline::OperationDeadline(std::chrono::milliseconds budget) : budget_(budget) {
  if (budget.count() <= 0) return;
  active_ = true;
  outer_ = t_innermost;
  t_innermost = this;
}

OperationDeadline::~OperationDeadline() {
  if (active_) t_innermost = outer_;
}

OperationDeadline::Clock::time_point OperationDeadline::Deadline() {
  if (!deadline_) {
    auto mine = Clock::now() + budget_;
    if (outer_ != nullptr) mine = std::min(mine, outer_->Deadline());
    deadline_ = mine;
  }
  return *deadline_;
}

std::optional<OperationDeadline::Clock::time_point> OperationDeadline::Current() {
  if (t_innermost == nullptr) return std::nullopt;
  return t_innermost->Deadline();
}

std::unique_lock<std::timed_mutex> LockWithinDeadline(std::timed_mutex& mu) {
  const auto deadline = OperationDeadline::Current();
  if (!deadline) return std::unique_lock<std::timed_mutex>(mu);
#if defined(__SANITIZE_THREAD__)
  // libstdc++ waits for a steady_clock deadline with pthread_mutex_clocklock,
  // which GCC 12's TSan does not intercept: it then reports the unlock of a
  // mutex it never saw locked. Under TSan only, wait as long on the system
  // clock (pthread_mutex_timedlock, intercepted).
  return std::unique_lock<std::timed_mutex>(
      mu, std::chrono::system_clock::now() + (*deadline - OperationDeadline::Clock::now()));
#else
  return std::unique_lock<std::timed_mutex>(mu, *deadline);
#endif
}

}  // namespace keyring_locker
