// Concurrency stress: 32 threads read keys from a Backend on the dev locker
// while a second Backend on the same scope (another server) rotates, the
// AppRole token (3 s TTL) renews and the version refresh runs every second,
// so new versions reach the readers through the refresh and are loaded
// concurrently on first use. The audit log records every load. Asserts no
// torn key (a (name, version) always has the same bytes), no error for any
// version the cache announced, no deadlock (a watchdog aborts the program
// when reads stop moving) and bounded memory (RSS after warm-up may not keep
// growing). Short in CI and under TSan (scripts/sanitize.sh); long from
// scripts/stress.sh through these variables:
//   KLK_STRESS_SECONDS      run length (default 10)
//   KLK_STRESS_STALL_S      watchdog: seconds without a read that fail the run (default 60)
//   KLK_STRESS_ROTATE_MS    pause between rotations (default 100)
//   KLK_STRESS_MAX_KEYS     cache.max_keys of the readers' Backend (default: the config default)
//   KLK_STRESS_RSS_GROWTH_MB  allowed RSS growth from 1/4 of the run to its end (default 64)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/stress/stress_support.h"

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DevLocker;

constexpr int kReaders = 32;
constexpr int kNames = 4;

// First SHA-256 seen per (name, version); later reads must match it.
class Fingerprints {
 public:
  bool Check(const std::string& name, uint32_t version, const crypto::SecureBuffer& bytes) {
    const std::string digest = crypto::HexEncode(crypto::Sha256(bytes.data(), bytes.size()));
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = seen_.emplace(std::make_pair(name, version), digest);
    return inserted || it->second == digest;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, uint32_t>, std::string> seen_;
};

std::string WriteSecret(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), 0600);
  return path;
}

struct RunKnobs {
  std::chrono::seconds run_for{stress::EnvLong("KLK_STRESS_SECONDS", 10)};
  std::chrono::seconds stall{stress::EnvLong("KLK_STRESS_STALL_S", 60)};
  std::chrono::milliseconds rotate_every{stress::EnvLong("KLK_STRESS_ROTATE_MS", 100)};
  long max_keys = stress::EnvLong("KLK_STRESS_MAX_KEYS", 0);  // 0 = config default
  long rss_growth_mb = stress::EnvLong("KLK_STRESS_RSS_GROWTH_MB", 64);
};

// Under ASan (a quarantine of up to 256 MB of freed blocks) and TSan (shadow
// memory) RSS follows the sanitizer's bookkeeping, not ours: the growth check
// is only meaningful in a plain build. ASan's leak checker covers leaks there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kRssIsMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kRssIsMeaningful = false;
#else
constexpr bool kRssIsMeaningful = true;
#endif
#else
constexpr bool kRssIsMeaningful = true;
#endif

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

TEST(ConcurrencyStress, ReadersRotationRenewalAndRefreshTogether) {
  const RunKnobs knobs;
  auto locker = DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  const std::string dir = std::filesystem::temp_directory_path() / ("klk_stress." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  auto pol = locker->Call("PUT", "sys/policies/acl/klk",
                          json{{"policy", "path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", "
                                          "\"list\"] }\npath \"transit/*\" { capabilities = [\"read\", "
                                          "\"update\", \"create\"] }"}});
  // The KEK exists before the server's token is used, as docs/locker-setup.md
  // sets it up: the policy grants no "create" on transit/keys (Vault's, and
  // now the dev locker's, existence check tells create from update).
  ASSERT_LT(locker->Call("POST", "transit/keys/keyring_locker", json{{"type", "aes256-gcm96"}}).status, 300);
  ASSERT_LT(pol.status, 300) << pol.body.dump();
  ASSERT_LT(locker->Call("POST", "auth/approle/role/db1",
                         json{{"token_ttl", 3}, {"token_max_ttl", 3600}, {"token_policies", {"klk"}}})
                .status,
            300);
  auto rid = locker->Call("GET", "auth/approle/role/db1/role-id");
  auto sid = locker->Call("POST", "auth/approle/role/db1/secret-id");
  ASSERT_EQ(sid.status, 200) << sid.body.dump();

  Config c;
  c.http.endpoints = {locker->url()};
  c.http.tls.ca_file = locker->ca_file();
  c.http.connect_timeout = 2000ms;
  c.http.total_timeout = 10000ms;
  c.auth.method = AuthOptions::Method::kAppRole;
  c.auth.role_id = rid.body["data"].value("role_id", "");
  c.auth.secret_id_file = WriteSecret(dir + "/secret_id", sid.body["data"].value("secret_id", ""));
  c.auth.min_retry_interval = 1s;
  c.vault.kv_version = 2;  // sys/ is root-only on the dev locker
  c.keys.scope = "stress/db1";
  c.cache.version_refresh = 1s;
  Config rotator_config = c;
  if (knobs.max_keys > 0) c.cache.max_keys = static_cast<size_t>(knobs.max_keys);
  c.audit.path = dir + "/audit.log";
  auto opened = Backend::Open(c);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Backend& b = **opened;
  KeyService& keys = b.keys();
  for (int n = 0; n < kNames; ++n) ASSERT_TRUE(keys.EnsureKey("k" + std::to_string(n)).ok());
  auto other = Backend::Open(rotator_config);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const AuthInfo auth_before = b.auth().info();

  Fingerprints prints;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, errors{0}, torn{0};
  std::atomic<int> rotations{0};
  std::mutex error_mu;
  std::string first_error;
  auto note_error = [&](const std::string& what) {
    errors.fetch_add(1);
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.empty()) first_error = what;
  };

  // Written by the watchdog thread every 100 ms; read once it is gone.
  const auto started = std::chrono::steady_clock::now();
  const long rss_start = stress::RssKib();
  long rss_warm = 0, rss_max = rss_start;
  uint64_t refreshes = 0;
  auto last_refresh = keys.stats().last_refresh;
  auto sample = [&] {
    const long rss = stress::RssKib();
    rss_max = std::max(rss_max, rss);
    if (rss_warm == 0 && std::chrono::steady_clock::now() - started >= knobs.run_for / 4) rss_warm = rss;
    const auto refreshed = keys.stats().last_refresh;
    if (refreshed != last_refresh) {
      ++refreshes;
      last_refresh = refreshed;
    }
  };
  std::optional<stress::ProgressWatchdog> watchdog;
  watchdog.emplace(knobs.stall, knobs.run_for + knobs.stall + 60s,
                   [&] { return reads.load(std::memory_order_relaxed); }, sample);

  // Latency of every read, and of reads of a latest version this thread has
  // read before (a cache hit unless evicted since).
  std::vector<stress::LatencyHistogram> all_lat(kReaders), repeat_lat(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<uint32_t> last_read(kNames, 0);
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const int n = static_cast<int>(rng() % kNames);
        const std::string name = "k" + std::to_string(n);
        const uint32_t latest = keys.LatestVersionCached(name);
        if (latest == 0) {
          note_error(name + ": no cached version");
          continue;
        }
        // Mostly the latest, sometimes an older version.
        const bool old = i % 4 == 0;
        const uint32_t version = old ? 1 + static_cast<uint32_t>(rng() % latest) : latest;
        const auto t0 = std::chrono::steady_clock::now();
        auto k = keys.Get(name, version);
        const uint64_t ns = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
        all_lat[t].Add(ns);
        if (!old && last_read[n] == version) repeat_lat[t].Add(ns);
        reads.fetch_add(1, std::memory_order_relaxed);
        if (!k.ok()) {
          note_error(name + " v" + std::to_string(version) + ": " + k.status().ToString());
        } else if (!prints.Check(name, version, (*k)->bytes)) {
          torn.fetch_add(1);
        } else if (!old) {
          last_read[n] = version;
        }
      }
    });
  }

  std::thread rotator([&] {
    std::mt19937 rng(7);
    KeyService& theirs = (*other)->keys();
    while (!stop.load()) {
      const std::string name = "k" + std::to_string(rng() % kNames);
      auto v = theirs.Rotate(name);
      if (!v.ok()) {
        note_error("rotate: " + v.status().ToString());
      } else {
        // The creating server's bytes are the reference for the readers'.
        auto k = theirs.Get(name, *v);
        if (!k.ok()) note_error("rotator get: " + k.status().ToString());
        else if (!prints.Check(name, *v, (*k)->bytes)) torn.fetch_add(1);
      }
      rotations.fetch_add(1);
      std::this_thread::sleep_for(knobs.rotate_every);
    }
  });

  std::this_thread::sleep_for(knobs.run_for);
  watchdog->Pause();
  stop = true;
  for (auto& r : readers) r.join();
  rotator.join();
  watchdog.reset();  // joins it: its samples may be read now, and it no longer touches `keys`
  const long rss_end = stress::RssKib();

  stress::LatencyHistogram all, repeat;
  for (int t = 0; t < kReaders; ++t) {
    all.Merge(all_lat[t]);
    repeat.Merge(repeat_lat[t]);
  }
  const AuthInfo auth_after = b.auth().info();
  const KeyServiceStats stats = keys.stats();
  std::printf("stress: %lld s, %llu reads, %d rotations, %zu key versions, %llu refreshes, "
              "renewals %llu->%llu, logins %llu->%llu, torn %llu, errors %llu\n",
              static_cast<long long>(knobs.run_for.count()), static_cast<unsigned long long>(reads.load()),
              rotations.load(), prints.size(), static_cast<unsigned long long>(refreshes),
              static_cast<unsigned long long>(auth_before.renewals),
              static_cast<unsigned long long>(auth_after.renewals),
              static_cast<unsigned long long>(auth_before.logins), static_cast<unsigned long long>(auth_after.logins),
              static_cast<unsigned long long>(torn.load()), static_cast<unsigned long long>(errors.load()));
  std::printf("stress: cache hits %llu misses %llu loads %llu collapsed %llu evictions %llu entries %zu, "
              "stale serves %llu\n",
              static_cast<unsigned long long>(stats.cache.hits), static_cast<unsigned long long>(stats.cache.misses),
              static_cast<unsigned long long>(stats.cache.loads),
              static_cast<unsigned long long>(stats.cache.collapsed_waits),
              static_cast<unsigned long long>(stats.cache.evictions), stats.cache.entries,
              static_cast<unsigned long long>(stats.stale_serves));
  std::printf("stress: repeat reads of the latest version: %llu, p50 %.1f us, p99 %.1f us, max %.1f us\n",
              static_cast<unsigned long long>(repeat.count()), Us(repeat.Quantile(0.5)), Us(repeat.Quantile(0.99)),
              Us(repeat.max_ns()));
  std::printf("stress: all reads: p50 %.1f us, p99 %.1f us, max %.1f us\n", Us(all.Quantile(0.5)),
              Us(all.Quantile(0.99)), Us(all.max_ns()));
  std::printf("stress: RSS start %ld KiB, after 1/4 %ld KiB, end %ld KiB, max %ld KiB\n", rss_start, rss_warm,
              rss_end, rss_max);
  std::fflush(stdout);

  EXPECT_EQ(torn.load(), 0u) << "a (name, version) returned different bytes";
  EXPECT_EQ(errors.load(), 0u) << "first error: " << first_error;
  EXPECT_GT(reads.load(), static_cast<uint64_t>(kReaders) * 100);
  EXPECT_GE(rotations.load(), 10);
  EXPECT_GE(prints.size(), static_cast<size_t>(kNames + 10));
  // The token really turned over during the run (3 s TTL).
  EXPECT_GT(auth_after.renewals + auth_after.logins, auth_before.renewals + auth_before.logins);
  // The background refresh ran and brought the other server's versions,
  // which were then loaded from the locker on first use.
  EXPECT_GT(refreshes, 0u);
  EXPECT_GT(stats.cache.loads, 0u);
  if (knobs.max_keys > 0) {
    EXPECT_LE(stats.cache.entries, static_cast<size_t>(knobs.max_keys));
  }
  ASSERT_GT(rss_warm, 0) << "the watchdog never sampled RSS after the first quarter";
  if (kRssIsMeaningful) {
    EXPECT_LE(rss_end - rss_warm, knobs.rss_growth_mb * 1024) << "memory kept growing after warm-up";
  } else {
    std::printf("stress: RSS growth not checked under a sanitizer (its own memory dominates)\n");
  }
  opened->reset();  // flushes the audit log
  other->reset();
  AuditVerifyReport audit = VerifyAuditLog(dir + "/audit.log");
  EXPECT_TRUE(audit.ok) << audit.problem;
  EXPECT_GT(audit.lines, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keyring_locker
