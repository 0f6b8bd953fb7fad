// The "store", "wrapper" and "kmip" groups: which locker plays which role,
// and that a config from before them means exactly what it meant.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/config_test_util.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::ExpectConfigError;
using testing::MinimalConfig;
using testing::ParseTestConfig;

json KmipConfig() {
  return json::parse(R"({
    "store": {"type": "kmip"},
    "kmip": {"servers": ["kmip1.example.com:5696", "10.0.0.2"],
             "ca_file": "/etc/keyring_locker/kmip-ca.pem",
             "client_cert": "/etc/keyring_locker/db1.pem",
             "client_key": "/etc/keyring_locker/db1-key.pem"},
    "keys": {"scope": "prod/db1"},
    "timeouts": {"connect_ms": 1500, "total_ms": 4000}
  })");
}

TEST(ConfigRolesTest, AConfigWithoutRolesIsVaultKvWrappedByTransit) {
  auto c = ParseTestConfig(MinimalConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.store, "vault");
  EXPECT_EQ(c->roles.wrapper, "vault");
  EXPECT_TRUE(c->roles.UsesVault());
  EXPECT_FALSE(c->roles.UsesKmip());
  EXPECT_EQ(c->http.endpoints, std::vector<std::string>{"https://vault1:8200"});
  EXPECT_THAT(DescribeConfig(*c), HasSubstr("keys in vault, wrapped by vault"));
}

TEST(ConfigRolesTest, AKmipStoreNeedsNoVaultAndDefaultsToNoWrapper) {
  auto c = ParseTestConfig(KmipConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.store, "kmip");
  EXPECT_EQ(c->roles.wrapper, "none");
  EXPECT_FALSE(c->roles.UsesVault());
  const auto& t = c->kmip.transport;
  EXPECT_EQ(t.servers, (std::vector<std::string>{"kmip1.example.com:5696", "10.0.0.2"}));
  EXPECT_EQ(t.cert_file, "/etc/keyring_locker/db1.pem");
  EXPECT_TRUE(t.verify_peer);
  EXPECT_EQ(t.connect_timeout.count(), 1500);
  EXPECT_EQ(t.io_timeout.count(), 4000);
  EXPECT_EQ(c->call_budget().count(), 4000);
  EXPECT_EQ(c->kmip.max_version, "1.4");
  EXPECT_EQ(c->kmip.abandoned_after.count(), 60);
  EXPECT_TRUE(c->warnings.empty());
  const std::string d = DescribeConfig(*c);
  EXPECT_THAT(d, HasSubstr("keys in kmip, wrapped by none"));
  EXPECT_THAT(d, HasSubstr("kmip1.example.com:5696, 10.0.0.2"));
  EXPECT_THAT(d, ::testing::Not(HasSubstr("auth:")));
}

TEST(ConfigRolesTest, VaultGroupsWithoutAVaultRoleAreNamed) {
  for (const char* group : {"locker", "auth", "tls"}) {
    json j = KmipConfig();
    j[group] = json::object();
    ExpectConfigError(j, group, "remove it");
  }
  json j = MinimalConfig();
  j["kmip"] = KmipConfig()["kmip"];
  ExpectConfigError(j, "kmip", "set store.type or wrapper.type to \"kmip\"");
}

TEST(ConfigRolesTest, NoneOnlyOverAStoreThatProtectsKeys) {
  json j = MinimalConfig();
  j["wrapper"] = {{"type", "none"}};
  ExpectConfigError(j, "wrapper.type", "use \"none\" only with store.type \"kmip\"");
  j = MinimalConfig();
  j["store"] = {{"type", "directory"}, {"path", "/var/lib/mysql/keyring_locker"}};
  j["wrapper"] = {{"type", "none"}};
  ExpectConfigError(j, "wrapper.type", "use \"none\" only with store.type \"kmip\"");
}

TEST(ConfigRolesTest, DirectoryStoreNeedsAnAbsolutePathAndAWrapper) {
  json j = MinimalConfig();
  j["store"] = {{"type", "directory"}};
  ExpectConfigError(j, "store.path", "name the folder");
  j["store"]["path"] = "keys";
  j["wrapper"] = {{"type", "vault"}};
  ExpectConfigError(j, "store.path", "give the full path");
  j["store"]["path"] = "/var/lib/mysql/keyring_locker";
  j.erase("wrapper");
  ExpectConfigError(j, "wrapper.type", "name who wraps the keys");
  j["wrapper"] = {{"type", "vault"}};
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.directory, "/var/lib/mysql/keyring_locker");
  j = MinimalConfig();
  j["store"] = {{"type", "vault"}, {"path", "/x"}};
  ExpectConfigError(j, "store.path", "set store.type to \"directory\"");
}

TEST(ConfigRolesTest, UnknownRolesAreRefusedWithTheChoices) {
  json j = MinimalConfig();
  j["store"] = {{"type", "s3"}};
  ExpectConfigError(j, "store.type", "\"directory\", \"kmip\", \"vault\"");
  j = MinimalConfig();
  j["wrapper"] = {{"type", "transit"}};
  ExpectConfigError(j, "wrapper.type", "\"kmip\", \"none\", \"vault\"");
  j = MinimalConfig();
  j["stroe"] = {{"type", "kmip"}};
  ExpectConfigError(j, "stroe", "store");
}

TEST(ConfigRolesTest, KmipGroupIsCheckedFieldByField) {
  json j = KmipConfig();
  j["kmip"].erase("servers");
  ExpectConfigError(j, "kmip.servers", "list the KMIP servers");
  j = KmipConfig();
  j["kmip"]["servers"] = json::array({"https://kmip1:5696"});
  ExpectConfigError(j, "kmip.servers", "no scheme");
  j = KmipConfig();
  j["kmip"]["servers"] = json::array({"a:5696", "a:5696"});
  ExpectConfigError(j, "kmip.servers", "list it once");
  j = KmipConfig();
  j["kmip"].erase("client_key");
  ExpectConfigError(j, "kmip.client_key", "know their clients by certificate");
  j = KmipConfig();
  j["kmip"]["client_cert"] = "db1.pem";
  ExpectConfigError(j, "kmip.client_cert", "give the full path");
  j = KmipConfig();
  j["kmip"]["max_version"] = "2.0";
  ExpectConfigError(j, "kmip.max_version", "leave it out");
  j = KmipConfig();
  j["kmip"]["min_tls_version"] = "1.1";
  ExpectConfigError(j, "kmip.min_tls_version", "\"1.2\"");
  j = KmipConfig();
  j["kmip"]["abandoned_after_s"] = 0;
  ExpectConfigError(j, "kmip.abandoned_after_s", "1..86400");
  j["kmip"]["abandoned_after_s"] = "5s";
  ExpectConfigError(j, "kmip.abandoned_after_s", "without quotes");
  j["kmip"]["abandoned_after_s"] = 5;
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kmip.abandoned_after.count(), 5);
}

TEST(ConfigRolesTest, KmipWrapperNeedsItsKeyName) {
  json j = KmipConfig();
  j["wrapper"] = {{"type", "kmip"}};
  ExpectConfigError(j, "kmip.wrapping_key", "name the AES-256 key-encryption key");
  j["kmip"]["wrapping_key"] = "keyring_locker-kek";
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kmip.wrapping_key, "keyring_locker-kek");
  j = KmipConfig();
  j["kmip"]["wrapping_key"] = "kek";
  ExpectConfigError(j, "kmip.wrapping_key", "set wrapper.type to \"kmip\"");
}

TEST(ConfigRolesTest, TurningKmipVerificationOffIsLoud) {
  json j = KmipConfig();
  j["kmip"]["verify"] = false;
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->kmip.transport.verify_peer);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("NOT checked"));
  EXPECT_THAT(DescribeConfig(*c), HasSubstr("verify OFF"));
}


json AwsConfig() {
  return json::parse(R"({
    "store": {"type": "directory", "path": "/var/lib/mysql/keyring_locker"},
    "wrapper": {"type": "aws_kms"},
    "aws_kms": {"region": "eu-west-1",
                "key_id": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
    "keys": {"scope": "prod/db1"}
  })");
}

TEST(ConfigRolesTest, AwsKmsWrapsKeysOfADirectoryWithoutVault) {
  auto c = ParseTestConfig(AwsConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.wrapper, "aws_kms");
  EXPECT_TRUE(c->roles.UsesAwsKms());
  EXPECT_FALSE(c->roles.UsesVault());
  EXPECT_EQ(c->aws_kms.regions, std::vector<std::string>{"eu-west-1"});
  EXPECT_TRUE(c->aws_kms.endpoints.empty());
  EXPECT_EQ(c->aws_kms.credentials.source, "chain");
  EXPECT_EQ(c->aws_kms.credentials.imds_endpoint, "http://169.254.169.254");
  EXPECT_TRUE(c->aws_kms.verify);
  EXPECT_TRUE(c->warnings.empty());
  const std::string d = DescribeConfig(*c);
  EXPECT_THAT(d, HasSubstr("wrapped by aws_kms"));
  EXPECT_THAT(d, HasSubstr("aws_kms:  key arn:aws:kms:eu-west-1"));
  EXPECT_THAT(d, HasSubstr("credentials chain"));

  // Vault KV as the store with the cloud wrapper: the Vault groups are read.
  json j = MinimalConfig();
  j["wrapper"] = {{"type", "aws_kms"}};
  j["aws_kms"] = {{"regions", {"eu-west-1", "eu-central-1"}},
                  {"endpoints", {"https://kms-fips.eu-west-1.amazonaws.com/", "https://10.0.0.5"}},
                  {"key_id", "mrk-1234abcd12ab34cd56ef1234567890ab"},
                  {"credentials", "file"},
                  {"profile", "db"},
                  {"credentials_file", "/etc/keyring_locker/aws-credentials"},
                  {"ca_file", "/etc/ssl/private-ca.pem"}};
  c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->roles.UsesVault());
  EXPECT_EQ(c->roles.store, "vault");
  EXPECT_EQ(c->aws_kms.endpoints[0], "https://kms-fips.eu-west-1.amazonaws.com");
  EXPECT_EQ(c->aws_kms.credentials.profile, "db");
  EXPECT_EQ(c->aws_kms.credentials.file, "/etc/keyring_locker/aws-credentials");
}

TEST(ConfigRolesTest, AwsKmsRefusesBadCombinationsNamingTheFix) {
  json j = AwsConfig();
  j["aws_kms"].erase("region");
  ExpectConfigError(j, "aws_kms.region", "name the KMS key's region");
  j = AwsConfig();
  j["aws_kms"]["regions"] = {"eu-west-1"};
  ExpectConfigError(j, "aws_kms.region", "keep one");
  j = AwsConfig();
  j["aws_kms"]["region"] = "EU West";
  ExpectConfigError(j, "aws_kms.regions", "\"eu-west-1\"");
  j = AwsConfig();
  j["aws_kms"].erase("key_id");
  ExpectConfigError(j, "aws_kms.key_id", "its ARN, id or \"alias/NAME\"");
  j = AwsConfig();
  j["aws_kms"]["region"] = "us-east-1";
  ExpectConfigError(j, "aws_kms.key_id", "set the region to the key's own");
  j = AwsConfig();
  j["aws_kms"].erase("region");
  j["aws_kms"]["regions"] = {"eu-west-1", "eu-central-1"};
  ExpectConfigError(j, "aws_kms.key_id", "multi-region key's id");
  j = AwsConfig();
  j["aws_kms"]["endpoints"] = {"http://kms.local", "https://b"};
  ExpectConfigError(j, "aws_kms.endpoints", "one https:// URL per region");
  j["aws_kms"]["endpoints"] = {"http://kms.local"};
  ExpectConfigError(j, "aws_kms.endpoints", "no plain http");
  j = AwsConfig();
  j["aws_kms"]["credentials"] = "instance";
  ExpectConfigError(j, "aws_kms.credentials", "\"chain\"");
  j["aws_kms"]["credentials"] = "env";
  j["aws_kms"]["profile"] = "db";
  ExpectConfigError(j, "aws_kms.profile", "set credentials to \"file\" or \"chain\"");
  j["aws_kms"].erase("profile");
  j["aws_kms"]["imds_endpoint"] = "http://127.0.0.1:1338";
  ExpectConfigError(j, "aws_kms.imds_endpoint", "set credentials to \"imds\" or \"chain\"");
  j["aws_kms"]["credentials"] = "imds";
  j["aws_kms"]["imds_endpoint"] = "https://169.254.169.254/latest";
  ExpectConfigError(j, "aws_kms.imds_endpoint", "http://");
  j = AwsConfig();
  j["aws_kms"]["credentials_file"] = "aws/credentials";
  ExpectConfigError(j, "aws_kms.credentials_file", "give the full path");
  // The group without the wrapper, and the wrapper over KMIP objects.
  j = MinimalConfig();
  j["aws_kms"] = AwsConfig()["aws_kms"];
  ExpectConfigError(j, "aws_kms", "set wrapper.type to \"aws_kms\"");
  j = KmipConfig();
  j["wrapper"] = {{"type", "aws_kms"}};
  ExpectConfigError(j, "wrapper.type", "store.type \"directory\" or \"vault\"");
  j = AwsConfig();
  j["store"] = {{"type", "directory"}};
  ExpectConfigError(j, "store.path", "name the folder");
}

TEST(ConfigRolesTest, TurningAwsKmsVerificationOffIsLoud) {
  json j = AwsConfig();
  j["aws_kms"]["verify"] = false;
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("aws_kms.verify is false"));
}

}  // namespace
}  // namespace keyring_locker
