#include "plugin/mariadb/datadir_marker.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/fifo_util.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker::mariadb {
namespace {

class MarkerTest : public keyring_locker::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = dir_ + "/" + kMarkerFileName;
    id_.fields = {{"namespace", ""}, {"kv_mount", "secret"}, {"prefix", "keyring_locker"}, {"scope", "prod/db1"}};
    id_.urls = "https://v1:8200";
  }
  std::string path_;
  ScopeIdentity id_;
};

TEST_F(MarkerTest, FreshDatadirAsksForAMarker) {
  bool write = false;
  ASSERT_TRUE(CheckMarker(path_, id_, false, &write).ok());
  EXPECT_TRUE(write);
}

TEST_F(MarkerTest, RoundTripAndSameScopeStarts) {
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  auto read = ReadMarker(path_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->SameKeys(id_));
  bool write = true;
  ASSERT_TRUE(CheckMarker(path_, id_, true, &write).ok());
  EXPECT_FALSE(write);
}

TEST_F(MarkerTest, AnotherUrlIsTheSameKeys) {
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  ScopeIdentity moved = id_;
  moved.urls = "https://v2:8200";
  bool write = false;
  EXPECT_TRUE(CheckMarker(path_, moved, true, &write).ok());
}

TEST_F(MarkerTest, DifferentScopeOrPrefixOrMountIsRefusedNamingBoth) {
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  for (size_t field = 0; field < id_.fields.size(); ++field) {
    ScopeIdentity other = id_;
    other.fields[field].second = "other";
    bool write = false;
    Status s = CheckMarker(path_, other, true, &write);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kFailedPrecondition);
    EXPECT_NE(s.message().find("\"other\""), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(path_), std::string::npos) << s.message();
  }
}

// A marker written before the backend named the fields (the same four
// fields, in nlohmann's alphabetical order) still binds the datadir, and
// the message lists the fields in the order they were written.
TEST_F(MarkerTest, MarkerOfEarlierVersionsIsTheSameKeys) {
  std::ofstream(path_) << R"({"format":"keyring_locker-datadir/1","kv_mount":"secret","namespace":"",)"
                          R"("note":"x","prefix":"keyring_locker","scope":"prod/db1","urls":"https://v1:8200",)"
                          R"("written":"2026-01-01T00:00:00Z"})";
  auto read = ReadMarker(path_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->SameKeys(id_));
  EXPECT_EQ(read->urls, "https://v1:8200");
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  EXPECT_EQ(ReadMarker(path_)->Describe(), "namespace=\"\" kv_mount=\"secret\" prefix=\"keyring_locker\" scope=\"prod/db1\"");
}

TEST_F(MarkerTest, AFieldMoreOrLessIsOtherKeys) {
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  ScopeIdentity more = id_, less = id_;
  more.fields.emplace_back("store", "kmip");
  less.fields.pop_back();
  bool write = false;
  EXPECT_EQ(CheckMarker(path_, more, true, &write).code(), Code::kFailedPrecondition);
  EXPECT_EQ(CheckMarker(path_, less, true, &write).code(), Code::kFailedPrecondition);
}

TEST_F(MarkerTest, EmptyScopeWithMarkerIsRefused) {
  ASSERT_TRUE(WriteMarker(path_, id_).ok());
  bool write = false;
  Status s = CheckMarker(path_, id_, false, &write);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no keys"), std::string::npos) << s.message();
}

TEST_F(MarkerTest, DamagedMarkerIsDataLoss) {
  std::ofstream(path_) << "{not json";
  bool write = false;
  Status s = CheckMarker(path_, id_, true, &write);
  EXPECT_EQ(s.code(), Code::kDataLoss);
}

// Issue #15: the marker was read with std::ifstream, which blocks on a FIFO
// until a writer appears: the server start hung. Now a clear refusal.
TEST_F(MarkerTest, FifoAsMarkerIsRefusedWithoutBlocking) {
  keyring_locker::testing::Fifo fifo(path_, 0644);
  bool write = false;
  Status s = keyring_locker::testing::WithinBoundedTime(
      fifo, [&] { return CheckMarker(path_, id_, true, &write); });
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("datadir marker '" + path_ + "' is a FIFO"), std::string::npos)
      << s.message();
  EXPECT_FALSE(write);
}

TEST_F(MarkerTest, MarkerWithANulByteIsDamaged) {
  std::ofstream(path_) << std::string("{\"format\":\"x\"}\0junk", 19);
  bool write = false;
  Status s = CheckMarker(path_, id_, true, &write);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_NE(s.message().find("NUL byte at byte offset 14"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace keyring_locker::mariadb

namespace keyring_locker::mariadb {
namespace {

TEST(DatadirMarkerCreateKeysTest, RecordedDefaultIsReadBackAndNotCompared) {
  const std::string path = ::testing::TempDir() + "/klk_marker_create_keys";
  std::remove(path.c_str());
  ScopeIdentity id;
  id.fields = {{"prefix", "keyring_locker"}, {"scope", "prod/db1"}};
  id.urls = "https://v1:8200";
  id.create_keys_default = "1-2";
  ASSERT_TRUE(WriteMarker(path, id).ok());
  ScopeIdentity configured = id;
  configured.create_keys_default.clear();
  bool write = true;
  std::string recorded;
  ASSERT_TRUE(CheckMarker(path, configured, true, &write, &recorded).ok());
  EXPECT_FALSE(write);
  EXPECT_EQ(recorded, "1-2");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace keyring_locker::mariadb
