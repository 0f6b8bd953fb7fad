#include "plugin/mariadb/key_metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/http/operation_deadline.h"
#include "plugin/mariadb/key_gate.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker::mariadb {
namespace {

using keyring_locker::testing::FakeLocker;
using keyring_locker::testing::LockerRef;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::map<std::string, std::string> AsMap(const std::vector<KeyMetadataRow>& rows) {
  std::map<std::string, std::string> m;
  for (const auto& r : rows) m[r.name] = r.value;
  return m;
}

class KeyMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeyScopeOptions s;
    s.scope = "meta/test";
    svc_ = std::make_unique<KeyService>(keyring_locker::testing::FakeKeyLocker(&locker_, s), s, CacheOptions{}, nullptr,
                                        "host-a:42", std::chrono::milliseconds(0));
  }
  // Another server of the scope, on the same locker: its keys reach svc_
  // through a refresh (versions listed, records not read).
  std::unique_ptr<KeyService> OtherServer() {
    KeyScopeOptions s;
    s.scope = "meta/test";
    return std::make_unique<KeyService>(keyring_locker::testing::FakeKeyLocker(&locker_, s), s, CacheOptions{},
                                        nullptr, "host-b:7", std::chrono::milliseconds(0));
  }
  // Key 9 by the other server, known to svc_ only from a listing; SHOW
  // STATUS asked for the rows, so the next snapshot reads its record.
  void KeyOfAnotherServerToRead(KeyMetadata& meta) {
    auto other = OtherServer();
    ASSERT_TRUE(other->EnsureKey("9").ok());
    ASSERT_TRUE(svc_->RefreshVersions().ok());
    meta.Shown();
  }
  FakeLocker locker_;
  std::unique_ptr<KeyService> svc_;
};

TEST(KeyMetadataRowsTest, OneRowPerVersionAndALatestRowPerKey) {
  std::vector<KeyVersionInfo> versions(3);
  versions[0] = {"1", 1, "AES", 32, "2026-01-01T00:00:00Z", "db1:10", "locker"};
  versions[1] = {"1", 2, "AES", 32, "2026-02-01T00:00:00Z", "db2:20", "locker"};
  versions[2] = {"7", 1, "AES", 16, "", "", ""};
  auto rows = KeyMetadataRows(versions, "vault https://v:8200");
  ASSERT_EQ(rows.size(), 5u);
  auto m = AsMap(rows);
  EXPECT_EQ(m["1_v1"],
            "created=2026-01-01T00:00:00Z origin=locker creator=db1:10 type=AES length=32 locker=vault https://v:8200");
  EXPECT_THAT(m["1_v2"], HasSubstr("creator=db2:20"));
  EXPECT_EQ(m["1_latest"], "2");
  EXPECT_EQ(m["7_v1"], "created=unknown origin=unknown creator=unknown type=AES length=16 locker=vault https://v:8200");
  EXPECT_EQ(m["7_latest"], "1");
  // Latest row follows the versions of its key, so SHOW STATUS reads in order.
  EXPECT_EQ(rows[2].name, "1_latest");
}

TEST(KeyMetadataRowsTest, NamesOutsideTheSafeSetAreEncoded) {
  std::vector<KeyVersionInfo> versions(1);
  versions[0] = {"a b/c", 3, "AES", 32, "t", "c", "locker"};
  auto m = AsMap(KeyMetadataRows(versions, "x"));
  EXPECT_EQ(m.count("a%20b%2Fc_v3"), 1u);
  EXPECT_EQ(m["a%20b%2Fc_latest"], "3");
}

TEST_F(KeyMetadataTest, RefreshListsTheLockerAndFollowsRotation) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  ASSERT_TRUE(svc_->EnsureKey("2").ok());
  KeyMetadata meta(svc_.get(), "fake-locker", std::chrono::seconds(0));
  EXPECT_TRUE(meta.Current()->rows.empty());
  EXPECT_EQ(meta.Current()->taken, std::chrono::system_clock::time_point{});

  ASSERT_TRUE(meta.Refresh().ok());
  auto m = AsMap(meta.Current()->rows);
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(m["1_latest"], "1");
  EXPECT_THAT(m["2_v1"], HasSubstr("creator=host-a:42"));
  EXPECT_THAT(m["2_v1"], HasSubstr("locker=fake-locker"));
  EXPECT_NE(meta.Current()->taken, std::chrono::system_clock::time_point{});

  ASSERT_EQ(*svc_->Rotate("1"), 2u);
  EXPECT_EQ(AsMap(meta.Current()->rows)["1_latest"], "1");  // snapshots only change on Refresh
  ASSERT_TRUE(meta.Refresh().ok());
  m = AsMap(meta.Current()->rows);
  EXPECT_EQ(m["1_latest"], "2");
  EXPECT_EQ(m.count("1_v2"), 1u);
}

TEST_F(KeyMetadataTest, SnapshotsAskTheLockerForNothingButRecordsNotReadYet) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(0));
  auto other = OtherServer();
  ASSERT_TRUE(other->EnsureKey("9").ok());
  ASSERT_TRUE(svc_->RefreshVersions().ok());
  locker_.down = true;  // any request would fail the snapshot
  ASSERT_TRUE(meta.Refresh().ok());
  auto m = AsMap(meta.Current()->rows);
  EXPECT_THAT(m["1_v1"], HasSubstr("creator=host-a:42"));  // written by svc_: known without a read
  EXPECT_THAT(m["9_v1"], StartsWith("not read yet"));
  EXPECT_EQ(m["9_latest"], "1");
  locker_.down = false;
  meta.Shown();
  ASSERT_TRUE(meta.Refresh().ok());
  EXPECT_THAT(AsMap(meta.Current()->rows)["9_v1"], HasSubstr("creator=host-b:7"));
  locker_.down = true;  // read once: never again
  ASSERT_TRUE(meta.Refresh().ok());
  EXPECT_THAT(AsMap(meta.Current()->rows)["9_v1"], HasSubstr("creator=host-b:7"));
}

TEST_F(KeyMetadataTest, RowsNeverCarryKeyBytes) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  auto key = svc_->Get("1", 1);
  ASSERT_TRUE(key.ok());
  const auto& bytes = (*key)->bytes;
  const std::string hex = crypto::HexEncode(bytes.data(), bytes.size());
  const std::string b64 = crypto::Base64Encode(bytes.data(), bytes.size());
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(0));
  ASSERT_TRUE(meta.Refresh().ok());
  for (const auto& row : meta.Current()->rows) {
    EXPECT_THAT(row.value, Not(HasSubstr(hex)));
    EXPECT_THAT(row.value, Not(HasSubstr(b64)));
  }
}

TEST_F(KeyMetadataTest, FailedRefreshKeepsRowsAndReportsTheError) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(0));
  ASSERT_TRUE(meta.Refresh().ok());
  auto before = meta.Current();
  // A snapshot reads no more than the records not read yet: only those can fail.
  KeyOfAnotherServerToRead(meta);
  locker_.down = true;
  EXPECT_FALSE(meta.Refresh().ok());
  auto after = meta.Current();
  EXPECT_EQ(AsMap(after->rows), AsMap(before->rows));
  EXPECT_EQ(after->taken, before->taken);
  EXPECT_FALSE(after->last_error.empty());
  // A reader still holding the old snapshot sees it unchanged.
  EXPECT_TRUE(before->last_error.empty());
  locker_.down = false;
  ASSERT_TRUE(meta.Refresh().ok());
  EXPECT_TRUE(meta.Current()->last_error.empty());
}

TEST_F(KeyMetadataTest, RequestRefreshIsServedByTheBackgroundThread) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  // An hour-long interval: only the request can cause the listing.
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(3600));
  EXPECT_TRUE(meta.Current()->rows.empty());
  meta.RequestRefresh();
  for (int i = 0; i < 1000 && meta.Current()->rows.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(AsMap(meta.Current()->rows)["1_latest"], "1");
}

// After a statement that used up its budget the listing is left to the
// background thread (MTR fault_sweeps waits for its rows): no I/O here, so
// no error lands in the rows even with the locker down.
TEST_F(KeyMetadataTest, RefreshOrHandOverWithNoBudgetLeftDoesNoIo) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(0));  // no thread: nothing else lists
  KeyOfAnotherServerToRead(meta);
  locker_.down = true;  // a read on this thread would fail and record the error
  {
    OperationDeadline spent(std::chrono::milliseconds(1));
    (void)OperationDeadline::Current();  // starts its clock
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(meta.RefreshOrHandOver().code(), Code::kDeadlineExceeded);
  }
  EXPECT_TRUE(meta.Current()->last_error.empty());
  EXPECT_TRUE(meta.Current()->rows.empty());
  EXPECT_FALSE(meta.RefreshOrHandOver().ok());  // with budget left it reads here, and fails
  EXPECT_FALSE(meta.Current()->last_error.empty());
  locker_.down = false;
  EXPECT_TRUE(meta.RefreshOrHandOver().ok());
  EXPECT_EQ(AsMap(meta.Current()->rows)["1_latest"], "1");
}

// SHOW STATUS threads read pinned snapshots while rotations refresh them:
// every snapshot a reader sees must be whole (latest row = highest version row).
TEST_F(KeyMetadataTest, ReadersSeeWholeSnapshotsWhileRefreshing) {
  ASSERT_TRUE(svc_->EnsureKey("1").ok());
  KeyMetadata meta(svc_.get(), "fake", std::chrono::seconds(0));
  ASSERT_TRUE(meta.Refresh().ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto snap = meta.Current();
        unsigned highest = 0;
        std::string latest;
        for (const auto& row : snap->rows) {
          if (row.name == "1_latest") latest = row.value;
          else highest = std::max(highest, static_cast<unsigned>(std::stoul(row.name.substr(3))));
        }
        if (latest != std::to_string(highest)) ++torn;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(svc_->Rotate("1").ok());
    ASSERT_TRUE(meta.Refresh().ok());
  }
  // On a loaded machine the readers may not have run yet; let each of them read once.
  for (int i = 0; i < 1000 && reads.load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(AsMap(meta.Current()->rows)["1_latest"], "21");
}

TEST_F(KeyMetadataTest, GateReportsCreatedAndNewerVersionsOnce) {
  std::atomic<int> calls{0};
  KeyGateOptions o;
  o.on_new_version = [&calls] { ++calls; };
  KeyGate gate(svc_.get(), o, [](const std::string&) {});
  ASSERT_EQ(gate.LatestVersion(9), 1u);  // created
  EXPECT_EQ(calls.load(), 1);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(gate.LatestVersion(9), 1u);
  EXPECT_EQ(calls.load(), 1);  // served from the cache: no new version
  ASSERT_EQ(*svc_->Rotate("9"), 2u);
  ASSERT_EQ(gate.LatestVersion(9), 2u);
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace keyring_locker::mariadb

namespace keyring_locker::mariadb {
namespace {

TEST(KeyMetadataSummaryTest, CountsKeysAndVersionsAndFindsTheOldestLatest) {
  std::vector<KeyVersionInfo> v(4);
  v[0].name = "1", v[0].version = 1, v[0].created = "2020-01-01T00:00:00Z";
  v[1].name = "1", v[1].version = 2, v[1].created = "2025-06-01T00:00:00Z";
  v[2].name = "2", v[2].version = 1, v[2].created = "2024-01-01T00:00:00Z";
  v[3].name = "7", v[3].version = 1, v[3].created = "";  // older tools: unknown
  KeyMetadataSummary s = SummarizeKeyVersions(v);
  EXPECT_EQ(s.keys, 3u);
  EXPECT_EQ(s.versions, 4u);
  EXPECT_EQ(s.oldest_latest_key, "2");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(s.oldest_latest), 1704067200);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(s.newest_latest), 1748736000);
  EXPECT_EQ(SummarizeKeyVersions({}).keys, 0u);
}

}  // namespace
}  // namespace keyring_locker::mariadb
