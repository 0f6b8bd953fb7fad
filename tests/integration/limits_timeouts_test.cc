// Limit: "the plugin never blocks a server thread longer than the configured
// total timeout". Every entry point a server thread reaches (KeyService Get,
// EnsureKey, Rotate, Create, LatestVersionFromLocker, RefreshVersions; the
// MariaDB KeyGate's latest-version and get-key paths) is timed against the
// dev locker while it hangs, while it is slow, and with many threads calling
// at once: single flight and the shared connect lock must not make the last
// waiter wait for everyone before it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#if KLK_HAVE_MARIADB_CORE
#include "plugin/mariadb/key_gate.h"
#include "keyring_backend/open_locker.h"
#endif

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::DevLocker;

constexpr auto kTotal = 1000ms;
// Thread wake-ups, one TLS reconnect, sanitizer builds on two shared cores.
constexpr auto kSlack = 600ms;
constexpr int kThreads = 12;

class LimitsTimeouts : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("klk_limits." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = 500ms;
    c.http.total_timeout = kTotal;
    c.http.backoff_initial = 20ms;
    c.http.backoff_max = 100ms;
    c.auth.method = AuthOptions::Method::kToken;
    const std::string token_file = dir_ + "/token";
    std::ofstream(token_file) << locker_->root_token();
    ::chmod(token_file.c_str(), 0600);
    c.auth.token_file = token_file;
    c.keys.scope = "limits/db1";
    c.cache.version_refresh = 3600s;  // no background traffic mid-case
    auto b = Backend::Open(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
    ASSERT_TRUE(keys().EnsureKey("1").ok());
    ASSERT_TRUE(keys().Rotate("1").ok());  // v2 in the locker and cached
  }
  void TearDown() override {
    if (locker_) locker_->ClearFaults();
    backend_.reset();
    locker_.reset();
    std::filesystem::remove_all(dir_);
  }
  KeyService& keys() { return backend_->keys(); }

  // A KeyService with an empty cache on the same client: every Get is a miss.
  std::unique_ptr<KeyService> FreshKeys() {
    const Config& c = backend_->config();
    return std::make_unique<KeyService>(std::move(OpenKeyLocker(c, &backend_->http(), &backend_->auth())).value(), c.keys, c.cache,
                                        nullptr, "limits", c.http.total_timeout);
  }

  static std::chrono::milliseconds Since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }
  // Runs `op` and checks it came back within the budget; returns whether it failed.
  void ExpectBounded(const std::string& what, const std::function<Status()>& op, bool expect_error) {
    const auto start = Clock::now();
    const Status s = op();
    const auto took = Since(start);
    EXPECT_LE(took.count(), (kTotal + kSlack).count()) << what << " blocked for " << took.count() << " ms: " << s.ToString();
    if (expect_error) {
      EXPECT_FALSE(s.ok()) << what << " succeeded against a hanging locker";
    }
  }
  // `op` from kThreads threads at once; every one must return within the budget.
  void ExpectBoundedTogether(const std::string& what, const std::function<Status(int)>& op) {
    std::vector<std::chrono::milliseconds> took(kThreads);
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        (void)op(t);
        took[t] = Since(start);
      });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_LE(took[t].count(), (kTotal + kSlack).count()) << what << ": caller " << t << " of " << kThreads << " blocked for "
                                          << took[t].count() << " ms";
    }
  }

  std::string dir_;
  std::unique_ptr<DevLocker> locker_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(LimitsTimeouts, EveryKeyServiceEntryPointReturnsWithinTotalWhileTheLockerHangs) {
  locker_->InjectFault({{"action", "hang"}, {"delay_ms", 20000}});
  auto fresh = FreshKeys();
  ExpectBounded("Get (miss)", [&] { return fresh->Get("1", 1).status(); }, true);
  ExpectBounded("EnsureKey (new)", [&] { return keys().EnsureKey("new").status(); }, true);
  ExpectBounded("Rotate", [&] { return keys().Rotate("1").status(); }, true);
  ExpectBounded("Create", [&] { return keys().Create("made", 1, "AES", 32, nullptr); }, true);
  ExpectBounded("LatestVersionFromLocker", [&] { return keys().LatestVersionFromLocker("1").status(); }, true);
  ExpectBounded("RefreshVersions", [&] { return keys().RefreshVersions(); }, true);
  // The cached key is still served at once.
  const auto start = Clock::now();
  EXPECT_TRUE(keys().Get("1", 2).ok());
  EXPECT_LT(Since(start), 50ms);
}

TEST_F(LimitsTimeouts, SlowRepliesAreCutOffWithinTotal) {
  // Each reply takes 70% of the budget: an attempt is capped at half the
  // budget while a retry is left, so an operation of several requests gives
  // up instead of adding request after request. (Replies just under half the
  // budget still add up per request: docs/limits.md, "known gaps".)
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 700}});
  auto fresh = FreshKeys();
  ExpectBounded("Get (miss: fetch + unwrap)", [&] { return fresh->Get("1", 1).status(); }, false);
  ExpectBounded("EnsureKey (list + datakey + store)", [&] { return keys().EnsureKey("slow").status(); }, false);
  ExpectBounded("Rotate (list + datakey + store)", [&] { return keys().Rotate("1").status(); }, false);
  ExpectBounded("Create (datakey + store)", [&] { return keys().Create("made", 1, "AES", 32, nullptr); }, false);
}

// Replies just under the per-attempt cap (half the budget) are never cut
// off one by one; the call's budget (OperationDeadline) still ends the whole
// call: EnsureKey's listing, data key and write at 450 ms each would take
// 1350 ms, but it must stop at kTotal with a clear error. Without the shared
// deadline this measured ~1.4 s.
TEST_F(LimitsTimeouts, RequestsOfOneCallShareOneBudget) {
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 450}});
  const auto start = Clock::now();
  const Status s = keys().EnsureKey("budget").status();
  const auto took = Since(start);
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  EXPECT_NE(s.message().find("timeouts.total_ms=1000"), std::string::npos) << s.message();
  EXPECT_LT(took.count(), (kTotal + 250ms).count()) << "EnsureKey took " << took.count() << " ms";
  EXPECT_GE(took.count(), (kTotal - 100ms).count()) << "gave up before the budget was spent";
  locker_->ClearFaults();
  // Nothing half-made: the key can be created normally afterwards.
  auto v = keys().EnsureKey("budget");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
}

TEST_F(LimitsTimeouts, ManyCallersOfOneMissingKeyDoNotQueueBehindEachOther) {
  locker_->InjectFault({{"action", "hang"}, {"delay_ms", 20000}});
  auto fresh = FreshKeys();
  ExpectBoundedTogether("Get of one uncached version", [&](int) { return fresh->Get("1", 1).status(); });
  ExpectBoundedTogether("Get of different uncached versions",
                        [&](int t) { return fresh->Get("1", 100 + static_cast<uint32_t>(t)).status(); });
  ExpectBoundedTogether("EnsureKey of one new key", [&](int) { return keys().EnsureKey("crowd").status(); });
  ExpectBoundedTogether("Rotate", [&](int) { return keys().Rotate("1").status(); });
}

TEST_F(LimitsTimeouts, ManyCallersWhoseTokenWasRevokedDoNotQueueOnTheLogin) {
  // The token is revoked and the locker is slow: every caller's 403 leads to
  // a token refresh (serialised), on a locker client that has not connected
  // yet (also serialised). Each caller must still get its answer within its
  // own budget, not after the others'.
  auto fresh = FreshKeys();
  locker_->InjectFault({{"action", "expire_tokens"}});
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 700}});
  ExpectBoundedTogether("Get with a revoked token on a slow locker",
                        [&](int t) { return fresh->Get("1", 200 + static_cast<uint32_t>(t)).status(); });
}

#if KLK_HAVE_MARIADB_CORE
TEST_F(LimitsTimeouts, MariaDbKeyGateAnswersWithinTotalWhileTheLockerHangs) {
  auto fresh = FreshKeys();
  ASSERT_TRUE(fresh->LatestVersionFromLocker("1").ok());  // announces v2, bytes not loaded
  mariadb::KeyGate gate(fresh.get(), mariadb::KeyGateOptions{}, [](const std::string&) {});
  locker_->InjectFault({{"action", "hang"}, {"delay_ms", 20000}});
  std::vector<unsigned> latest(kThreads), got(kThreads);
  ExpectBoundedTogether("KeyGate LatestVersion of an announced, unloaded version", [&](int t) {
    latest[t] = gate.LatestVersion(1);
    return Status::Ok();
  });
  ExpectBoundedTogether("KeyGate GetKey of an unloaded version", [&](int t) {
    unsigned char buf[32];
    unsigned len = sizeof(buf);
    got[t] = gate.GetKey(1, 1, buf, &len);
    return Status::Ok();
  });
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(latest[t], mariadb::kKeyVersionInvalid) << "no version's bytes were ever in hand";
    EXPECT_EQ(got[t], mariadb::kKeyVersionInvalid);
  }
}

// The latest-version answer for a key this server has not read yet is two
// KeyService calls (its versions, then its bytes); they share one budget.
// With every reply taking 450 ms they took about 1.35 s; now 1 s.
TEST_F(LimitsTimeouts, MariaDbKeyGateLatestOfAnUnreadKeyTakesOneBudget) {
  auto fresh = FreshKeys();  // nothing cached, nothing read
  ASSERT_TRUE(fresh->LatestVersionFromLocker("another").ok());  // connected, so only key 1's requests remain
  mariadb::KeyGate gate(fresh.get(), mariadb::KeyGateOptions{}, [](const std::string&) {});
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 450}});
  const auto start = Clock::now();
  (void)gate.LatestVersion(1);
  const auto took = Since(start);
  locker_->ClearFaults();
  EXPECT_LE(took.count(), (kTotal + 250ms).count()) << "one budget per KeyService call";
}
#endif

}  // namespace
}  // namespace keyring_locker
