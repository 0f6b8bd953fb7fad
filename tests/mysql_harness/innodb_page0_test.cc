// The page-0 encryption block module on its own: offsets, layout, and the
// parser's refusal of damaged input.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "crypto/crypto.h"
#include "tests/mysql_harness/innodb_page0.h"

namespace mysqlh::innodb {
namespace {

namespace crypto = keyring_locker::crypto;
const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

TablespaceKey NewKey() {
  return TablespaceKey{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
}

TEST(InnodbPage0, OffsetsPerPageSize) {
  EXPECT_EQ(EncryptionInfoOffset(4096), 1558u);
  EXPECT_EQ(EncryptionInfoOffset(8192), 3734u);
  EXPECT_EQ(EncryptionInfoOffset(16384), 10390u);
  EXPECT_EQ(EncryptionInfoOffset(32768), 20630u);
  EXPECT_EQ(EncryptionInfoOffset(65536), 41110u);
  EXPECT_EQ(EncryptionInfoOffset(1024), 0u);
}

TEST(InnodbPage0, LayoutIsByteExact) {
  std::vector<uint8_t> page(16384, 0);
  auto master = std::move(crypto::RandomKey(32)).value();
  TablespaceKey k = NewKey();
  ASSERT_TRUE(WriteEncryptionInfo(page.data(), page.size(), 0x01020304, kUuid, k, master).ok());
  const uint8_t* p = page.data() + 10390;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), 3), "lCC");
  EXPECT_EQ(p[3], 1);
  EXPECT_EQ(p[6], 4);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p + 7), 36), kUuid);
  // Independent check of the wrapped block and checksum.
  uint8_t plain[64];
  std::memcpy(plain, k.key.data(), 32);
  std::memcpy(plain + 32, k.iv.data(), 32);
  auto ecb = crypto::Aes256EcbEncrypt(master, plain, 64);
  ASSERT_TRUE(ecb.ok());
  EXPECT_EQ(std::memcmp(p + 43, ecb->data(), 64), 0);
  const uint32_t crc = crypto::Crc32c(plain, 64);
  EXPECT_EQ(p[107], crc >> 24);
  EXPECT_EQ(p[110], crc & 0xFF);
  // Nothing outside the 111 bytes is touched.
  for (size_t i = 0; i < page.size(); ++i) {
    if (i < 10390 || i >= 10390 + kInfoSize) {
      ASSERT_EQ(page[i], 0) << i;
    }
  }
}

TEST(InnodbPage0, ParseRoundTripAndRejections) {
  std::vector<uint8_t> page(8192, 0);
  auto master = std::move(crypto::RandomKey(32)).value();
  auto other = std::move(crypto::RandomKey(32)).value();
  TablespaceKey k = NewKey();
  ASSERT_TRUE(WriteEncryptionInfo(page.data(), page.size(), 7, kUuid, k, master).ok());
  auto h = ParseEncryptionHeader(page.data(), page.size());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->master_key_id, 7u);
  EXPECT_EQ(MasterKeyName(h->server_uuid, h->master_key_id), "INNODBKey-" + kUuid + "-7");
  auto back = UnwrapTablespaceKey(*h, master);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->key.Equals(k.key));
  EXPECT_TRUE(back->iv.Equals(k.iv));
  EXPECT_EQ(UnwrapTablespaceKey(*h, other).status().code(), keyring_locker::Code::kDataLoss);

  page[3734 + 50] ^= 1;  // damage the wrapped key
  auto damaged = ParseEncryptionHeader(page.data(), page.size());
  ASSERT_TRUE(damaged.ok());
  EXPECT_FALSE(UnwrapTablespaceKey(*damaged, master).ok());
  page[3734] = 'x';
  EXPECT_FALSE(ParseEncryptionHeader(page.data(), page.size()).ok());
  EXPECT_FALSE(ParseEncryptionHeader(page.data(), 1000).ok());
}

}  // namespace
}  // namespace mysqlh::innodb
