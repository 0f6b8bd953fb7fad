// hashicorp_key_management's Vault layout: the address parsing and the
// three replies the reader interprets (LIST metadata/, GET metadata/N,
// GET data/N?version=V), in Vault's own reply shapes.
#include <gtest/gtest.h>

#include "tools/import/hashicorp_kv.h"

namespace keyring_locker::import {
namespace {

using nlohmann::json;

TEST(ImportHashicorp, TheVaultUrlIsThePluginsWithTheMountAfterV1) {
  HashicorpOptions o;
  o.vault_url = "https://vault.example:8200/v1/mariadb/";
  auto a = ParseVaultAddress(o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->base, "https://vault.example:8200");
  EXPECT_EQ(a->mount, "mariadb");
  o.vault_url = "https://vault.example:8200";
  EXPECT_FALSE(ParseVaultAddress(o).ok());
  o.mount = "kv/db";
  ASSERT_TRUE(ParseVaultAddress(o).ok());
  EXPECT_EQ(ParseVaultAddress(o)->mount, "kv/db");
  o.vault_url = "https://vault.example:8200/secret";
  EXPECT_NE(ParseVaultAddress(o).status().message().find("/v1/"), std::string::npos);
  o.vault_url = "vault.example";
  EXPECT_FALSE(ParseVaultAddress(o).ok());
}

TEST(ImportHashicorp, RepliesGiveNamesReadableVersionsAndTheHexKey) {
  auto names = ParseKvList(json::parse(R"({"data":{"keys":["1","2","notes/","x"]}})"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 4u);

  std::vector<std::string> skipped;
  auto versions = ParseKvVersions(json::parse(R"({"data":{"current_version":4,"versions":{
      "1":{"created_time":"t","deletion_time":"","destroyed":false},
      "2":{"created_time":"t","deletion_time":"2024-01-01T00:00:00Z","destroyed":false},
      "3":{"created_time":"t","deletion_time":"","destroyed":true},
      "4":{"created_time":"t","deletion_time":"","destroyed":false}}}})"),
                                  &skipped);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, (std::vector<uint32_t>{1, 4}));
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("2 is deleted"), std::string::npos);
  EXPECT_NE(skipped[1].find("3 is destroyed"), std::string::npos);

  auto hex = ParseKvKeyHex(json::parse(R"({"data":{"data":{"data":"00ff"},"metadata":{"version":1}}})"));
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, "00ff");
}

TEST(ImportHashicorp, MalformedRepliesAreDataLossNamingWhatIsMissing) {
  EXPECT_EQ(ParseKvList(json::parse(R"({"data":{}})")).status().code(), Code::kDataLoss);
  auto v1 = ParseKvVersions(json::parse(R"({"data":{"1":"x"}})"), nullptr);
  ASSERT_FALSE(v1.ok());
  EXPECT_NE(v1.status().message().find("KV version 2"), std::string::npos);
  auto no_field = ParseKvKeyHex(json::parse(R"({"data":{"data":{"key":"00"}}})"));
  ASSERT_FALSE(no_field.ok());
  EXPECT_NE(no_field.status().message().find("\"data\""), std::string::npos);
}

TEST(ImportHashicorp, NoTokenIsAClearError) {
  HashicorpOptions o;
  o.vault_url = "https://127.0.0.1:1/v1/secret";
  auto s = ReadHashicorpKv(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--token-file"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker::import
