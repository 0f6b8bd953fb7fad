// Concurrency stress: 32 threads read keys from a Backend on the dev locker
// while a second Backend on the same scope (another server) rotates, the
// AppRole token (3 s TTL) renews and the version refresh runs every second,
// so new versions reach the readers through the refresh and are loaded
// concurrently on first use. The audit log records every load. Asserts no torn key (a (name, version)
// always has the same bytes), no error for any version the cache announced,
// and no deadlock (a watchdog aborts the program past its bound). Also run
// under TSan by scripts/sanitize.sh.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DevLocker;

constexpr int kReaders = 32;
constexpr int kNames = 4;
constexpr auto kRunFor = 10s;
constexpr auto kWatchdog = 120s;          // generous for TSan; a deadlock never ends
constexpr uint64_t kMaxReadsPerThread = 5'000'000;
constexpr int kMaxRotations = 200;

// Aborts the whole program when the test has not finished in time: a
// deadlock must fail loudly, not hang the suite.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit)
      : thread_([this, limit] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "concurrency stress: not finished after %lld s: deadlock?\n",
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

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

TEST(ConcurrencyStress, ReadersRotationRenewalAndRefreshTogether) {
  Watchdog watchdog(std::chrono::duration_cast<std::chrono::seconds>(kWatchdog));
  auto locker = DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  const std::string dir = std::filesystem::temp_directory_path() / ("klk_stress." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  auto pol = locker->Call("PUT", "sys/policies/acl/klk",
                          json{{"policy", "path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", "
                                          "\"list\"] }\npath \"transit/*\" { capabilities = [\"read\", "
                                          "\"update\", \"create\"] }"}});
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
  c.audit.path = dir + "/audit.log";
  auto opened = Backend::Open(c);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Backend& b = **opened;
  KeyService& keys = b.keys();
  for (int n = 0; n < kNames; ++n) ASSERT_TRUE(keys.EnsureKey("k" + std::to_string(n)).ok());
  auto other = Backend::Open(rotator_config);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const AuthInfo auth_before = b.auth().info();
  const auto refresh_before = keys.stats().last_refresh;

  Fingerprints prints;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, errors{0}, torn{0};
  std::mutex error_mu;
  std::string first_error;
  auto note_error = [&](const std::string& what) {
    errors.fetch_add(1);
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.empty()) first_error = what;
  };

  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (uint64_t i = 0; i < kMaxReadsPerThread && !stop.load(std::memory_order_relaxed); ++i) {
        const std::string name = "k" + std::to_string(rng() % kNames);
        const uint32_t latest = keys.LatestVersionCached(name);
        if (latest == 0) {
          note_error(name + ": no cached version");
          continue;
        }
        // Mostly the latest, sometimes an older version.
        const uint32_t version = (i % 4 == 0) ? 1 + static_cast<uint32_t>(rng() % latest) : latest;
        auto k = keys.Get(name, version);
        reads.fetch_add(1, std::memory_order_relaxed);
        if (!k.ok()) {
          note_error(name + " v" + std::to_string(version) + ": " + k.status().ToString());
        } else if (!prints.Check(name, version, (*k)->bytes)) {
          torn.fetch_add(1);
        }
      }
    });
  }

  std::atomic<int> rotations{0};
  std::thread rotator([&] {
    std::mt19937 rng(7);
    KeyService& theirs = (*other)->keys();
    while (!stop.load() && rotations.load() < kMaxRotations) {
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
      std::this_thread::sleep_for(100ms);
    }
  });

  std::this_thread::sleep_for(kRunFor);
  stop = true;
  for (auto& r : readers) r.join();
  rotator.join();

  const AuthInfo auth_after = b.auth().info();
  const KeyServiceStats stats = keys.stats();
  std::printf("stress: %llu reads, %d rotations, %zu key versions, renewals %llu->%llu, logins %llu->%llu, "
              "cache hits %llu misses %llu loads %llu, stale serves %llu\n",
              static_cast<unsigned long long>(reads.load()), rotations.load(), prints.size(),
              static_cast<unsigned long long>(auth_before.renewals),
              static_cast<unsigned long long>(auth_after.renewals),
              static_cast<unsigned long long>(auth_before.logins), static_cast<unsigned long long>(auth_after.logins),
              static_cast<unsigned long long>(stats.cache.hits), static_cast<unsigned long long>(stats.cache.misses),
              static_cast<unsigned long long>(stats.cache.loads),
              static_cast<unsigned long long>(stats.stale_serves));
  EXPECT_EQ(torn.load(), 0u) << "a (name, version) returned different bytes";
  EXPECT_EQ(errors.load(), 0u) << "first error: " << first_error;
  EXPECT_GT(reads.load(), static_cast<uint64_t>(kReaders) * 100);
  EXPECT_GE(rotations.load(), 10);
  EXPECT_GE(prints.size(), static_cast<size_t>(kNames + 10));
  // The token really turned over during the run (3 s TTL over 10 s).
  EXPECT_GT(auth_after.renewals + auth_after.logins, auth_before.renewals + auth_before.logins);
  // The background refresh ran and brought the other server's versions,
  // which were then loaded from the locker on first use.
  EXPECT_GT(stats.last_refresh, refresh_before);
  EXPECT_GT(stats.cache.loads, 0u);
  opened->reset();  // flushes the audit log
  other->reset();
  AuditVerifyReport audit = VerifyAuditLog(dir + "/audit.log");
  EXPECT_TRUE(audit.ok) << audit.problem;
  EXPECT_GT(audit.lines, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keyring_locker
