// The "azure" group (wrapper.type "azure_key_vault"): what a good config
// gives, and every combination that cannot work refused with the field and
// the fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/config_test_util.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::ExpectConfigError;
using testing::ParseTestConfig;

json AzureConfig(const std::string& auth = "client_secret") {
  json c = json::parse(R"({
    "store": {"type": "directory", "path": "/var/lib/mysql-keyring/keys"},
    "wrapper": {"type": "azure_key_vault"},
    "azure": {"vault_url": "https://db-keys.vault.azure.net/", "key_name": "keyring-locker"},
    "keys": {"scope": "prod/db1"},
    "timeouts": {"connect_ms": 1500, "total_ms": 4000},
    "retries": {"max": 2}
  })");
  c["azure"]["auth"] = auth;
  if (auth == "client_secret" || auth == "client_certificate") {
    c["azure"]["tenant_id"] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    c["azure"]["client_id"] = "0b1e7c2d-5f5a-4a5e-9d6c-3c1f2e4d5a6b";
  }
  if (auth == "client_secret") c["azure"]["secret_file"] = "/etc/keyring_locker/azure-secret";
  if (auth == "client_certificate") c["azure"]["certificate_file"] = "/etc/keyring_locker/azure-sp.pem";
  return c;
}

TEST(ConfigAzureTest, AServicePrincipalWithASecret) {
  auto c = ParseTestConfig(AzureConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.wrapper, "azure_key_vault");
  EXPECT_TRUE(c->roles.UsesAzure());
  EXPECT_FALSE(c->roles.UsesVault());
  const azure::AzureOptions& a = c->azure;
  EXPECT_EQ(a.vault_url, "https://db-keys.vault.azure.net") << "the trailing '/' is dropped";
  EXPECT_EQ(a.key_name, "keyring-locker");
  EXPECT_TRUE(a.key_version.empty());
  EXPECT_EQ(a.algorithm, "RSA-OAEP-256");
  EXPECT_EQ(a.auth, azure::AuthMethod::kClientSecret);
  EXPECT_EQ(a.authority_host, "https://login.microsoftonline.com");
  EXPECT_TRUE(a.http.tls.verify);
  EXPECT_EQ(a.http.connect_timeout.count(), 1500);
  EXPECT_EQ(a.http.total_timeout.count(), 4000);
  EXPECT_EQ(a.http.max_retries, 2);
  EXPECT_TRUE(c->warnings.empty());
  const std::string d = DescribeConfig(*c);
  EXPECT_THAT(d, HasSubstr("wrapped by azure_key_vault"));
  EXPECT_THAT(d, HasSubstr("https://db-keys.vault.azure.net key keyring-locker (latest version)"));
}

TEST(ConfigAzureTest, ACertificateAndAManagedIdentity) {
  auto cert = ParseTestConfig(AzureConfig("client_certificate"));
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_EQ(cert->azure.auth, azure::AuthMethod::kClientCertificate);
  EXPECT_EQ(cert->azure.certificate_file, "/etc/keyring_locker/azure-sp.pem");

  json mi = AzureConfig("managed_identity");
  mi["azure"]["client_id"] = "0b1e7c2d-5f5a-4a5e-9d6c-3c1f2e4d5a6b";  // a user-assigned identity
  mi["azure"]["key_version"] = "78deebed173b48e48f55abf87ed4cf71";
  mi["azure"]["algorithm"] = "RSA-OAEP";
  auto c = ParseTestConfig(mi);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->azure.auth, azure::AuthMethod::kManagedIdentity);
  EXPECT_EQ(c->azure.imds_endpoint, "http://169.254.169.254");
  EXPECT_EQ(c->azure.key_version, "78deebed173b48e48f55abf87ed4cf71");
  EXPECT_EQ(c->azure.algorithm, "RSA-OAEP");
}

TEST(ConfigAzureTest, WorksWithTheVaultKvStore) {
  json j = testing::MinimalConfig();
  j["wrapper"] = {{"type", "azure_key_vault"}};
  j["azure"] = AzureConfig("managed_identity")["azure"];
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->roles.store, "vault");
  EXPECT_TRUE(c->roles.UsesVault());
  EXPECT_TRUE(c->roles.UsesAzure());
}

TEST(ConfigAzureTest, VerifyOffIsAWarning) {
  json j = AzureConfig();
  j["azure"]["verify"] = false;
  auto c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("azure.verify is false"));
}

TEST(ConfigAzureTest, RefusesWhatCannotWork) {
  auto without = [](json j, const char* key) {
    j["azure"].erase(key);
    return j;
  };
  auto with = [](json j, const char* key, json value) {
    j["azure"][key] = std::move(value);
    return j;
  };
  const json secret = AzureConfig();
  const json cert = AzureConfig("client_certificate");
  const json mi = AzureConfig("managed_identity");

  ExpectConfigError(without(secret, "vault_url"), "azure.vault_url", "https://myvault.vault.azure.net");
  ExpectConfigError(with(secret, "vault_url", "http://db-keys.vault.azure.net"), "azure.vault_url", "https://host");
  ExpectConfigError(with(secret, "vault_url", "https://db-keys.vault.azure.net/keys/x"), "azure.vault_url",
                    "no path");
  ExpectConfigError(with(secret, "endpoints", json::array({"kv.internal:443"})), "azure.endpoints", "https://");
  ExpectConfigError(without(secret, "key_name"), "azure.key_name", "RSA key");
  ExpectConfigError(with(secret, "key_name", "my key"), "azure.key_name", "letters, digits and dashes");
  ExpectConfigError(with(secret, "key_version", "v/1"), "azure.key_version", "leave it out");
  ExpectConfigError(with(secret, "algorithm", "RSA1_5"), "azure.algorithm", "RSA-OAEP-256");
  ExpectConfigError(without(secret, "auth"), "azure.auth", "managed_identity");
  ExpectConfigError(with(secret, "auth", "password"), "azure.auth", "client_certificate");
  ExpectConfigError(without(secret, "tenant_id"), "azure.tenant_id", "directory (tenant) id");
  ExpectConfigError(without(secret, "client_id"), "azure.client_id", "application (client) id");
  ExpectConfigError(with(secret, "tenant_id", "contoso tenant"), "azure.tenant_id", "GUID");
  ExpectConfigError(without(secret, "secret_file"), "azure.secret_file", "client secret");
  ExpectConfigError(without(cert, "certificate_file"), "azure.certificate_file", "RSA private key");
  ExpectConfigError(with(secret, "certificate_file", "/etc/c.pem"), "azure.certificate_file",
                    "set azure.auth to \"client_certificate\"");
  ExpectConfigError(with(cert, "secret_file", "/etc/s"), "azure.secret_file", "set azure.auth to \"client_secret\"");
  ExpectConfigError(with(secret, "secret_file", "azure-secret"), "azure.secret_file", "full path");
  ExpectConfigError(with(secret, "imds_endpoint", "http://169.254.169.254"), "azure.imds_endpoint",
                    "only for \"managed_identity\"");
  ExpectConfigError(with(mi, "secret_file", "/etc/s"), "azure.secret_file", "instance metadata service");
  ExpectConfigError(with(mi, "tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47"), "azure.tenant_id",
                    "instance metadata service");
  ExpectConfigError(with(secret, "client_secret", "hunter2"), "azure.client_secret", "azure.secret_file");
  ExpectConfigError(with(secret, "vault_uri", "x"), "azure.vault_uri", "vault_url");

  json orphan = testing::MinimalConfig();
  orphan["azure"] = secret["azure"];
  ExpectConfigError(orphan, "azure", "set wrapper.type to \"azure_key_vault\"");
  json store = AzureConfig();
  store["store"] = {{"type", "azure_key_vault"}};
  ExpectConfigError(store, "store.type", "use one of");
}

}  // namespace
}  // namespace keyring_locker
