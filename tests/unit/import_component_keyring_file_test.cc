// component_keyring_file's JSON data file, built in the test as the
// component's writer lays it out.
#include <gtest/gtest.h>

#include "tools/import/mysql_component_keyring_file.h"

namespace keyring_locker::import {
namespace {

TEST(ImportComponentKeyringFile, EveryElementUnderTheAdaptersNameWithItsType) {
  const std::string file =
      R"({"version":"1.0","elements":[)"
      R"({"user":"","data_id":"INNODBKey-u-1","data_type":"AES","data":"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F","extension":[]},)"
      R"({"user":"bob","data_id":"pw","data_type":"SECRET","data":"68656c6c6f","extension":[]}]})";
  auto s = ParseMysqlComponentKeyringFile(file);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->model, KeyModel::kGenerations);
  ASSERT_EQ(s->items.size(), 2u);
  EXPECT_TRUE(s->items[0].error.empty()) << s->items[0].error;
  EXPECT_EQ(s->items[0].name, "INNODBKey-u-1");
  ASSERT_EQ(s->items[0].bytes.size(), 32u);
  EXPECT_EQ(s->items[0].bytes.data()[31], 0x1f);
  EXPECT_EQ(s->items[1].name, "bob/pw");
  EXPECT_EQ(s->items[1].type, "SECRET");
  EXPECT_TRUE(s->items[1].bytes.Equals("hello", 5));
}

TEST(ImportComponentKeyringFile, BadElementsAreFailedItemsNamingTheirIndex) {
  const std::string file =
      R"({"version":"1.0","elements":[)"
      R"({"user":"","data_id":"a","data_type":"AES","data":"abc","extension":[]},)"
      R"({"user":"","data_id":"b","data_type":"AES","data":"zz","extension":[]},)"
      R"({"user":"","data_id":"c","data_type":"AES","extension":[]},)"
      R"({"user":"","data_id":"d","data_type":"XYZ","data":"00","extension":[]},)"
      R"({"user":"","data_id":"e","data_type":"AES","data":"0011","extension":[]}]})";
  auto s = ParseMysqlComponentKeyringFile(file);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->items.size(), 5u);
  EXPECT_NE(s->items[0].error.find("odd number"), std::string::npos) << s->items[0].error;
  EXPECT_NE(s->items[1].error.find("not a hex digit"), std::string::npos) << s->items[1].error;
  EXPECT_NE(s->items[2].error.find("string fields"), std::string::npos);
  EXPECT_EQ(s->items[2].origin, "element 2");
  EXPECT_NE(s->items[3].error.find("AES, RSA, DSA and SECRET"), std::string::npos) << s->items[3].error;
  EXPECT_NE(s->items[4].error.find("2 bytes"), std::string::npos) << s->items[4].error;
}

TEST(ImportComponentKeyringFile, ForeignTruncatedAndAmbiguousFilesAreRefused) {
  EXPECT_FALSE(ParseMysqlComponentKeyringFile(R"({"version":"1.0","elements":[{"user":"")").ok());
  EXPECT_FALSE(ParseMysqlComponentKeyringFile("[]").ok());
  auto v2 = ParseMysqlComponentKeyringFile(R"({"version":"2.0","elements":[]})");
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.status().message().find("2.0"), std::string::npos);
  auto dup = ParseMysqlComponentKeyringFile(R"({"version":"1.0","elements":[],"elements":[]})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("twice"), std::string::npos);
  auto plugin = ParseMysqlComponentKeyringFile("Keyring file version:2.0EOF");
  ASSERT_FALSE(plugin.ok());
  EXPECT_NE(plugin.status().message().find("mysql_keyring_file"), std::string::npos);
}

TEST(ImportComponentKeyringFile, TheSameKeyTwiceWithDifferentBytesFailsBoth) {
  const std::string file =
      R"({"version":"1.0","elements":[)"
      R"({"user":"","data_id":"k","data_type":"AES","data":"00112233445566778899aabbccddeeff","extension":[]},)"
      R"({"user":"","data_id":"k","data_type":"AES","data":"ff112233445566778899aabbccddeeff","extension":[]}]})";
  auto s = ParseMysqlComponentKeyringFile(file);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->items.size(), 2u);
  EXPECT_NE(s->items[0].error.find("more than once"), std::string::npos);
  EXPECT_NE(s->items[1].error.find("more than once"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker::import
