#include "keyring_backend/http/operation_deadline.h"

#include <algorithm>

namespace keyring_locker {
namespace {
thread_local std::optional<OperationDeadline::Clock::time_point> t_deadline;
}  // namespace

OperationDeadline::OperationDeadline(std::chrono::milliseconds budget) {
  if (budget.count() <= 0) return;
  active_ = true;
  saved_ = t_deadline;
  const auto mine = Clock::now() + budget;
  t_deadline = t_deadline ? std::min(*t_deadline, mine) : mine;
}

OperationDeadline::~OperationDeadline() {
  if (active_) t_deadline = saved_;
}

std::optional<OperationDeadline::Clock::time_point> OperationDeadline::Current() { return t_deadline; }

}  // namespace keyring_locker
