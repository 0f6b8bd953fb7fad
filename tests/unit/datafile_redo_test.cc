// Redo log headers: MariaDB 10.8+ (key 1 and its version) and MySQL 8.0
// (encryption information block), damaged and cut inputs.
#include <gtest/gtest.h>

#include "datafile/redo.h"
#include "tests/unit/datafile_test_pages.h"

namespace keyring_locker::datafile {
namespace {

using namespace datafile_test;
ByteView View(const std::vector<uint8_t>& b) { return ByteView{b.data(), b.size()}; }

TEST(DatafileRedo, MariaEncryptedAndPlain) {
  auto h = ParseRedoHeader(View(MariaRedo(3)));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->mysql);
  EXPECT_TRUE(h->encrypted);
  EXPECT_EQ(h->key_id, 1u);
  EXPECT_EQ(h->key_version, 3u);
  EXPECT_EQ(h->creator, "MariaDB 10.11.6");
  EXPECT_EQ(h->start_lsn, 12288u);
  h = ParseRedoHeader(View(MariaRedo(0)));
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->encrypted);
}

// MariaDB 10.11.15+ (MDEV-36024): encrypted logs get their own format id;
// the bytes below are the header Debian's mariadbd 10.11 wrote in the MTR run.
TEST(DatafileRedo, MariaEncryptedFormatOf1011_15) {
  auto b = MariaRedo(2);
  Be32(b, 0, 0xf09f979d);
  Be32(b, 508, crypto::Crc32c(b.data(), 508));
  auto h = ParseRedoHeader(View(b));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->encrypted);
  EXPECT_EQ(h->key_version, 2u);
  // That format without encryption information is damage, not a plain log.
  b = MariaRedo(0);
  Be32(b, 0, 0xf09f979d);
  Be32(b, 508, crypto::Crc32c(b.data(), 508));
  EXPECT_EQ(ParseRedoHeader(View(b)).status().code(), Code::kDataLoss);
}

TEST(DatafileRedo, MariaDamage) {
  auto b = MariaRedo(3);
  b[52] ^= 1;  // the checksum no longer matches
  auto h = ParseRedoHeader(View(b));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kDataLoss);
  EXPECT_NE(h.status().message().find("checksum"), std::string::npos);

  b = MariaRedo(3);
  Be32(b, 48, 2);
  Be32(b, 508, crypto::Crc32c(b.data(), 508));
  EXPECT_EQ(ParseRedoHeader(View(b)).status().code(), Code::kDataLoss);  // only key 1 is ever written

  b = MariaRedo(3);
  Be32(b, 52, 0);
  Be32(b, 508, crypto::Crc32c(b.data(), 508));
  EXPECT_EQ(ParseRedoHeader(View(b)).status().code(), Code::kDataLoss);

  b = MariaRedo(0);
  Be32(b, 0, 0x50485953);  // 10.5 format
  auto old = ParseRedoHeader(View(b));
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("older than 10.8"), std::string::npos);
}

TEST(DatafileRedo, MySql) {
  auto h = ParseRedoHeader(View(MySqlRedo(6, true)));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->mysql);
  ASSERT_TRUE(h->mysql_info.has_value());
  EXPECT_EQ(MySqlMasterKeyName(*h->mysql_info), "INNODBKey-3e11fa47-71ca-11e1-9e33-c80aa9429562-3");
  h = ParseRedoHeader(View(MySqlRedo(6, false)));
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->encrypted);
  EXPECT_EQ(ParseRedoHeader(View(MySqlRedo(7, true))).status().code(), Code::kDataLoss);
  auto not_mysql = MySqlRedo(6, true);
  not_mysql[16] = 'X';
  EXPECT_EQ(ParseRedoHeader(View(not_mysql)).status().code(), Code::kNotFound);
}

TEST(DatafileRedo, ForeignBytesAreNotFound) {
  std::vector<uint8_t> text(4096, 'a');
  EXPECT_EQ(ParseRedoHeader(View(text)).status().code(), Code::kNotFound);
  std::vector<uint8_t> zeros(4096, 0);
  EXPECT_EQ(ParseRedoHeader(View(zeros)).status().code(), Code::kNotFound);
}

TEST(DatafileRedo, EveryTruncation) {
  const auto maria = MariaRedo(3, 512);
  const auto mysql = MySqlRedo(6, true, 2048);
  for (size_t len = 0; len < 2048; ++len) {
    for (const auto* full : {&maria, &mysql}) {
      if (len >= full->size()) continue;
      std::vector<uint8_t> cut(full->begin(), full->begin() + static_cast<long>(len));
      auto h = ParseRedoHeader(ByteView{cut.empty() ? nullptr : cut.data(), cut.size()});
      ASSERT_FALSE(h.ok()) << len;
      // Too short to tell: not a redo log; long enough to know: a truncated one.
      if (len >= 48) {
        ASSERT_EQ(h.status().code(), Code::kDataLoss) << len;
      } else {
        ASSERT_EQ(h.status().code(), Code::kNotFound) << len;
      }
    }
  }
  EXPECT_TRUE(ParseRedoHeader(View(maria)).ok());
  EXPECT_TRUE(ParseRedoHeader(View(mysql)).ok());
}

}  // namespace
}  // namespace keyring_locker::datafile
