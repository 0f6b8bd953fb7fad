#include "keyring_backend/kmip/kmip_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

#if defined(__SANITIZE_THREAD__)
#define KLK_RESOLVER_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KLK_RESOLVER_UNDER_TSAN 1
#endif
#endif
#ifndef KLK_RESOLVER_UNDER_TSAN
#define KLK_RESOLVER_UNDER_TSAN 0
#endif

namespace keyring_locker::kmip::internal {

// Heap-allocated and never moved: glibc's lookup thread holds pointers into it.
struct BoundedResolver::Lookup {
  std::string host;
  std::string port;
  addrinfo hints{};
  gaicb cb{};
};

namespace {

std::vector<ResolvedAddress> Collect(const addrinfo* list) {
  std::vector<ResolvedAddress> out;
  for (const addrinfo* ai = list; ai != nullptr && out.size() < 16; ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
        ai->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    ResolvedAddress a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    char text[INET6_ADDRSTRLEN] = "?";
    const void* raw = nullptr;
    if (ai->ai_family == AF_INET) raw = &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr;
    else raw = &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr;
    inet_ntop(ai->ai_family, raw, text, sizeof text);
    a.text = text;
    out.push_back(std::move(a));
  }
  return out;
}

Status NoAddress(const std::string& host, int err) {
  return Unavailable("host name '" + host + "' does not resolve (" + gai_strerror(err) +
                     "); check the name in the server list and this host's DNS");
}

}  // namespace

BoundedResolver::~BoundedResolver() {
  Reap();
  // What is left is still being written by glibc: leaked, see the header.
  abandoned_.clear();
}

void BoundedResolver::Reap() {
  auto done = [](Lookup* l) {
    if (gai_error(&l->cb) == EAI_INPROGRESS) return false;
    if (l->cb.ar_result != nullptr) freeaddrinfo(l->cb.ar_result);
    delete l;
    return true;
  };
  abandoned_.erase(std::remove_if(abandoned_.begin(), abandoned_.end(), done), abandoned_.end());
}

StatusOr<std::vector<ResolvedAddress>> BoundedResolver::Resolve(const std::string& host,
                                                                const std::string& port,
                                                                Clock::time_point until) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;

  // An IP address needs no lookup and never blocks.
  unsigned char probe[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), probe) == 1 || inet_pton(AF_INET6, host.c_str(), probe) == 1) {
    hints.ai_flags |= AI_NUMERICHOST;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) return NoAddress(host, rc);
    std::vector<ResolvedAddress> out = Collect(list);
    freeaddrinfo(list);
    return out;
  }

#if KLK_RESOLVER_UNDER_TSAN
  // glibc starts getaddrinfo_a's helper thread behind TSan's back, and the
  // helper's first malloc then crashes in TSan's allocator. TSan builds run
  // tests against names in /etc/hosts only: an ordinary lookup.
  (void)until;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return NoAddress(host, rc);
  std::vector<ResolvedAddress> resolved = Collect(found);
  freeaddrinfo(found);
  if (resolved.empty()) return NoAddress(host, EAI_NONAME);
  return resolved;
#endif
  Reap();
  if (abandoned_.size() >= kMaxAbandoned) {
    return Unavailable("name lookups are hanging (" + std::to_string(abandoned_.size()) +
                       " earlier lookups have not finished), so '" + host +
                       "' was not looked up; check this host's DNS resolver (/etc/resolv.conf) "
                       "or list the KMIP servers by IP address with server_name set");
  }
  auto lookup = std::make_unique<Lookup>();
  lookup->host = host;
  lookup->port = port;
  lookup->hints = hints;
  lookup->cb.ar_name = lookup->host.c_str();
  lookup->cb.ar_service = lookup->port.c_str();
  lookup->cb.ar_request = &lookup->hints;
  gaicb* batch[1] = {&lookup->cb};
  const int started = getaddrinfo_a(GAI_NOWAIT, batch, 1, nullptr);
  if (started != 0) {
    return Unavailable("name lookup of '" + host + "' could not start (" + gai_strerror(started) +
                       "); the process may be out of threads or memory");
  }
  for (;;) {
    if (gai_error(&lookup->cb) != EAI_INPROGRESS) break;
    const auto left = until - Clock::now();
    if (left <= Clock::duration::zero()) {
      const int cancel = gai_cancel(&lookup->cb);
      if (cancel == EAI_ALLDONE) break;  // it finished just now: use it
      if (cancel != EAI_CANCELED) abandoned_.push_back(lookup.release());
      return DeadlineExceeded("name lookup of '" + host + "' did not finish in time");
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    const gaicb* wait[1] = {&lookup->cb};
    gai_suspend(wait, 1, &ts);  // returns on completion, timeout or a signal: the loop re-checks
  }
  const int err = gai_error(&lookup->cb);
  if (err != 0) return NoAddress(host, err);
  std::vector<ResolvedAddress> out = Collect(lookup->cb.ar_result);
  freeaddrinfo(lookup->cb.ar_result);
  lookup->cb.ar_result = nullptr;
  if (out.empty()) return NoAddress(host, EAI_NONAME);
  return out;
}

}  // namespace keyring_locker::kmip::internal
