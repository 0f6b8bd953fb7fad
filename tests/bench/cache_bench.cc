// Benchmarks of the server's hot paths: what a cached key fetch and a latest-
// version lookup cost. Run: build/bin/cache_bench (not part of ctest).
#include <benchmark/benchmark.h>

#include "keyring_backend/key_service.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

struct Fixture {
  Fixture() {
    KeyScopeOptions scope;
    scope.scope = "bench";
    service = std::make_unique<KeyService>(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{},
                                           nullptr, "bench", std::chrono::milliseconds(0));
    for (int id = 1; id <= 64; ++id) {
      (void)service->EnsureKey(std::to_string(id));
    }
  }
  testing::FakeLocker locker;
  std::unique_ptr<KeyService> service;
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void BM_CachedGet(benchmark::State& state) {
  KeyService& svc = *Shared().service;
  const std::string name = std::to_string(1 + state.thread_index() % 64);
  for (auto _ : state) {
    auto k = svc.Get(name, 1);
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_CachedGet)->Threads(1)->Threads(2)->Threads(8)->Threads(32)->UseRealTime();

void BM_LatestVersionCached(benchmark::State& state) {
  KeyService& svc = *Shared().service;
  const std::string name = std::to_string(1 + state.thread_index() % 64);
  for (auto _ : state) benchmark::DoNotOptimize(svc.LatestVersionCached(name));
}
BENCHMARK(BM_LatestVersionCached)->Threads(1)->Threads(8)->Threads(32)->UseRealTime();

}  // namespace
}  // namespace keyring_locker

BENCHMARK_MAIN();
