// ForEachInParallel: runs fn(0..count-1) on up to `in_flight` threads, for
// locker requests that do not depend on each other (the start's version
// listings and key reads): the time grows with count / in_flight round
// trips instead of count. Each worker inherits the caller's
// OperationDeadline, so together they still end within the caller's one
// budget. The HTTP client's handle pool serves the workers' connections.
#pragma once

#include <cstddef>
#include <functional>

namespace keyring_locker {

// The default number of requests in flight for one caller.
constexpr size_t kDefaultRequestsInFlight = 8;

// Returns after every fn call returned. fn must not throw.
void ForEachInParallel(size_t count, size_t in_flight, const std::function<void(size_t index)>& fn);

}  // namespace keyring_locker
