// Page-0 parsing of MariaDB (full_crc32 and classic, compressed) and MySQL
// tablespaces: fields, offsets, and refusal of every damaged or cut input.
#include <gtest/gtest.h>

#include "datafile/tablespace.h"
#include "tests/unit/datafile_test_pages.h"

namespace keyring_locker::datafile {
namespace {

using namespace datafile_test;
const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

ByteView View(const std::vector<uint8_t>& b) { return ByteView{b.data(), b.size()}; }

TEST(DatafileFspFlags, FullCrc32PageSizes) {
  for (uint32_t ssize = 3; ssize <= 7; ++ssize) {
    auto s = DecodeFspFlags(0x10 | ssize);
    ASSERT_TRUE(s.ok()) << ssize;
    EXPECT_EQ(s->format, PageFormat::kFullCrc32);
    EXPECT_EQ(s->logical, size_t{512} << ssize);
    EXPECT_EQ(s->physical, s->logical);
  }
  for (uint32_t bad : {0x10u, 0x11u, 0x12u, 0x18u, 0x1Fu, 0x115u}) EXPECT_FALSE(DecodeFspFlags(bad).ok()) << bad;
}

TEST(DatafileFspFlags, ClassicAndCompressed) {
  auto s = DecodeFspFlags(0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format, PageFormat::kClassic);
  EXPECT_EQ(s->logical, 16384u);
  s = DecodeFspFlags(0x21 | (3u << 6));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->logical, 4096u);
  s = DecodeFspFlags(kClassicZip8k);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->physical, 8192u);
  EXPECT_EQ(s->logical, 16384u);
  s = DecodeFspFlags(0x21 | (1u << 1));  // 1K compressed pages
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->physical, 1024u);
  EXPECT_FALSE(DecodeFspFlags(0x21 | (6u << 1)).ok());        // zip ssize 6
  EXPECT_FALSE(DecodeFspFlags(1u << 1).ok());                  // zip without row-format bits
  EXPECT_FALSE(DecodeFspFlags(0x20).ok());                     // ATOMIC_BLOBS alone
  EXPECT_FALSE(DecodeFspFlags(0x21 | (1u << 6)).ok());         // page ssize 1
  EXPECT_FALSE(DecodeFspFlags(0x21 | (3u << 6) | (5u << 1)).ok());  // 16K zip inside 4K pages
  EXPECT_FALSE(DecodeFspFlags(1u << 17).ok());
  s = DecodeFspFlags(kMySqlEncrypted16k);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->mysql_encryption_flag);
  EXPECT_TRUE(s->mysql_only_bits);
}

TEST(DatafileOffsets, MatchFsp0fspPerSize) {
  EXPECT_EQ(Page0EncryptionOffset(4096, 4096), 1558u);
  EXPECT_EQ(Page0EncryptionOffset(8192, 8192), 3734u);
  EXPECT_EQ(Page0EncryptionOffset(16384, 16384), 10390u);
  EXPECT_EQ(Page0EncryptionOffset(32768, 32768), 20630u);
  EXPECT_EQ(Page0EncryptionOffset(65536, 65536), 41110u);
  EXPECT_EQ(Page0EncryptionOffset(16384, 8192), 150u + 40u * 128u);
  EXPECT_EQ(Page0EncryptionOffset(16384, 1024), 150u + 40u * 16u);
  EXPECT_EQ(Page0EncryptionOffset(16384, 32768), 0u);
  EXPECT_EQ(Page0EncryptionOffset(2048, 2048), 0u);
  EXPECT_EQ(Page0EncryptionOffset(16384, 3000), 0u);
}

TEST(DatafilePage0, MariaFullCrc32WithCryptData) {
  auto page = MakePage0(16384, kFcrc32_16k, 42);
  PutCryptData(page, 10428, 1, 3, 7, 1);
  auto p = ParsePage0(View(page));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->space_id, 42u);
  EXPECT_FALSE(p->from_mysql());
  ASSERT_TRUE(p->maria_crypt.has_value());
  EXPECT_TRUE(p->maria_crypt->encrypted());
  EXPECT_EQ(p->maria_crypt->min_key_version, 3u);
  EXPECT_EQ(p->maria_crypt->key_id, 7u);
  EXPECT_EQ(p->maria_crypt->mode, MariaEncryptionMode::kOn);
  EXPECT_EQ(p->maria_crypt->iv_length, 16);
}

TEST(DatafilePage0, ClassicCompressedAndUnencrypted) {
  auto page = MakePage0(8192, kClassicZip8k, 9);
  PutCryptData(page, 38 + 150 + 40 * 128, 0, 0, 1, 2);
  auto p = ParsePage0(View(page));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->size.physical, 8192u);
  ASSERT_TRUE(p->maria_crypt.has_value());
  EXPECT_FALSE(p->maria_crypt->encrypted());
  EXPECT_EQ(p->maria_crypt->mode, MariaEncryptionMode::kOff);
  auto plain = MakePage0(16384, kFcrc32_16k, 5);
  p = ParsePage0(View(plain));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->maria_crypt.has_value());
  EXPECT_FALSE(p->mysql.has_value());
}

TEST(DatafilePage0, MySqlVersions) {
  auto page = MakePage0(16384, kMySqlEncrypted16k, 3);
  PutMySqlInfo(page, 10390, "lCC", 5, kUuid);
  auto p = ParsePage0(View(page));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->mysql.has_value());
  EXPECT_EQ(p->mysql->version, 3);
  EXPECT_EQ(MySqlMasterKeyName(*p->mysql), "INNODBKey-" + kUuid + "-5");
  EXPECT_EQ(p->mysql->crc, 0x12345678u);

  PutMySqlInfo(page, 10390, "lCC", 0, kUuid);
  p = ParsePage0(View(page));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(MySqlMasterKeyName(*p->mysql), "");  // default master key: nothing in the keyring

  // v1: id written as 8 bytes (zero word after it), no uuid.
  auto v1 = MakePage0(16384, kMySqlEncrypted16k, 3);
  PutMySqlInfo(v1, 10390, "lCA", 2, "");
  Be32(v1, 10390 + 7, 0);
  p = ParsePage0(View(v1));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->mysql->version, 1);
  EXPECT_EQ(MySqlMasterKeyName(*p->mysql), "INNODBKey-<server_id>-2");

  auto v2 = MakePage0(16384, kMySqlEncrypted16k, 3);
  PutMySqlInfo(v2, 10390, "lCB", 4, kUuid);
  p = ParsePage0(View(v2));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(MySqlMasterKeyName(*p->mysql), "INNODBKey-" + kUuid + "-4");
}

TEST(DatafilePage0, Rejections) {
  auto good = MakePage0(16384, kFcrc32_16k, 42);
  PutCryptData(good, 10428, 1, 3, 7, 1);
  auto expect_loss = [](std::vector<uint8_t> page, const char* what) {
    auto p = ParsePage0(ByteView{page.data(), page.size()});
    ASSERT_FALSE(p.ok()) << what;
    EXPECT_EQ(p.status().code(), Code::kDataLoss) << what;
    EXPECT_FALSE(p.status().message().empty());
  };
  { auto b = good; b[10428 + 6] = 2; expect_loss(b, "crypt type 2"); }
  { auto b = good; b[10428 + 7] = 32; expect_loss(b, "iv length 32"); }
  { auto b = good; b[10428 + 32] = 3; expect_loss(b, "mode 3"); }
  { auto b = good; b[25] = 17; expect_loss(b, "page type"); }
  { auto b = good; Be32(b, 4, 1); expect_loss(b, "page number"); }
  { auto b = good; Be32(b, 34, 43); expect_loss(b, "space id mismatch"); }
  { auto b = good; Be32(b, 54, 0x10 | 9); expect_loss(b, "page size"); }
  auto mysql = MakePage0(16384, kMySqlEncrypted16k, 3);
  expect_loss(mysql, "encryption flag without info");
  PutMySqlInfo(mysql, 10390, "lCC", 5, "not-a-uuid-not-a-uuid-not-a-uuid-xxx");
  expect_loss(mysql, "bad uuid");
  // Bad magic is no crypt data, not an error.
  { auto b = good; b[10428] = 'x'; auto p = ParsePage0(View(b)); ASSERT_TRUE(p.ok()); EXPECT_FALSE(p->maria_crypt); }
}

TEST(DatafilePage0, EveryTruncationIsAnErrorNeverARead) {
  auto page = MakePage0(16384, kFcrc32_16k, 42);
  PutCryptData(page, 10428, 1, 3, 7, 1);
  for (size_t len = 0; len < page.size(); ++len) {
    // A copy of exactly `len` bytes, so ASan sees any read past it.
    std::vector<uint8_t> cut(page.begin(), page.begin() + static_cast<long>(len));
    auto p = ParsePage0(ByteView{cut.empty() ? nullptr : cut.data(), cut.size()});
    ASSERT_FALSE(p.ok()) << len;
    ASSERT_EQ(p.status().code(), Code::kDataLoss) << len;
  }
  auto mysql = MakePage0(4096, 0x21 | (3u << 6) | (1u << 13), 3);
  PutMySqlInfo(mysql, 1558, "lCC", 5, kUuid);
  ASSERT_TRUE(ParsePage0(View(mysql)).ok());
}

TEST(DatafilePages, KeyVersionPlacePerFormat) {
  std::vector<uint8_t> page(16384, 0);
  Be32(page, 0, 4);
  Be32(page, 26, 9);
  PageSize fcrc;
  fcrc.format = PageFormat::kFullCrc32;
  PageSize classic;
  classic.format = PageFormat::kClassic;
  EXPECT_EQ(PageKeyVersion(View(page), fcrc), 4u);
  EXPECT_EQ(PageKeyVersion(View(page), classic), 9u);
  page[24] = 0x86;  // FIL_PAGE_PAGE_COMPRESSED (34354): offset 26 is the algorithm
  page[25] = 0x32;
  EXPECT_EQ(PageKeyVersion(View(page), classic), 0u);
  EXPECT_EQ(PageKeyVersion(ByteView{page.data(), 3}, fcrc), 0u);
  EXPECT_EQ(PageKeyVersion(ByteView{page.data(), 20}, classic), 0u);
}

}  // namespace
}  // namespace keyring_locker::datafile
