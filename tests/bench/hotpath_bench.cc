// Benchmark 1 of issue #11: the server's hot path, a cached key lookup, at
// 1, 2, 8 and 32 threads. Run: build/bin/hotpath_bench (not ctest; bench/run
// runs it and writes docs/benchmarks.md).
//
// What is measured is what the plugins' entry points run once the key is
// cached, minus only the try/catch and the global-state pointer load:
//   MariaDB get_latest_key_version -> KeyGate::LatestVersion
//   MariaDB get_key                -> KeyGate::GetKey (copy into the server's buffer)
//   MySQL keyring_fetch            -> mysql::KeyringOps::WithCached (copy out)
// against the baseline design of MariaDB's hashicorp_key_management: one
// std::mutex over two std::maps (latest version per key id; key bytes per
// key id and version), written here in the same shape.
//
// Every thread asks for the same key id (1), as InnoDB does when every table
// uses the default key: the worst case for shared cache lines. Google
// Benchmark's "Time" is wall time / all threads' operations (the inverse of
// throughput); "CPU" is the threads' CPU time / operations, i.e. what one
// lookup costs a thread, which is what "no slower per thread" is about on a
// machine with fewer cores than threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "keyring_backend/key_service.h"
#include "plugin/mariadb/key_gate.h"
#include "plugin/mysql/mysql_key_model.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

constexpr unsigned kKeyIds = 64;

struct World {
  World() {
    KeyScopeOptions scope;
    scope.scope = "bench";
    keys = std::make_unique<KeyService>(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{}, nullptr,
                                        "bench", std::chrono::milliseconds(0));
    gate = std::make_unique<mariadb::KeyGate>(keys.get(), mariadb::KeyGateOptions{}, [](const std::string&) {});
    ops = std::make_unique<mysql::KeyringOps>(*keys);
    for (unsigned id = 1; id <= kKeyIds; ++id) {
      // The first ask creates the key and caches its bytes (the slow path).
      if (gate->LatestVersion(id) != 1) Die("MariaDB key " + std::to_string(id) + " was not created");
      const std::string mysql_id = "mysql_key_" + std::to_string(id);
      if (!ops->Generate(mysql_id.c_str(), "AES", nullptr, 32).ok() || !ops->Fetch(mysql_id.c_str(), nullptr).ok()) {
        Die("MySQL key " + mysql_id + " was not created");
      }
    }
  }
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "hotpath_bench: %s\n", why.c_str());
    std::abort();
  }
  testing::FakeLocker locker;
  std::unique_ptr<KeyService> keys;
  std::unique_ptr<mariadb::KeyGate> gate;
  std::unique_ptr<mysql::KeyringOps> ops;
};

World& W() {
  static World w;
  return w;
}

// hashicorp_key_management's cache design: one mutex, two ordered maps.
class OneMutexTwoMaps {
 public:
  OneMutexTwoMaps() {
    for (unsigned id = 1; id <= kKeyIds; ++id) {
      latest_[id] = 1;
      keys_[(static_cast<uint64_t>(id) << 32) | 1] = std::vector<unsigned char>(32, static_cast<unsigned char>(id));
    }
  }
  unsigned LatestVersion(unsigned key_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = latest_.find(key_id);
    return it == latest_.end() ? mariadb::kKeyVersionInvalid : it->second;
  }
  unsigned GetKey(unsigned key_id, unsigned version, unsigned char* buf, unsigned* buflen) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find((static_cast<uint64_t>(key_id) << 32) | version);
    if (it == keys_.end()) return mariadb::kKeyVersionInvalid;
    const unsigned size = static_cast<unsigned>(it->second.size());
    if (buf == nullptr || *buflen < size) {
      *buflen = size;
      return mariadb::kKeyBufferTooSmall;
    }
    std::memcpy(buf, it->second.data(), size);
    *buflen = size;
    return 0;
  }

 private:
  std::mutex mu_;
  std::map<unsigned, unsigned> latest_;
  std::map<uint64_t, std::vector<unsigned char>> keys_;
};

OneMutexTwoMaps& Baseline() {
  static OneMutexTwoMaps b;
  return b;
}

void BM_MariaDbLatestVersion(benchmark::State& state) {
  mariadb::KeyGate& gate = *W().gate;
  for (auto _ : state) {
    if (gate.LatestVersion(1) != 1) state.SkipWithError("wrong latest version");
  }
}

void BM_MariaDbGetKey(benchmark::State& state) {
  mariadb::KeyGate& gate = *W().gate;
  unsigned char buf[32];
  for (auto _ : state) {
    unsigned len = sizeof(buf);
    if (gate.GetKey(1, 1, buf, &len) != 0) state.SkipWithError("get_key failed");
    benchmark::DoNotOptimize(buf);
  }
}

// What the MySQL plugin's keyring_fetch does for a key in memory: the
// cached path copies the bytes out under the cache's shared lock (the
// plugin then takes the server's my_malloc, which is not ours to time).
void BM_MySqlCachedFetch(benchmark::State& state) {
  mysql::KeyringOps& ops = *W().ops;
  unsigned char buf[64];
  for (auto _ : state) {
    size_t n = 0;
    const bool hit = ops.WithCached("mysql_key_1", nullptr, [&](const KeyMaterial& k) {
      n = std::min(k.bytes.size(), sizeof(buf));
      std::memcpy(buf, k.bytes.data(), n);
    });
    if (!hit || n != 32) state.SkipWithError("the key was not served from memory");
    benchmark::DoNotOptimize(buf);
  }
}

void BM_BaselineLatestVersion(benchmark::State& state) {
  OneMutexTwoMaps& b = Baseline();
  for (auto _ : state) {
    if (b.LatestVersion(1) != 1) state.SkipWithError("wrong latest version");
  }
}

void BM_BaselineGetKey(benchmark::State& state) {
  OneMutexTwoMaps& b = Baseline();
  unsigned char buf[32];
  for (auto _ : state) {
    unsigned len = sizeof(buf);
    if (b.GetKey(1, 1, buf, &len) != 0) state.SkipWithError("get_key failed");
    benchmark::DoNotOptimize(buf);
  }
}

// The world is built before any timed thread starts.
void Setup(const benchmark::State&) {
  W();
  Baseline();
}

#define HOTPATH(fn) BENCHMARK(fn)->Setup(Setup)->Threads(1)->Threads(2)->Threads(8)->Threads(32)->UseRealTime()
HOTPATH(BM_MariaDbLatestVersion);
HOTPATH(BM_MariaDbGetKey);
HOTPATH(BM_MySqlCachedFetch);
HOTPATH(BM_BaselineLatestVersion);
HOTPATH(BM_BaselineGetKey);

}  // namespace
}  // namespace keyring_locker

BENCHMARK_MAIN();
