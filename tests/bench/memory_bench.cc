// Benchmark 6 of issue #11: resident and locked memory with N cached keys.
// Run: build/bin/memory_bench --keys N [--memlock-limit-kib K]  (bench/run
// runs it for N = 1, 1,000 and 10,000). Prints one JSON object.
//
// The keys go through the real KeyService and its cache (over the in-memory
// FakeLocker: no network), so every cached key is a SecureBuffer as in the
// server. VmRSS and VmLck come from /proc/self/status before the first key
// and after the last. --memlock-limit-kib caps RLIMIT_MEMLOCK the way a
// service without CAP_IPC_LOCK runs (Debian's systemd default is 8 MiB);
// when run as root it also drops to uid 65534, since root ignores the limit.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "crypto/secure_buffer.h"
#include "crypto/locked_slab.h"
#include "keyring_backend/key_service.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stol(line.substr(n + 1));
  }
  return -1;
}

int Usage() {
  std::fprintf(stderr, "usage: memory_bench --keys N [--memlock-limit-kib K]\n");
  return 2;
}

int Run(long keys, long limit_kib) {
  if (limit_kib >= 0) {
    const rlimit limit{static_cast<rlim_t>(limit_kib) * 1024, static_cast<rlim_t>(limit_kib) * 1024};
    if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) {
      std::perror("memory_bench: setrlimit(RLIMIT_MEMLOCK)");
      return 1;
    }
    if (geteuid() == 0 && setuid(65534) != 0) {
      std::perror("memory_bench: setuid(65534) (root ignores RLIMIT_MEMLOCK)");
      return 1;
    }
  }
  testing::FakeLocker locker;
  KeyScopeOptions scope;
  scope.scope = "bench";
  CacheOptions cache;
  cache.max_keys = static_cast<size_t>(keys) + 64;  // no eviction here
  KeyService service(testing::FakeKeyLocker(&locker, scope), scope, cache, nullptr, "bench",
                     std::chrono::milliseconds(0));
  const long rss_before = StatusKb("VmRSS"), lck_before = StatusKb("VmLck");
  const auto stats_before = crypto::SecureBuffer::LockStats();
  for (long i = 1; i <= keys; ++i) {
    const std::string name = std::to_string(i);
    if (!service.EnsureKey(name).ok() || !service.Get(name, 1).ok()) {
      std::fprintf(stderr, "memory_bench: key %ld could not be created and cached\n", i);
      return 1;
    }
  }
  const long rss_after = StatusKb("VmRSS"), lck_after = StatusKb("VmLck");
  const auto stats = crypto::SecureBuffer::LockStats();
  const auto slab = crypto::LockedSlab::Instance().Stats();
  std::printf(
      "{\"keys\": %ld, \"cached\": %llu, \"memlock_limit_kib\": %ld, \"vmrss_kb_before\": %ld, "
      "\"vmrss_kb\": %ld, \"vmlck_kb_before\": %ld, \"vmlck_kb\": %ld, \"locked_bytes\": %zu, "
      "\"unlocked_bytes\": %zu, \"unlocked_buffers\": %zu, \"mlock_failures\": %zu, \"live_buffers\": %zu, "
      "\"slab_pages\": %zu, \"euid\": %u}\n",
      keys, static_cast<unsigned long long>(service.stats().cache.entries), limit_kib, rss_before, rss_after,
      lck_before, lck_after, stats.locked_bytes, stats.unlocked_bytes, stats.unlocked_buffers,
      stats.mlock_failures - stats_before.mlock_failures, crypto::SecureBuffer::LiveBuffers(), slab.pages,
      static_cast<unsigned>(geteuid()));
  return 0;
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) {
  long keys = -1, limit_kib = -1;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && std::strcmp(argv[i], "--keys") == 0) {
      keys = std::atol(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--memlock-limit-kib") == 0) {
      limit_kib = std::atol(argv[++i]);
    } else {
      return keyring_locker::Usage();
    }
  }
  if (keys < 1 || keys > 1000000) return keyring_locker::Usage();
  return keyring_locker::Run(keys, limit_kib);
}
