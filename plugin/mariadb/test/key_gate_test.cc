#include "plugin/mariadb/key_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/support/fake_locker.h"

namespace keyring_locker::mariadb {
namespace {

using keyring_locker::testing::FakeLocker;
using keyring_locker::testing::LockerRef;

class KeyGateTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> NewService() {
    KeyScopeOptions s;
    s.scope = "gate/test";
    CacheOptions c;
    return std::make_unique<KeyService>(keyring_locker::testing::FakeKeyLocker(&locker_, s), s, c, nullptr, "test:1",
                                        std::chrono::milliseconds(0));
  }
  KeyGate NewGate(KeyService* svc, bool create = true) {
    KeyGateOptions o;
    o.create_missing = create;
    o.retry_after = std::chrono::milliseconds(200);
    return KeyGate(svc, o, [this](const std::string& m) { logged_.push_back(m); });
  }
  FakeLocker locker_;
  std::vector<std::string> logged_;
};

TEST_F(KeyGateTest, UnknownIdIsCreatedOnceThenServedFromCache) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  EXPECT_EQ(gate.LatestVersion(5), 1u);
  const int stores = locker_.stores.load(), fetches = locker_.fetches.load();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(gate.LatestVersion(5), 1u);
  EXPECT_EQ(locker_.stores.load(), stores);
  EXPECT_EQ(locker_.fetches.load(), fetches);
}

TEST_F(KeyGateTest, GetKeyReportsSizeForNullOrSmallBuffer) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  ASSERT_EQ(gate.LatestVersion(1), 1u);
  unsigned len = 0;
  EXPECT_EQ(gate.GetKey(1, 1, nullptr, &len), kKeyBufferTooSmall);
  EXPECT_EQ(len, 32u);
  unsigned char small[16];
  len = sizeof small;
  EXPECT_EQ(gate.GetKey(1, 1, small, &len), kKeyBufferTooSmall);
  EXPECT_EQ(len, 32u);
  unsigned char buf[64] = {0};
  len = sizeof buf;
  ASSERT_EQ(gate.GetKey(1, 1, buf, &len), 0u);
  EXPECT_EQ(len, 32u);
  auto k = svc->Get("1", 1);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(std::memcmp(buf, (*k)->bytes.data(), 32), 0);
}

TEST_F(KeyGateTest, UnknownVersionIsInvalidAndLogged) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  ASSERT_EQ(gate.LatestVersion(1), 1u);
  unsigned char buf[32];
  unsigned len = sizeof buf;
  EXPECT_EQ(gate.GetKey(1, 9, buf, &len), kKeyVersionInvalid);
  ASSERT_FALSE(logged_.empty());
  EXPECT_NE(logged_.back().find("version 9"), std::string::npos);
}

TEST_F(KeyGateTest, FailedGetKeyIsNotRetriedOnEveryCall) {
  auto writer = NewService();
  ASSERT_TRUE(writer->EnsureKey("3").ok());
  auto svc = NewService();  // knows nothing yet: version 1 must come from the locker
  KeyGate gate = NewGate(svc.get());
  unsigned char buf[32];
  unsigned len = sizeof buf;
  locker_.down = true;
  EXPECT_EQ(gate.GetKey(3, 1, buf, &len), kKeyVersionInvalid);
  locker_.down = false;
  const int fetches = locker_.fetches.load();
  EXPECT_EQ(gate.GetKey(3, 1, buf, &len), kKeyVersionInvalid);  // inside the pause
  EXPECT_EQ(locker_.fetches.load(), fetches);
  EXPECT_EQ(logged_.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  len = sizeof buf;
  EXPECT_EQ(gate.GetKey(3, 1, buf, &len), 0u);
  EXPECT_EQ(len, 32u);
}

TEST_F(KeyGateTest, ServedKeyKeepsBeingServedWhileLockerIsDown) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  ASSERT_EQ(gate.LatestVersion(1), 1u);
  locker_.down = true;
  unsigned char buf[32];
  unsigned len = sizeof buf;
  EXPECT_EQ(gate.LatestVersion(1), 1u);
  EXPECT_EQ(gate.GetKey(1, 1, buf, &len), 0u);
  // A new id cannot be created while the locker is down, and the failure is
  // not retried on every call.
  EXPECT_EQ(gate.LatestVersion(77), kKeyVersionInvalid);
  const int stores = locker_.stores.load();
  EXPECT_EQ(gate.LatestVersion(77), kKeyVersionInvalid);
  EXPECT_EQ(locker_.stores.load(), stores);
  locker_.down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(gate.LatestVersion(77), 1u);
}

TEST_F(KeyGateTest, NewerVersionIsOnlyHandedOutOnceItsBytesAreHere) {
  auto writer = NewService();  // another server sharing the scope
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  ASSERT_EQ(gate.LatestVersion(1), 1u);
  ASSERT_TRUE(writer->Rotate("1").ok());
  // The refresh sees version 2, then the locker goes away before its bytes
  // were fetched.
  ASSERT_TRUE(svc->RefreshVersions().ok());
  ASSERT_EQ(svc->LatestVersionCached("1"), 2u);
  locker_.down = true;
  EXPECT_EQ(gate.LatestVersion(1), 1u);  // v2's bytes are not here: keep v1
  locker_.down = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(gate.LatestVersion(1), 2u);
}

// get_latest_key_version answers lock-free from a remembered answer; a new
// latest version in the cache must end that at once, for small ids (the
// lock-free table) and large ones (the locked path) alike.
TEST_F(KeyGateTest, ARememberedLatestVersionGivesWayWhenTheCacheMovesOn) {
  auto writer = NewService();
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  for (unsigned id : {1u, 1023u, 1024u, 70000u}) {
    for (int i = 0; i < 3; ++i) ASSERT_EQ(gate.LatestVersion(id), 1u) << id;
    ASSERT_TRUE(writer->Rotate(std::to_string(id)).ok());
    EXPECT_EQ(gate.LatestVersion(id), 1u) << id << ": this server has not seen version 2 yet";
  }
  ASSERT_TRUE(svc->RefreshVersions().ok());
  for (unsigned id : {1u, 1023u, 1024u, 70000u}) {
    EXPECT_EQ(gate.LatestVersion(id), 2u) << id;
    unsigned char buf[32];
    unsigned len = sizeof buf;
    EXPECT_EQ(gate.GetKey(id, 2, buf, &len), 0u) << id;
  }
  // This server's own rotation moves it too.
  ASSERT_TRUE(svc->Rotate("1").ok());
  EXPECT_EQ(gate.LatestVersion(1), 3u);
}

// InnoDB's rule under concurrency (TSan: scripts/sanitize.sh): while
// versions are made, every thread only ever sees the latest version grow, and
// every version it is told about has its bytes here.
TEST_F(KeyGateTest, ReadersDuringRotationsSeeVersionsGrowAndEachOneServed) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get());
  ASSERT_EQ(gate.LatestVersion(1), 1u);
  constexpr unsigned kRotations = 40;
  std::atomic<bool> stop{false};
  std::atomic<long> backwards{0}, unserved{0}, reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      unsigned last = 0;
      while (!stop.load()) {
        const unsigned v = gate.LatestVersion(1);
        if (v == kKeyVersionInvalid || v < last) ++backwards;
        last = v;
        unsigned char buf[32];
        unsigned len = sizeof buf;
        if (gate.GetKey(1, v, buf, &len) != 0) ++unserved;
        ++reads;
      }
      if (gate.LatestVersion(1) != kRotations + 1) ++backwards;
    });
  }
  for (unsigned i = 0; i < kRotations; ++i) ASSERT_TRUE(svc->Rotate("1").ok());
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(unserved.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

TEST_F(KeyGateTest, BackupToolDoesNotCreateKeys) {
  auto svc = NewService();
  KeyGate gate = NewGate(svc.get(), /*create=*/false);
  EXPECT_EQ(gate.LatestVersion(3), kKeyVersionInvalid);
  EXPECT_EQ(locker_.stores.load(), 0);
}

}  // namespace
}  // namespace keyring_locker::mariadb

namespace keyring_locker::mariadb {
namespace {

// Creating policy, cap, client warnings, pauses and recovery (issue #16).
class KeyGatePolicyTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> NewService() {
    KeyScopeOptions s;
    s.scope = "gate/policy";
    CacheOptions c;
    return std::make_unique<KeyService>(keyring_locker::testing::FakeKeyLocker(&locker_, s), s, c, nullptr, "test:1",
                                        std::chrono::milliseconds(0));
  }
  KeyGateOptions Options() {
    KeyGateOptions o;
    o.retry_after = std::chrono::milliseconds(200);
    o.log_created = [this](const std::string& m) { created_.push_back(m); };
    o.client_warning = [this](const std::string& m, bool also_log) {
      warned_.push_back(m);
      if (also_log) ++logged_count_;
    };
    return o;
  }
  FakeLocker locker_;
  std::vector<std::string> logged_, created_, warned_;
  int logged_count_ = 0;
};

TEST_F(KeyGatePolicyTest, IdOutsideThePolicyIsRefusedWithTheFixAndNothingIsStored) {
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.create_policy = *CreatePolicy::Parse("1-2");
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  EXPECT_EQ(gate.LatestVersion(1), 1u);
  EXPECT_EQ(created_.size(), 1u);
  EXPECT_NE(created_.back().find("created key 1 version 1"), std::string::npos) << created_.back();
  const int stores = locker_.stores.load();
  EXPECT_EQ(gate.LatestVersion(7), kKeyVersionInvalid);
  EXPECT_EQ(locker_.stores.load(), stores);
  ASSERT_EQ(warned_.size(), 1u);
  EXPECT_NE(warned_[0].find("key id 7 is not in the locker and keyring_locker_create_keys=1-2 does not allow "
                            "creating it; create it with 'keyring-locker --config FILE ensure 7'"),
            std::string::npos)
      << warned_[0];
  EXPECT_TRUE(logged_.empty());  // the warning is the log line (client_warning also_log)
  EXPECT_EQ(logged_count_, 1);
  // Created by an operator (the CLI): served at the next try.
  auto cli = NewService();
  ASSERT_TRUE(cli->EnsureKey("7").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(gate.LatestVersion(7), 1u);
  EXPECT_EQ(created_.size(), 1u);  // the gate created nothing more
}

TEST_F(KeyGatePolicyTest, OffCreatesNothingButServesExistingKeys) {
  auto writer = NewService();
  ASSERT_TRUE(writer->EnsureKey("5").ok());
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.create_policy = CreatePolicy::Off();
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  EXPECT_EQ(gate.LatestVersion(5), 1u);
  EXPECT_EQ(gate.LatestVersion(6), kKeyVersionInvalid);
  ASSERT_FALSE(warned_.empty());
  EXPECT_NE(warned_.back().find("keyring_locker_create_keys=off"), std::string::npos);
}

TEST_F(KeyGatePolicyTest, CapStopsCreatingOnceTheScopeHoldsThatManyKeys) {
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.create_max = 3;
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  EXPECT_EQ(gate.LatestVersion(1), 1u);
  EXPECT_EQ(gate.LatestVersion(2), 1u);
  EXPECT_EQ(gate.LatestVersion(3), 1u);
  EXPECT_EQ(gate.LatestVersion(4), kKeyVersionInvalid);
  ASSERT_FALSE(warned_.empty());
  EXPECT_NE(warned_.back().find("already holds 3 keys, keyring_locker_create_keys_max=3"), std::string::npos)
      << warned_.back();
  EXPECT_EQ(created_.size(), 3u);
}

TEST_F(KeyGatePolicyTest, PausedRepeatsStillTellTheClientWhyButAreNotLogged) {
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.retry_after = std::chrono::seconds(30);
  o.create_policy = CreatePolicy::Off();
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  EXPECT_EQ(gate.LatestVersion(9), kKeyVersionInvalid);
  ASSERT_EQ(warned_.size(), 1u);
  EXPECT_EQ(logged_count_, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(gate.LatestVersion(9), kKeyVersionInvalid);  // inside the pause, after a second
  ASSERT_EQ(warned_.size(), 2u);
  EXPECT_EQ(warned_[1], warned_[0]);
  EXPECT_EQ(logged_count_, 1);
}

TEST_F(KeyGatePolicyTest, PauseAfterAnOutageEndsWhenTheLockerAnswersAgain) {
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.retry_after = std::chrono::seconds(30);
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  locker_.down = true;
  EXPECT_EQ(gate.LatestVersion(7), kKeyVersionInvalid);
  ASSERT_FALSE(warned_.empty());
  EXPECT_NE(warned_.back().find("UNAVAILABLE"), std::string::npos) << warned_.back();
  locker_.down = false;
  EXPECT_EQ(gate.LatestVersion(7), kKeyVersionInvalid);  // nothing answered yet: still paused
  EXPECT_EQ(svc->stats().health.failing, true);
  ASSERT_TRUE(svc->LatestVersionFromLocker("1").ok());  // what RecoveryProbe does
  EXPECT_EQ(svc->stats().health.failing, false);
  EXPECT_EQ(gate.LatestVersion(7), 1u);  // long before the 30 s pause ends
}

TEST_F(KeyGatePolicyTest, PauseAfterARefusalIsNotEndedByOtherAnswers) {
  auto svc = NewService();
  KeyGateOptions o = Options();
  o.retry_after = std::chrono::seconds(30);
  o.create_policy = CreatePolicy::Off();
  KeyGate gate(svc.get(), o, [this](const std::string& m) { logged_.push_back(m); });
  EXPECT_EQ(gate.LatestVersion(7), kKeyVersionInvalid);
  auto cli = NewService();
  ASSERT_TRUE(cli->EnsureKey("7").ok());
  ASSERT_TRUE(svc->LatestVersionFromLocker("1").ok());
  const int lists = locker_.lists.load();
  EXPECT_EQ(gate.LatestVersion(7), kKeyVersionInvalid);  // no locker request per call during the pause
  EXPECT_EQ(locker_.lists.load(), lists);
}

}  // namespace
}  // namespace keyring_locker::mariadb
