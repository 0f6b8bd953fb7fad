#include "keyring_backend/key_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

constexpr std::chrono::milliseconds kNoBudget{0};  // the fake locker answers in-process

using testing::FakeLocker;
using testing::LockerRef;

class KeyServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> NewService(const std::string& scope = "prod/db1") {
    KeyScopeOptions s;
    s.scope = scope;
    CacheOptions c;
    c.version_refresh = std::chrono::seconds(1);
    return std::make_unique<KeyService>(testing::FakeKeyLocker(&locker_, s), s, c, nullptr, "test:1", kNoBudget);
  }
  FakeLocker locker_;
};

TEST_F(KeyServiceTest, EnsureKeyCreatesVersionOneOnceAndServesItFromCache) {
  auto svc = NewService();
  auto v = svc->EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
  EXPECT_EQ(svc->LatestVersionCached("1"), 1u);
  EXPECT_EQ(locker_.stores.load(), 1);
  EXPECT_EQ(*svc->EnsureKey("1"), 1u);
  EXPECT_EQ(locker_.stores.load(), 1);  // never written twice
  auto k = svc->Get("1", 1);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ((*k)->bytes.size(), 32u);
  EXPECT_EQ(locker_.fetches.load(), 0);  // creation put it in the cache
}

TEST_F(KeyServiceTest, DocumentIsAnEnvelopeWithoutPlainKeyBytes) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("7").ok());
  nlohmann::json doc = locker_.Get("keyring_locker/prod/db1/keys/7/1");
  ASSERT_TRUE(doc.is_object()) << "document not at the documented path";
  EXPECT_EQ(doc["format"], "keyring_locker/2");
  EXPECT_EQ(doc["name"], "7");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["length"], 32);
  EXPECT_EQ(doc["origin"], "locker");
  auto key = svc->Get("7", 1);
  ASSERT_TRUE(key.ok());
  const std::string b64 = crypto::Base64Encode((*key)->bytes.data(), (*key)->bytes.size());
  EXPECT_EQ(doc.dump().find(b64), std::string::npos);
  EXPECT_TRUE(doc["wrapped"].get<std::string>().rfind("fake:v1:", 0) == 0);
}

TEST_F(KeyServiceTest, RestartedServiceGetsByteIdenticalKeysFromTheLocker) {
  crypto::SecureBuffer before;
  {
    auto svc = NewService();
    ASSERT_TRUE(svc->EnsureKey("1").ok());
    ASSERT_EQ(*svc->Rotate("1"), 2u);
    before = (*svc->Get("1", 2))->bytes.Clone();
  }
  auto svc = NewService();
  EXPECT_EQ(svc->LatestVersionCached("1"), 0u);
  ASSERT_TRUE(svc->RefreshVersions().ok());
  EXPECT_EQ(svc->LatestVersionCached("1"), 2u);
  auto after = svc->Get("1", 2);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after)->bytes.Equals(before));
  EXPECT_FALSE((*svc->Get("1", 1))->bytes.Equals(before));
}

TEST_F(KeyServiceTest, CachedKeysKeepBeingServedWhileTheLockerIsDown) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  ASSERT_TRUE(svc->Get("1", 1).ok());
  locker_.down = true;
  EXPECT_TRUE(svc->Get("1", 1).ok());
  EXPECT_EQ(svc->LatestVersionCached("1"), 1u);
  EXPECT_FALSE(svc->RefreshVersions().ok());
  EXPECT_EQ(svc->LatestVersionCached("1"), 1u);  // a failed refresh takes nothing away
  EXPECT_EQ(svc->stats().stale_serves, 1u);
  auto miss = svc->Get("1", 99);
  EXPECT_EQ(miss.status().code(), Code::kUnavailable);
  EXPECT_NE(svc->stats().last_error.find("down"), std::string::npos);
  locker_.down = false;
  EXPECT_TRUE(svc->RefreshVersions().ok());
}

TEST_F(KeyServiceTest, MissingKeyIsNotFound) {
  auto svc = NewService();
  EXPECT_EQ(svc->Get("nope", 1).status().code(), Code::kNotFound);
  EXPECT_EQ(svc->stats().locker_errors, 0u);  // not found is an answer, not an error
}

TEST_F(KeyServiceTest, ConcurrentRotationsOnTwoServersNeverOverwrite) {
  auto a = NewService();
  auto b = NewService();
  ASSERT_TRUE(a->EnsureKey("1").ok());
  std::vector<uint32_t> got(2);
  std::thread ta([&] { got[0] = *a->Rotate("1"); });
  std::thread tb([&] { got[1] = *b->Rotate("1"); });
  ta.join();
  tb.join();
  // Each server ends on a version that exists; no document was replaced.
  auto listed = locker_.List("keyring_locker/prod/db1/keys/1");
  ASSERT_TRUE(listed.ok());
  EXPECT_GE(listed->size(), 2u);
  EXPECT_LE(listed->size(), 3u);
  for (uint32_t v : got) EXPECT_TRUE(a->Get("1", v).ok());
  EXPECT_TRUE(a->Get("1", 2)->get()->bytes.Equals(b->Get("1", 2)->get()->bytes));
}

TEST_F(KeyServiceTest, ConcurrentMissesReachTheLockerOnce) {
  {
    auto creator = NewService();
    ASSERT_TRUE(creator->EnsureKey("1").ok());
  }
  auto svc = NewService();
  locker_.fetch_delay = std::chrono::milliseconds(50);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 32; ++i) threads.emplace_back([&] { ok += svc->Get("1", 1).ok(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 32);
  EXPECT_EQ(locker_.fetches.load(), 1);
}

TEST_F(KeyServiceTest, TamperedOrMovedDocumentsAreRefused) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  ASSERT_TRUE(svc->Rotate("1").ok());
  // Someone with KV write access copies version 1's document over version 3.
  nlohmann::json moved = locker_.Get("keyring_locker/prod/db1/keys/1/1");
  locker_.Put("keyring_locker/prod/db1/keys/1/3", moved);
  auto fresh = NewService();
  auto r = fresh->Get("1", 3);
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("version differs"), std::string::npos);
  nlohmann::json bad = locker_.Get("keyring_locker/prod/db1/keys/1/2");
  bad["wrapped"] = "fake:v1:AAAA";
  locker_.Put("keyring_locker/prod/db1/keys/1/2", bad);
  EXPECT_FALSE(fresh->Get("1", 2).ok());
}

TEST_F(KeyServiceTest, ServerSuppliedKeysAreStoredCreateOnly) {
  auto svc = NewService();
  crypto::SecureBuffer mine = crypto::SecureBuffer::CopyOf("0123456789abcdef", 16);
  ASSERT_TRUE(svc->Create("MySQLReplicationKey_x", 1, "AES", 16, &mine).ok());
  crypto::SecureBuffer other = crypto::SecureBuffer::CopyOf("fedcba9876543210", 16);
  EXPECT_EQ(svc->Create("MySQLReplicationKey_x", 1, "AES", 16, &other).code(), Code::kAlreadyExists);
  auto fresh = NewService();
  EXPECT_TRUE((*fresh->Get("MySQLReplicationKey_x", 1))->bytes.Equals(mine));
}

TEST_F(KeyServiceTest, OddSizedKeysUseLocalRandomWrappedByTheLocker) {
  auto svc = NewService();
  ASSERT_TRUE(svc->Create("odd", 1, "SECRET", 100, nullptr).ok());
  EXPECT_EQ(locker_.Get("keyring_locker/prod/db1/keys/odd/1")["origin"], "local-random");
  auto fresh = NewService();
  EXPECT_EQ((*fresh->Get("odd", 1))->bytes.size(), 100u);
  EXPECT_EQ((*fresh->Get("odd", 1))->type, "SECRET");
}

TEST_F(KeyServiceTest, ScopesDoNotSeeEachOthersKeys) {
  auto a = NewService("prod/db1");
  auto b = NewService("prod/db2");
  ASSERT_TRUE(a->EnsureKey("1").ok());
  EXPECT_EQ(b->Get("1", 1).status().code(), Code::kNotFound);
  ASSERT_TRUE(b->EnsureKey("1").ok());
  EXPECT_FALSE((*a->Get("1", 1))->bytes.Equals((*b->Get("1", 1))->bytes));
}

TEST_F(KeyServiceTest, NamesWithAnyCharacterRoundTripThroughOnePathSegment) {
  for (std::string name : {"INNODBKey-3e1c-1", "a/b", "..", ".", "with space", "%41", "ünï"}) {
    std::string enc = KeyService::EncodeName(name);
    EXPECT_EQ(enc.find('/'), std::string::npos) << name;
    EXPECT_NE(enc, "..");
    EXPECT_NE(enc, ".");
    EXPECT_EQ(*KeyService::DecodeName(enc), name);
  }
  EXPECT_FALSE(KeyService::DecodeName("%4").ok());
  EXPECT_FALSE(KeyService::DecodeName("%zz").ok());
  auto svc = NewService();
  ASSERT_TRUE(svc->Create("a/b", 1, "AES", 32, nullptr).ok());
  auto names = svc->ListNames();
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0], "a/b");
}

TEST_F(KeyServiceTest, ListKeyVersionsGivesMetadataOnly) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  ASSERT_TRUE(svc->Rotate("1").ok());
  ASSERT_TRUE(svc->EnsureKey("2").ok());
  auto list = svc->ListKeyVersions();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "1");
  EXPECT_EQ((*list)[1].version, 2u);
  EXPECT_EQ((*list)[2].name, "2");
  EXPECT_EQ((*list)[0].creator, "test:1");
  EXPECT_FALSE((*list)[0].created.empty());
}

TEST_F(KeyServiceTest, BackgroundRefreshPicksUpAnotherServersRotation) {
  auto a = NewService();
  auto b = NewService();
  ASSERT_TRUE(a->EnsureKey("1").ok());
  ASSERT_TRUE(b->RefreshVersions().ok());
  b->StartBackgroundRefresh();
  ASSERT_EQ(*a->Rotate("1"), 2u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (b->LatestVersionCached("1") != 2u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(b->LatestVersionCached("1"), 2u);
  b->StopBackgroundRefresh();
}

}  // namespace
}  // namespace keyring_locker

namespace keyring_locker {
namespace {

TEST(KeyServiceAuditTest, EveryLockerOperationIsAuditedWithoutKeyBytes) {
  testing::FakeLocker locker;
  char tmpl[] = "/tmp/klk_audit_ks.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/audit.log";
  AuditOptions ao;
  ao.path = path;
  ao.actor = "db1:42";
  auto audit = AuditLog::Open(ao);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  AuditLog* log = audit->get();
  KeyScopeOptions scope;
  scope.scope = "s";
  KeyService svc(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{}, std::move(audit).value(), "db1:42", kNoBudget);
  ASSERT_TRUE(svc.EnsureKey("1").ok());
  ASSERT_TRUE(svc.Rotate("1").ok());
  KeyService fresh(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{}, nullptr, "x", kNoBudget);
  auto key = fresh.Get("1", 2);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(svc.Get("1", 99).ok());
  log->Flush();
  AuditVerifyReport r = VerifyAuditLog(path);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_GE(r.lines, 4u);  // create v1, create v2, rotate v2, failed fetch v99
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"op\":\"rotate\""), std::string::npos);
  EXPECT_NE(text.find("NOT_FOUND"), std::string::npos);
  EXPECT_NE(text.find("db1:42"), std::string::npos);
  const auto& b = (*key)->bytes;
  EXPECT_EQ(text.find(crypto::Base64Encode(b.data(), b.size())), std::string::npos);
  EXPECT_EQ(text.find(crypto::HexEncode(b.data(), b.size())), std::string::npos);
  std::system((std::string("rm -rf ") + tmpl).c_str());
}

}  // namespace
}  // namespace keyring_locker

namespace keyring_locker {
namespace {

TEST(KeyServiceDamageTest, FieldsOfTheWrongTypeAreDataLossNotExceptions) {
  testing::FakeLocker locker;
  KeyScopeOptions scope;
  scope.scope = "s";
  KeyService writer(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{}, nullptr, "w", kNoBudget);
  ASSERT_TRUE(writer.EnsureKey("1").ok());
  const std::string path = testing::FakeDocumentPath(scope, "1", 1);
  const nlohmann::json good = locker.Get(path);
  for (const char* field : {"format", "type", "wrapped", "length", "name", "version"}) {
    nlohmann::json bad = good;
    bad[field] = nlohmann::json::array({1, 2});
    locker.Put(path, bad);
    KeyService reader(testing::FakeKeyLocker(&locker, scope), scope, CacheOptions{}, nullptr, "r", kNoBudget);
    auto r = reader.Get("1", 1);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << field << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
    auto listed = reader.ListKeyVersions();  // metadata listing tolerates it too
    EXPECT_TRUE(listed.ok()) << field << ": " << listed.status().ToString();
  }
}

}  // namespace
}  // namespace keyring_locker

namespace keyring_locker {
namespace {

// Issue #16: an error has a time, the first success after a run of
// failures clears it and is reported once.
TEST(KeyServiceHealthTest, RecoveryClearsTheErrorAndIsReportedOnce) {
  testing::FakeLocker locker;
  KeyScopeOptions s;
  s.scope = "prod/health";
  auto svc = std::make_unique<KeyService>(testing::FakeKeyLocker(&locker, s), s, CacheOptions{}, nullptr, "test:1",
                                          std::chrono::milliseconds(0));
  std::vector<std::string> recovered;
  svc->SetRecoveryObserver([&](const std::string& m) { recovered.push_back(m); });
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  EXPECT_FALSE(svc->stats().health.failing);
  EXPECT_TRUE(recovered.empty());
  const uint64_t recoveries = svc->LockerRecoveries();

  locker.down = true;
  EXPECT_FALSE(svc->LatestVersionFromLocker("1").ok());
  EXPECT_FALSE(svc->Get("1", 5).ok());
  KeyServiceStats down = svc->stats();
  EXPECT_TRUE(down.health.failing);
  EXPECT_TRUE(down.health.unreachable);
  EXPECT_EQ(down.health.failed_in_run, 2u);
  EXPECT_FALSE(down.last_error.empty());
  EXPECT_EQ(down.health.last_error_time.size(), 20u) << down.health.last_error_time;  // 2026-01-02T03:04:05Z
  EXPECT_EQ(svc->LockerRecoveries(), recoveries);

  locker.down = false;
  ASSERT_TRUE(svc->LatestVersionFromLocker("1").ok());
  KeyServiceStats up = svc->stats();
  EXPECT_FALSE(up.health.failing);
  EXPECT_TRUE(up.last_error.empty());
  EXPECT_TRUE(up.health.last_error_time.empty());
  EXPECT_EQ(svc->LockerRecoveries(), recoveries + 1);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_NE(recovered[0].find("locker reachable again after"), std::string::npos) << recovered[0];
  EXPECT_NE(recovered[0].find("(2 failed requests"), std::string::npos) << recovered[0];
  ASSERT_TRUE(svc->LatestVersionFromLocker("1").ok());
  EXPECT_EQ(recovered.size(), 1u);  // once per recovery
  EXPECT_EQ(svc->KnownKeyCount(), 1u);
}

// Servers restarted at once must not refresh in the same instant forever:
// the first tick is spread over the second half of the interval, never later.
TEST(KeyServiceRefreshJitter, FirstTickIsSpreadOverTheSecondHalfOfTheInterval) {
  const std::chrono::milliseconds interval(60000);
  std::chrono::milliseconds low = interval, high(0);
  for (int i = 0; i < 2000; ++i) {
    const auto d = KeyService::FirstRefreshDelay(std::chrono::seconds(60));
    ASSERT_GE(d.count(), interval.count() / 2);
    ASSERT_LE(d.count(), interval.count());
    low = std::min(low, d);
    high = std::max(high, d);
  }
  EXPECT_LT(low.count(), 33000) << "2000 draws should reach near the half interval";
  EXPECT_GT(high.count(), 57000) << "2000 draws should reach near the whole interval";
  const auto shortest = KeyService::FirstRefreshDelay(std::chrono::seconds(1));
  EXPECT_GE(shortest.count(), 500);
  EXPECT_LE(shortest.count(), 1000);
}

}  // namespace
}  // namespace keyring_locker
