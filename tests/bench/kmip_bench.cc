// KMIP round trips over one reused mutual-TLS connection, against PyKMIP on
// loopback: what a cache miss on the KMIP store costs, and a cached Get for
// contrast. Run: build/bin/kmip_bench (not ctest; starts its own PyKMIP).
// The round-trip benchmarks report the median and 90th percentile of their
// iterations (200 each) as counters.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "keyring_backend/key_service.h"
#include "keyring_backend/kmip/kmip_key_store.h"
#include "keyring_backend/kmip/kmip_wrapper.h"
#include "keyring_backend/wrapper/no_wrapper.h"
#include "tests/integration/pykmip_fixture.h"

namespace keyring_locker {
namespace {

struct World {
  World() {
    server = testing::PyKmipServer::Start();
    if (!server) std::abort();
    KmipOptions o;
    o.transport.servers = {server->host() + ":" + std::to_string(server->port())};
    o.transport.ca_file = server->ca_file();
    o.transport.cert_file = server->client_cert();
    o.transport.key_file = server->client_key();
    auto c = kmip::KmipClient::Open(o);
    if (!c.ok()) Die(c.status());
    client = std::shared_ptr<kmip::KmipClient>(std::move(c).value());
    KmipStoreOptions so;
    so.scope = "bench";
    KeyLocker locker;
    locker.store = std::move(KmipKeyStore::Open(client, so)).value();
    locker.wrapper = std::make_unique<NoWrapper>();
    KeyScopeOptions scope;
    scope.scope = "bench";
    keys = std::make_unique<KeyService>(std::move(locker), scope, CacheOptions(), nullptr, "bench:1",
                                        std::chrono::milliseconds(5000));
    if (!keys->EnsureKey("1").ok()) std::abort();
    kmip::LocateQuery q;
    q.name = "keyring_locker/bench/1/1";
    auto uids = client->Locate(q);
    if (!uids.ok() || uids->size() != 1) std::abort();
    uid = (*uids)[0];
    kmip::KeyAttributes kek;
    kek.name = "bench-kek";
    auto kek_uid = client->Create(kek);
    if (!kek_uid.ok() || !client->Activate(*kek_uid).ok()) std::abort();
    wrapper = std::move(KmipWrapper::Open(client, "bench-kek")).value();
  }
  [[noreturn]] static void Die(const Status& s) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
  std::unique_ptr<testing::PyKmipServer> server;
  std::shared_ptr<kmip::KmipClient> client;
  std::unique_ptr<KeyService> keys;
  std::unique_ptr<KmipWrapper> wrapper;
  std::string uid;
};

World& W() {
  static World w;
  return w;
}

// Runs `op` once per iteration, timing each; median and p90 as counters.
template <typename Op>
void Timed(benchmark::State& state, Op op) {
  std::vector<double> us;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!op()) state.SkipWithError("operation failed");
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (us.empty()) return;
  state.counters["median_us"] = us[us.size() / 2];
  state.counters["p90_us"] = us[us.size() * 9 / 10];
}

// One KMIP Get of a key: one request on the kept-alive TLS connection.
void BM_KmipGetRoundTrip(benchmark::State& state) {
  World& w = W();
  Timed(state, [&] { return w.client->Get(w.uid).ok(); });
}
BENCHMARK(BM_KmipGetRoundTrip)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(200);

// A full cache miss on the KMIP store: Get Attributes + Get (the object known).
void BM_KmipStoreRead(benchmark::State& state) {
  World& w = W();
  Timed(state, [&] { return w.keys->store().Read("1", 1).ok(); });
}
BENCHMARK(BM_KmipStoreRead)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(200);

// Unwrapping with the kmip wrapper: one Decrypt (AES-256-GCM) on the server.
void BM_KmipWrapperUnwrap(benchmark::State& state) {
  World& w = W();
  const std::string wrapped = *w.wrapper->Wrap(crypto::SecureBuffer::CopyOf(std::string(32, 'k')), "ad");
  Timed(state, [&] { return w.wrapper->Unwrap(wrapped, "ad").ok(); });
}
BENCHMARK(BM_KmipWrapperUnwrap)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(200);

// The same key from KeyService's cache: no request at all.
void BM_CachedGetOverKmipStore(benchmark::State& state) {
  KeyService& keys = *W().keys;
  for (auto _ : state) benchmark::DoNotOptimize(keys.Get("1", 1));
}
BENCHMARK(BM_CachedGetOverKmipStore)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace keyring_locker

BENCHMARK_MAIN();
