// Locker round trips over reused TLS connections, against the dev locker on
// loopback: what a cache miss costs. Run: build/bin/locker_bench (not ctest).
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/backend_parts.h"

namespace keyring_locker {
namespace {

struct World {
  World() {
    locker = testing::DevLocker::Start();
    if (!locker) std::abort();
    std::string token_file = "/tmp/klk_bench_token_" + std::to_string(getpid());
    std::ofstream(token_file) << locker->root_token();
    chmod(token_file.c_str(), 0600);
    Config c;
    c.http.endpoints = {locker->url()};
    c.http.tls.ca_file = locker->ca_file();
    c.auth.token_file = token_file;
    c.keys.scope = "bench";
    auto b = Backend::Open(c);
    if (!b.ok()) {
      std::fprintf(stderr, "%s\n", b.status().ToString().c_str());
      std::abort();
    }
    backend = std::move(b).value();
    std::remove(token_file.c_str());
    (void)backend->keys().EnsureKey("1");
    path = testing::DocumentPathOf(*backend, "1", 1);
  }
  std::unique_ptr<testing::DevLocker> locker;
  std::unique_ptr<Backend> backend;
  std::string path;
};

World& W() {
  static World w;
  return w;
}

// One KV read: one HTTPS request on a kept-alive connection.
void BM_KvFetchRoundTrip(benchmark::State& state) {
  VaultLocker& v = testing::VaultOf(*W().backend);
  for (auto _ : state) {
    auto doc = v.Fetch(W().path);
    if (!doc.ok()) state.SkipWithError("fetch failed");
  }
}
BENCHMARK(BM_KvFetchRoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A full cache miss: KV read + Transit unwrap (two round trips).
void BM_UncachedKeyLoad(benchmark::State& state) {
  VaultLocker& v = testing::VaultOf(*W().backend);
  for (auto _ : state) {
    auto doc = v.Fetch(W().path);
    auto key = v.Unwrap((*doc)["wrapped"].get<std::string>(), "");
    if (!key.ok()) state.SkipWithError("unwrap failed");
  }
}
BENCHMARK(BM_UncachedKeyLoad)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The same key from the cache, for contrast.
void BM_CachedGetOverRealBackend(benchmark::State& state) {
  KeyService& keys = W().backend->keys();
  for (auto _ : state) benchmark::DoNotOptimize(keys.Get("1", 1));
}
BENCHMARK(BM_CachedGetOverRealBackend)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace keyring_locker

BENCHMARK_MAIN();
