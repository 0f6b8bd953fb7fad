#include "keyring_backend/http/parallel_requests.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker {

void ForEachInParallel(size_t count, size_t in_flight, const std::function<void(size_t)>& fn) {
  const size_t workers = std::min(count, std::max<size_t>(in_flight, 1));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  const std::optional<OperationDeadline::Clock::time_point> deadline = OperationDeadline::Current();
  std::atomic<size_t> next{0};
  auto work = [&] {
    // The caller's deadline, carried over: thread-local scopes do not cross
    // threads. One already passed leaves 1 ms, so requests fail at once
    // (a budget of 0 would mean "none").
    std::chrono::milliseconds budget(0);
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - OperationDeadline::Clock::now());
      budget = std::max(left, std::chrono::milliseconds(1));
    }
    OperationDeadline inherited(budget);
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();  // the caller is one of the workers
  for (auto& t : threads) t.join();
}

}  // namespace keyring_locker
