#include "plugin/mariadb/sysvar_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace keyring_locker::mariadb {
namespace {

SettingValues Minimal() {
  return {{"urls", "https://a.example:8200, https://b.example:8200"},
          {"scope", "prod/db1"},
          {"auth_method", "token"},
          {"token_env", "KLK_TEST_TOKEN"}};
}

TEST(SysvarConfig, VariablesBecomeTheDocumentedJsonFields) {
  SettingValues v = Minimal();
  v["kv_version"] = "2";
  v["total_timeout_ms"] = "1500";
  v["approle_role_id"] = "r1";
  auto json = SettingsToJson(v);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto doc = nlohmann::json::parse(*json);
  EXPECT_EQ(doc["locker"]["urls"], nlohmann::json({"https://a.example:8200", "https://b.example:8200"}));
  EXPECT_EQ(doc["locker"]["kv_version"], 2);
  EXPECT_EQ(doc["timeouts"]["total_ms"], 1500);
  EXPECT_EQ(doc["auth"]["approle"]["role_id"], "r1");
  EXPECT_EQ(doc["keys"]["scope"], "prod/db1");
}

TEST(SysvarConfig, BuildsAConfigWithDefaultsForUnsetVariables) {
  auto c = BuildConfig("", Minimal());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->http.endpoints.size(), 2u);
  EXPECT_EQ(c->keys.scope, "prod/db1");
  EXPECT_EQ(c->vault.kv_mount, "secret");
  EXPECT_EQ(c->auth.token_env, "KLK_TEST_TOKEN");
}

TEST(SysvarConfig, ErrorsNameTheVariableNotTheJsonField) {
  SettingValues v = Minimal();
  v["kv_version"] = "7";
  auto c = BuildConfig("", v);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("keyring_locker_kv_version"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("locker.kv_version"), std::string::npos) << c.status().message();

  v = Minimal();
  v["urls"] = "http://plain.example:8200";
  c = BuildConfig("", v);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("keyring_locker_urls"), std::string::npos) << c.status().message();
}

TEST(SysvarConfig, NonNumericNumberIsRefusedWithTheVariableName) {
  SettingValues v = Minimal();
  v["version_refresh_s"] = "soon";
  auto c = BuildConfig("", v);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("keyring_locker_version_refresh_s"), std::string::npos)
      << c.status().message();
}

// Issue #15: an invalid UTF-8 byte in keyring_locker_scope was reported as
// "check the numeric variables". Every text variable must name itself.
TEST(SysvarConfig, InvalidUtf8NamesTheVariable) {
  for (const SettingSpec& spec : SettingSpecs()) {
    if (spec.kind == SettingKind::kInteger) continue;
    SettingValues v = Minimal();
    v[spec.suffix] = "prod/db\xff" "1";
    const std::string name = std::string("keyring_locker_") + spec.suffix;
    auto c = BuildConfig("", v);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << name;
    EXPECT_NE(c.status().message().find(name + " is not valid UTF-8"), std::string::npos) << c.status().message();
    EXPECT_EQ(c.status().message().find("numeric"), std::string::npos) << c.status().message();
  }
}

TEST(SysvarConfig, TooLargeNumberNamesTheVariable) {
  for (const SettingSpec& spec : SettingSpecs()) {
    if (spec.kind != SettingKind::kInteger && spec.kind != SettingKind::kIntOrWord) continue;
    SettingValues v = Minimal();
    v[spec.suffix] = "18446744073709551615";
    const std::string name = std::string("keyring_locker_") + spec.suffix;
    auto c = BuildConfig("", v);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_NE(c.status().message().find(name), std::string::npos) << c.status().message();
  }
}

TEST(SysvarConfig, ConfigFileAndVariablesTogetherAreRefused) {
  auto c = BuildConfig("/etc/mysql/keyring_locker.json", {{"scope", "x"}, {"kv_mount", "kv"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("keyring_locker_scope"), std::string::npos);
  EXPECT_NE(c.status().message().find("keyring_locker_kv_mount"), std::string::npos);
}

TEST(SysvarConfig, NothingConfiguredSaysWhatToSet) {
  auto c = BuildConfig("", {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("keyring_locker_config_file"), std::string::npos);
}

TEST(SysvarConfig, ConfigFileIsLoaded) {
  char path[] = "/tmp/klk_sysvar_cfg_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << R"({"locker":{"urls":["https://v.example:8200"]},"keys":{"scope":"file/scope"},)"
        << R"("auth":{"method":"token","token_env":"X_TOKEN"}})";
  }
  chmod(path, 0640);
  auto c = BuildConfig(path, {});
  std::remove(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.scope, "file/scope");
}

TEST(SysvarConfig, UnknownSuffixIsAnError) {
  auto json = SettingsToJson({{"tokn_file", "/x"}});
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("keyring_locker_tokn_file"), std::string::npos);
}

TEST(SysvarConfig, RenameOnlyWholeFieldNames) {
  EXPECT_EQ(RenameFieldsToVariables("x: tls.client_key: bad"), "x: keyring_locker_client_key: bad");
  EXPECT_EQ(RenameFieldsToVariables("tls.client_key_password_file: bad"), "tls.client_key_password_file: bad");
  EXPECT_EQ(RenameFieldsToVariables("auth.approle.mount and auth.cert.mount"),
            "keyring_locker_approle_mount and keyring_locker_cert_mount");
}

}  // namespace
}  // namespace keyring_locker::mariadb
