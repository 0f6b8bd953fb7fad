// MySQL keyring_file data files (2.0 with its digest, and 1.0), built in the
// test by the plugin's layout; the names follow the MySQL adapters' mapping.
#include <gtest/gtest.h>

#include "plugin/mysql/mysql_key_model.h"
#include "tools/import/mysql_keyring_file.h"

namespace keyring_locker::import {
namespace {

crypto::SecureBuffer Bytes(size_t n, uint8_t seed) {
  crypto::SecureBuffer b(n);
  for (size_t i = 0; i < n; ++i) b.data()[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

struct Sample {
  crypto::SecureBuffer master = Bytes(32, 1), secret = Bytes(5, 2), user_key = Bytes(16, 3);
  std::vector<MysqlKeyringFileKey> keys() const {
    return {{"INNODBKey-3f1c2d4e-0000-0000-0000-000000000001-1", "AES", "", &master},
            {"binlog_secret", "SECRET", "", &secret},
            {"app/key", "AES", "alice%x", &user_key}};
  }
};

TEST(ImportMysqlKeyringFile, Version2GivesEveryKeyUnderTheAdaptersName) {
  Sample s;
  const std::string file = BuildMysqlKeyringFile(s.keys());
  ASSERT_EQ(file.compare(0, 24, kKeyringFileV2), 0);
  auto src = ParseMysqlKeyringFile(file);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ(src->model, KeyModel::kGenerations);
  EXPECT_EQ(src->server, KeyServer::kMySql);
  ASSERT_EQ(src->items.size(), 3u);
  for (const auto& i : src->items) EXPECT_TRUE(i.error.empty()) << i.name << ": " << i.error;
  EXPECT_EQ(src->items[0].name, "INNODBKey-3f1c2d4e-0000-0000-0000-000000000001-1");
  EXPECT_TRUE(src->items[0].bytes.Equals(s.master));
  EXPECT_EQ(src->items[1].type, "SECRET");
  EXPECT_TRUE(src->items[1].bytes.Equals(s.secret));
  EXPECT_EQ(src->items[2].name, mysql::KeyName("app/key", "alice%x"));
  EXPECT_EQ(src->items[2].name, "alice%25x/app/key");
  EXPECT_TRUE(src->items[2].bytes.Equals(s.user_key));
}

TEST(ImportMysqlKeyringFile, TheKeyBytesInTheFileAreObfuscatedNotPlain) {
  Sample s;
  const std::string file = BuildMysqlKeyringFile(s.keys());
  const std::string plain(reinterpret_cast<const char*>(s.master.data()), s.master.size());
  EXPECT_EQ(file.find(plain), std::string::npos);
}

TEST(ImportMysqlKeyringFile, Version1WithoutDigestIsReadWithAWarning) {
  Sample s;
  auto src = ParseMysqlKeyringFile(BuildMysqlKeyringFile(s.keys(), /*v1=*/true));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ(src->items.size(), 3u);
  EXPECT_TRUE(src->items[0].bytes.Equals(s.master));
  ASSERT_FALSE(src->warnings.empty());
  EXPECT_NE(src->warnings[0].find("no digest"), std::string::npos);
}

TEST(ImportMysqlKeyringFile, AnEmptyFileIsAnEmptyKeyring) {
  auto src = ParseMysqlKeyringFile("");
  ASSERT_TRUE(src.ok());
  EXPECT_TRUE(src->items.empty());
  auto no_keys = ParseMysqlKeyringFile(BuildMysqlKeyringFile({}));
  ASSERT_TRUE(no_keys.ok()) << no_keys.status().ToString();
  EXPECT_TRUE(no_keys->items.empty());
}

TEST(ImportMysqlKeyringFile, ABadDigestATruncatedFileAndAForeignFileAreRefused) {
  Sample s;
  std::string file = BuildMysqlKeyringFile(s.keys());
  std::string flipped = file;
  flipped[60] ^= 1;  // inside the first key
  auto bad = ParseMysqlKeyringFile(flipped);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("digest does not match"), std::string::npos) << bad.status().ToString();

  auto cut = ParseMysqlKeyringFile(file.substr(0, file.size() - 10));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("EOF"), std::string::npos) << cut.status().ToString();

  auto tiny = ParseMysqlKeyringFile(file.substr(0, 30));
  ASSERT_FALSE(tiny.ok());
  EXPECT_NE(tiny.status().message().find("truncated"), std::string::npos);

  auto json = ParseMysqlKeyringFile("{\"version\":\"1.0\",\"elements\":[]}");
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("mysql_component_keyring_file"), std::string::npos);
}

TEST(ImportMysqlKeyringFile, AKeyWhoseLengthsDoNotAddUpIsAFailedItemNamingItsOffset) {
  Sample s;
  std::string file = BuildMysqlKeyringFile(s.keys(), /*v1=*/true);  // no digest to trip first
  // The second key's key_id length, made huge.
  const size_t first_pod = 40 + 48 + 3 + 0 + 32;  // 123 -> padded to 128
  file[24 + 128 + 8] = 0x7f;
  (void)first_pod;
  auto src = ParseMysqlKeyringFile(file);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  ASSERT_EQ(src->items.size(), 2u);
  EXPECT_TRUE(src->items[0].error.empty());
  EXPECT_EQ(src->items[1].origin, "key #2 at byte 152");
  EXPECT_FALSE(src->items[1].error.empty());
}

TEST(ImportMysqlKeyringFile, AKeyOfALengthMysqlCannotUseIsRefused) {
  crypto::SecureBuffer odd = Bytes(20, 9);
  auto src = ParseMysqlKeyringFile(BuildMysqlKeyringFile({{"k", "AES", "", &odd}}));
  ASSERT_TRUE(src.ok());
  ASSERT_EQ(src->items.size(), 1u);
  EXPECT_NE(src->items[0].error.find("20 bytes"), std::string::npos) << src->items[0].error;
}

}  // namespace
}  // namespace keyring_locker::import
