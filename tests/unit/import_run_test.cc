// The writer: dry run writes nothing, --apply writes create-only, a second
// run is a no-op, a version present with other bytes is a conflict that
// leaves the locker's key alone, and a fresh service reads back every key.
#include <gtest/gtest.h>

#include "keyring_backend/key_service.h"
#include "tests/support/fake_locker.h"
#include "tools/import/file_key_management.h"
#include "tools/import/import_run.h"
#include "tools/import/mysql_keyring_file.h"

namespace keyring_locker::import {
namespace {

using testing::FakeKeyLocker;
using testing::FakeLocker;

class ImportRunTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> Service(KeyServer server) {
    KeyScopeOptions scope;
    scope.scope = "prod/db1";
    scope.rules.server = server;
    return std::make_unique<KeyService>(FakeKeyLocker(&locker_, scope), scope, CacheOptions(), nullptr, "test:1",
                                        std::chrono::milliseconds(0));
  }
  FakeLocker locker_;
};

const std::string kFile = "1;00112233445566778899aabbccddeeff\n2;" + std::string(64, 'a') + "\n7;" +
                          std::string(48, '5') + "\n";

TEST_F(ImportRunTest, DryRunWritesNothingApplyWritesAndASecondRunFindsAllPresent) {
  auto src = ParseFileKeyManagement(kFile, {});
  ASSERT_TRUE(src.ok());
  auto keys = Service(KeyServer::kMariaDb);
  auto dry = RunImport(*keys, *src, {});
  ASSERT_EQ(dry.size(), 3u);
  for (const auto& r : dry) EXPECT_EQ(r.outcome, Outcome::kWouldWrite) << r.name << " " << r.detail;
  EXPECT_EQ(*keys->LatestVersionFromLocker("1"), 0u);

  ImportRunOptions apply;
  apply.apply = true;
  size_t steps = 0;
  apply.on_item = [&] { ++steps; };
  auto done = RunImport(*keys, *src, apply);
  EXPECT_EQ(steps, 3u);
  for (const auto& r : done) EXPECT_EQ(r.outcome, Outcome::kWritten) << r.name << " " << r.detail;
  EXPECT_EQ(done[0].fingerprint.size(), 16u);

  auto fresh = Service(KeyServer::kMariaDb);
  VerifyWritten(*fresh, *src, done);
  for (const auto& r : done) EXPECT_EQ(r.outcome, Outcome::kWritten) << r.detail;
  auto k7 = fresh->Get("7", 1);
  ASSERT_TRUE(k7.ok());
  EXPECT_TRUE((*k7)->bytes.Equals(src->items[2].bytes));
  EXPECT_TRUE(Summarize(done).ok());

  auto again = RunImport(*Service(KeyServer::kMariaDb), *src, apply);
  for (const auto& r : again) EXPECT_EQ(r.outcome, Outcome::kPresent) << r.name;
  EXPECT_EQ(Summarize(again).present, 3u);
}

TEST_F(ImportRunTest, AVersionPresentWithOtherBytesIsAConflictAndIsNotOverwritten) {
  auto keys = Service(KeyServer::kMariaDb);
  ASSERT_EQ(*keys->EnsureKey("2"), 1u);  // a random key already at 2 v1
  auto before = keys->Get("2", 1);
  ASSERT_TRUE(before.ok());
  auto src = ParseFileKeyManagement(kFile, {});
  ImportRunOptions apply;
  apply.apply = true;
  auto r = RunImport(*keys, *src, apply);
  EXPECT_EQ(r[0].outcome, Outcome::kWritten);
  EXPECT_EQ(r[1].outcome, Outcome::kConflict);
  EXPECT_NE(r[1].detail.find("nothing was overwritten"), std::string::npos);
  EXPECT_FALSE(Summarize(r).ok());
  auto after = Service(KeyServer::kMariaDb)->Get("2", 1);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after)->bytes.Equals((*before)->bytes));
}

TEST_F(ImportRunTest, FailedSourceItemsAreReportedAndNeverWritten) {
  auto src = ParseFileKeyManagement("1;00112233445566778899aabbccddeeff\n3;abc\n", {});
  ASSERT_TRUE(src.ok());
  auto keys = Service(KeyServer::kMariaDb);
  ImportRunOptions apply;
  apply.apply = true;
  auto r = RunImport(*keys, *src, apply);
  EXPECT_EQ(r[1].outcome, Outcome::kFailed);
  EXPECT_EQ(Summarize(r).failed, 1u);
  EXPECT_EQ(*keys->LatestVersionFromLocker("3"), 0u);
}

TEST_F(ImportRunTest, MysqlKeysBecomeLiveGenerationsTheAdapterFetches) {
  crypto::SecureBuffer master(32), secret(7);
  master.data()[0] = 0x42;
  secret.data()[6] = 0x17;
  auto src = ParseMysqlKeyringFile(BuildMysqlKeyringFile(
      {{"INNODBKey-uuid-1", "AES", "", &master}, {"pw", "SECRET", "root", &secret}}));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto keys = Service(KeyServer::kMySql);
  ImportRunOptions apply;
  apply.apply = true;
  auto r = RunImport(*keys, *src, apply);
  ASSERT_EQ(r.size(), 2u);
  for (const auto& x : r) EXPECT_EQ(x.outcome, Outcome::kWritten) << x.name << " " << x.detail;
  EXPECT_EQ(r[0].version, 1u);
  auto fresh = Service(KeyServer::kMySql);
  VerifyWritten(*fresh, *src, r);
  for (const auto& x : r) EXPECT_EQ(x.outcome, Outcome::kWritten) << x.detail;
  auto live = fresh->GetLive("root/pw");
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE((*live)->bytes.Equals(secret));
  EXPECT_EQ((*live)->type, "SECRET");
  // Idempotent: a second run stores no new generation.
  auto again = RunImport(*Service(KeyServer::kMySql), *src, apply);
  for (const auto& x : again) EXPECT_EQ(x.outcome, Outcome::kPresent);
  EXPECT_EQ(*fresh->LatestVersionFromLocker("INNODBKey-uuid-1"), 1u);
}

}  // namespace
}  // namespace keyring_locker::import
