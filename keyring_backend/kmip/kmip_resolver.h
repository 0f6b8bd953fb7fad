// Name lookups that end by a deadline. getaddrinfo() has no timeout: a dead
// DNS server would hold a server call (and the transport's lock) for the
// resolver's own retries, well past any budget. glibc's getaddrinfo_a runs
// the lookup on its own thread; we wait for it with gai_suspend until the
// deadline and then walk away. Internal to keyring_backend/kmip.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace keyring_locker::kmip::internal {

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "127.0.0.1", "::1": for messages
};

// Not thread-safe: the transport calls it under its connection lock.
class BoundedResolver {
 public:
  using Clock = std::chrono::steady_clock;
  BoundedResolver() = default;
  // Lookups glibc is still working on when the resolver goes are leaked on
  // purpose (glibc writes their results later); there are at most
  // kMaxAbandoned of them.
  ~BoundedResolver();
  BoundedResolver(const BoundedResolver&) = delete;
  BoundedResolver& operator=(const BoundedResolver&) = delete;

  // IP addresses are converted without a lookup. Errors: kDeadlineExceeded
  // when the lookup had not finished by `until`, kUnavailable when the name
  // does not resolve or lookups keep hanging.
  StatusOr<std::vector<ResolvedAddress>> Resolve(const std::string& host, const std::string& port,
                                                 Clock::time_point until);

  // A lookup still running after its deadline; a new one is refused while
  // this many are pending, so a hung resolver cannot pile up threads.
  static constexpr size_t kMaxAbandoned = 8;
  size_t abandoned() const { return abandoned_.size(); }

 private:
  struct Lookup;
  void Reap();
  std::vector<Lookup*> abandoned_;
};

}  // namespace keyring_locker::kmip::internal
