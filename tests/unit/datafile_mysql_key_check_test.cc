// CheckMySqlMasterKey over page 0s written the way InnoDB writes them
// (tests/support/mysql_encrypted_page0.h): the right master key matches the
// CRC-32C, any other key or a damaged block does not, and a key that is not
// 32 bytes is refused with a reason.
#include <gtest/gtest.h>

#include <array>

#include "datafile/mysql_key_check.h"
#include "datafile/tablespace.h"
#include "tests/support/mysql_encrypted_page0.h"

namespace keyring_locker::datafile {
namespace {

const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

crypto::SecureBuffer Key(uint8_t seed, size_t n = 32) {
  crypto::SecureBuffer b(n);
  for (size_t i = 0; i < n; ++i) b.data()[i] = static_cast<uint8_t>(seed * 7 + i);
  return b;
}

MySqlEncryptionInfo Info(const std::vector<uint8_t>& page) {
  auto p0 = ParsePage0(ByteView{page.data(), page.size()});
  EXPECT_TRUE(p0.ok()) << p0.status().ToString();
  EXPECT_TRUE(p0.ok() && p0->mysql.has_value());
  return p0.ok() && p0->mysql ? *p0->mysql : MySqlEncryptionInfo{};
}

// The tablespace key || IV the pages wrap.
const uint8_t* KeyIv() {
  static const auto bytes = [] {
    std::array<uint8_t, 64> b{};
    for (int i = 0; i < 64; ++i) b[i] = static_cast<uint8_t>(255 - i);
    return b;
  }();
  return bytes.data();
}

TEST(MySqlKeyCheck, TheWrappingKeyMatchesAndAnotherDoesNot) {
  const MySqlEncryptionInfo info = Info(mysql_page0::EncryptedPage0(7, 4, kUuid, Key(1), KeyIv()));
  EXPECT_EQ(MySqlMasterKeyName(info), "INNODBKey-" + kUuid + "-4");
  auto right = CheckMySqlMasterKey(info, Key(1));
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_TRUE(right->match);
  EXPECT_EQ(right->stored_crc, crypto::Crc32c(KeyIv(), 64));

  auto other = CheckMySqlMasterKey(info, Key(2));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->match);
  EXPECT_EQ(other->stored_crc, right->stored_crc);
  EXPECT_NE(other->computed_crc, other->stored_crc);
}

TEST(MySqlKeyCheck, EveryFlippedBitOfTheWrappedKeyOrCrcIsCaught) {
  const auto page = mysql_page0::EncryptedPage0(7, 4, kUuid, Key(1), KeyIv());
  for (size_t byte = 0; byte < 68; byte += 5) {
    auto damaged = page;
    damaged[mysql_page0::kWrappedOffset + byte] ^= 0x80;
    auto check = CheckMySqlMasterKey(Info(damaged), Key(1));
    ASSERT_TRUE(check.ok());
    EXPECT_FALSE(check->match) << "byte " << byte;
  }
}

TEST(MySqlKeyCheck, DefaultMasterKeyIsInnodbsBuiltInOne) {
  const crypto::SecureBuffer k = MySqlDefaultMasterKey();
  ASSERT_EQ(k.size(), 32u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.data()), 16), "DefaultMasterKey");
  for (size_t i = 16; i < 32; ++i) EXPECT_EQ(k.data()[i], 0) << i;
  const MySqlEncryptionInfo info = Info(mysql_page0::EncryptedPage0(7, 0, kUuid, mysql_page0::DefaultMasterKey(), KeyIv()));
  EXPECT_EQ(MySqlMasterKeyName(info), "");
  auto check = CheckMySqlMasterKey(info, k);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->match);
}

TEST(MySqlKeyCheck, AKeyThatIsNot32BytesIsRefusedWithAReason) {
  const MySqlEncryptionInfo info = Info(mysql_page0::EncryptedPage0(7, 4, kUuid, Key(1), KeyIv()));
  auto check = CheckMySqlMasterKey(info, Key(1, 16));
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.status().code(), Code::kInvalidArgument);
  EXPECT_NE(check.status().message().find("16 bytes; InnoDB master keys are 32"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker::datafile
