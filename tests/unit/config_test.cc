#include "keyring_backend/config/config.h"
#include "tests/support/config_test_util.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace keyring_locker {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using testing::ExpectConfigError;
using testing::MinimalConfig;
using testing::ParseTestConfig;

TEST(ConfigTest, MinimalConfigTakesDocumentedDefaults) {
  StatusOr<Config> c = ParseTestConfig(MinimalConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->locker_type, "vault");
  EXPECT_EQ(c->http.endpoints, std::vector<std::string>{"https://vault1:8200"});
  EXPECT_EQ(c->vault.ns, "");
  EXPECT_EQ(c->vault.kv_mount, "secret");
  EXPECT_EQ(c->vault.kv_version, 0);
  EXPECT_EQ(c->vault.transit_mount, "transit");
  EXPECT_EQ(c->vault.transit_key, "keyring_locker");
  EXPECT_EQ(c->keys.prefix, "keyring_locker");
  EXPECT_EQ(c->keys.scope, "prod/db1");
  EXPECT_EQ(c->auth.method, AuthOptions::Method::kToken);
  EXPECT_EQ(c->auth.token_file, "/etc/keyring_locker/token");
  EXPECT_EQ(c->auth.approle_mount, "approle");
  EXPECT_EQ(c->auth.cert_mount, "cert");
  EXPECT_NEAR(c->auth.renew_fraction, 2.0 / 3.0, 1e-9);
  EXPECT_TRUE(c->http.tls.verify);
  EXPECT_EQ(c->http.tls.min_version, "1.2");
  EXPECT_EQ(c->http.connect_timeout.count(), 2000);
  EXPECT_EQ(c->http.total_timeout.count(), 10000);
  EXPECT_EQ(c->http.max_retries, 3);
  EXPECT_EQ(c->http.backoff_initial.count(), 100);
  EXPECT_EQ(c->http.backoff_max.count(), 2000);
  EXPECT_EQ(c->http.max_response_bytes, 4194304u);
  EXPECT_FALSE(c->http.allow_plain_http);
  EXPECT_EQ(c->cache.version_refresh.count(), 60);
  EXPECT_EQ(c->cache.max_keys, 100000u);
  EXPECT_EQ(c->audit.path, "");
  EXPECT_TRUE(c->warnings.empty());
}

TEST(ConfigTest, EveryOptionIsMapped) {
  json j = json::parse(R"({
    "locker": {"type": "vault", "urls": ["https://v1:8200/", "https://v2:8200"],
               "namespace": "team/a", "kv_mount": "kv-db", "kv_version": 2,
               "transit_mount": "tr", "transit_key": "kek1"},
    "keys": {"prefix": "klk", "scope": "eu.prod/db-7"},
    "auth": {"method": "approle", "approle": {"mount": "ar", "role_id": "rid-1",
             "secret_id_env": "SID"}, "renew_fraction": 0.5},
    "tls": {"ca_file": "/ca.pem", "ca_dir": "/cas", "client_cert": "/c.pem",
            "client_key": "/k.pem", "pinned_public_key": "sha256//abc=", "min_version": "1.3"},
    "timeouts": {"connect_ms": 500, "total_ms": 700},
    "retries": {"max": 0, "backoff_initial_ms": 10, "backoff_max_ms": 20},
    "limits": {"max_response_bytes": 1024},
    "cache": {"version_refresh_s": 5, "max_keys": 7},
    "audit": {"path": "/var/log/klk.audit", "actor": "db1"}
  })");
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.endpoints, (std::vector<std::string>{"https://v1:8200", "https://v2:8200"}));
  EXPECT_EQ(c->vault.ns, "team/a");
  EXPECT_EQ(c->vault.kv_mount, "kv-db");
  EXPECT_EQ(c->vault.kv_version, 2);
  EXPECT_EQ(c->vault.transit_mount, "tr");
  EXPECT_EQ(c->vault.transit_key, "kek1");
  EXPECT_EQ(c->keys.prefix, "klk");
  EXPECT_EQ(c->keys.scope, "eu.prod/db-7");
  EXPECT_EQ(c->auth.method, AuthOptions::Method::kAppRole);
  EXPECT_EQ(c->auth.approle_mount, "ar");
  EXPECT_EQ(c->auth.role_id, "rid-1");
  EXPECT_EQ(c->auth.secret_id_env, "SID");
  EXPECT_DOUBLE_EQ(c->auth.renew_fraction, 0.5);
  EXPECT_EQ(c->http.tls.ca_file, "/ca.pem");
  EXPECT_EQ(c->http.tls.ca_dir, "/cas");
  EXPECT_EQ(c->http.tls.client_cert, "/c.pem");
  EXPECT_EQ(c->http.tls.client_key, "/k.pem");
  EXPECT_EQ(c->http.tls.pinned_public_key, "sha256//abc=");
  EXPECT_EQ(c->http.tls.min_version, "1.3");
  EXPECT_EQ(c->http.connect_timeout.count(), 500);
  EXPECT_EQ(c->http.total_timeout.count(), 700);
  EXPECT_EQ(c->http.max_retries, 0);
  EXPECT_EQ(c->http.backoff_initial.count(), 10);
  EXPECT_EQ(c->http.backoff_max.count(), 20);
  EXPECT_EQ(c->http.max_response_bytes, 1024u);
  EXPECT_EQ(c->cache.version_refresh.count(), 5);
  EXPECT_EQ(c->cache.max_keys, 7u);
  EXPECT_EQ(c->audit.path, "/var/log/klk.audit");
  EXPECT_EQ(c->audit.actor, "db1");
}

TEST(ConfigTest, KvVersionAutoOneTwo) {
  json j = MinimalConfig();
  for (auto [value, expected] : {std::pair{json("auto"), 0}, std::pair{json(1), 1},
                                 std::pair{json(2), 2}}) {
    j["locker"]["kv_version"] = value;
    StatusOr<Config> c = ParseTestConfig(j);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->vault.kv_version, expected);
  }
  j["locker"]["kv_version"] = 3;
  ExpectConfigError(j, "locker.kv_version", "\"auto\"");
  j["locker"]["kv_version"] = "2";
  ExpectConfigError(j, "locker.kv_version", "\"auto\"");
}

TEST(ConfigTest, UnboundDocumentsAreReadUnlessRefused) {
  json j = MinimalConfig();
  EXPECT_TRUE(ParseTestConfig(j)->keys.read_unbound_documents);  // installations from before binding keep working
  j["keys"]["unbound_documents"] = "refuse";
  EXPECT_FALSE(ParseTestConfig(j)->keys.read_unbound_documents);
  j["keys"]["unbound_documents"] = "read";
  EXPECT_TRUE(ParseTestConfig(j)->keys.read_unbound_documents);
  j["keys"]["unbound_documents"] = "never";
  ExpectConfigError(j, "keys.unbound_documents", "\"refuse\"");
}

TEST(ConfigTest, LockerUrlsAreRequiredAndHttpsOnly) {
  json j = MinimalConfig();
  j["locker"].erase("urls");
  ExpectConfigError(j, "locker.urls", "https://vault1:8200");
  j["locker"]["urls"] = json::array();
  ExpectConfigError(j, "locker.urls", "add the locker's address");
  j["locker"]["urls"] = {"https://ok:8200", "http://vault:8200"};
  ExpectConfigError(j, "locker.urls[1]", "use the locker's https:// address");
  j["locker"]["urls"] = {"ftp://vault"};
  ExpectConfigError(j, "locker.urls[0]", "https://host:port");
  j["locker"]["urls"] = {"https://vault:8200/v1"};
  ExpectConfigError(j, "locker.urls[0]", "remove \"/v1\"");
  j["locker"]["urls"] = {"https://a:8200", "https://a:8200/"};
  ExpectConfigError(j, "locker.urls[1]", "list each address once");
  j["locker"]["urls"] = {"https://user:pw@vault:8200"};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("authentication is set in the auth group"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("pw@")));
  j["locker"]["urls"] = "https://vault:8200";
  ExpectConfigError(j, "locker.urls", "[\"...\", \"...\"]");
  j["locker"]["urls"] = {"https://v:8200"};
  j["locker"]["type"] = "kmip";
  ExpectConfigError(j, "locker.type", "use \"vault\"");
}

TEST(ConfigTest, ScopeIsRequiredAndNamesAreChecked) {
  json j = MinimalConfig();
  j["keys"].erase("scope");
  ExpectConfigError(j, "keys.scope", "e.g. \"prod/db1\"");
  for (const char* bad : {"", "/prod", "prod/", "prod/../x", "a//b", "pr od", "a/./b"}) {
    j["keys"]["scope"] = bad;
    ExpectConfigError(j, "keys.scope", "prod/db1");
  }
  j["keys"]["scope"] = std::string(129, 'a');
  ExpectConfigError(j, "keys.scope", "prod/db1");
  j["keys"]["scope"] = std::string(128, 'a');
  EXPECT_TRUE(ParseTestConfig(j).ok());
  j["locker"]["kv_mount"] = "se cret";
  ExpectConfigError(j, "locker.kv_mount", "mount or key name");
  j["locker"]["kv_mount"] = "secret";
  j["locker"]["transit_key"] = "a/b";
  ExpectConfigError(j, "locker.transit_key", "mount or key name");
}

TEST(ConfigTest, AuthMethodAndItsInputsAreRequired) {
  json j = MinimalConfig();
  j["auth"].erase("method");
  ExpectConfigError(j, "auth.method", "\"token\", \"approle\" or \"cert\"");
  j["auth"]["method"] = "ldap";
  ExpectConfigError(j, "auth.method", "\"token\", \"approle\" or \"cert\"");
  j["auth"] = {{"method", "token"}};
  ExpectConfigError(j, "auth.token_file", "set exactly one");
  j["auth"]["token_file"] = "/t";
  j["auth"]["token_env"] = "VAULT_TOKEN";
  ExpectConfigError(j, "auth.token_file", "set exactly one");
  j["auth"] = {{"method", "token"}, {"token_env", "hvs.CAESIabc"}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("auth.token_env"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("hvs.CAESIabc")));
  j["auth"] = {{"method", "token"}, {"token_file", "relative/token"}};
  ExpectConfigError(j, "auth.token_file", "give the full path");

  j["auth"] = {{"method", "approle"}, {"approle", {{"secret_id_file", "/s"}}}};
  ExpectConfigError(j, "auth.approle.role_id", "role-id");
  j["auth"]["approle"]["role_id"] = "r";
  j["auth"]["approle"]["secret_id_env"] = "SID";
  ExpectConfigError(j, "auth.approle.secret_id_file", "set exactly one");
  j["auth"]["approle"].erase("secret_id_env");
  EXPECT_TRUE(ParseTestConfig(j).ok());

  j["auth"] = {{"method", "cert"}};
  ExpectConfigError(j, "auth.method", "tls.client_cert");
  j["tls"] = {{"client_cert", "/c.pem"}};
  ExpectConfigError(j, "tls.client_key", "set both tls.client_cert and tls.client_key");
  j["tls"]["client_key"] = "/k.pem";
  c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.method, AuthOptions::Method::kCert);
}

TEST(ConfigTest, SettingsForAnotherAuthMethodAreWarnedAbout) {
  json j = MinimalConfig();
  j["auth"]["approle"] = {{"role_id", "r"}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("auth.approle is set but ignored"));
}

TEST(ConfigTest, UnknownFieldsNameThePathAndSuggestTheClosestKey) {
  json j = MinimalConfig();
  j["tls"] = {{"ca_fiel", "/ca.pem"}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "test.json: tls.ca_fiel: is not a known option; did you mean tls.ca_file?");
  j = MinimalConfig();
  j["auth"]["approle"] = {{"rolle_id", "x"}};
  ExpectConfigError(j, "auth.approle.rolle_id", "did you mean auth.approle.role_id?");
  j = MinimalConfig();
  j["lockr"] = json::object();
  ExpectConfigError(j, "lockr", "did you mean locker?");
  j = MinimalConfig();
  j["cache"] = {{"colour", "blue"}};
  ExpectConfigError(j, "cache.colour", "the options in cache are: version_refresh_s, max_keys");
  j = MinimalConfig();
  j["tls"] = "on";
  ExpectConfigError(j, "tls", "must be a JSON object");
}

TEST(ConfigTest, WrongTypesAreNamedWithTheValueSeen) {
  json j = MinimalConfig();
  j["timeouts"] = {{"total_ms", "10s"}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr("timeouts.total_ms: must be a positive integer (milliseconds), got \"10s\""));
  EXPECT_THAT(c.status().message(), HasSubstr("write a plain number"));
  j = MinimalConfig();
  j["timeouts"] = {{"connect_ms", 1.5}};
  ExpectConfigError(j, "timeouts.connect_ms", "write a plain number");
  j = MinimalConfig();
  j["tls"] = {{"verify", "false"}};
  ExpectConfigError(j, "tls.verify", "true or false without quotes");
  j = MinimalConfig();
  j["keys"]["scope"] = 7;
  ExpectConfigError(j, "keys.scope", "double quotes");
  j = MinimalConfig();
  j["locker"]["urls"] = {"https://a", 5};
  ExpectConfigError(j, "locker.urls[1]", "double quotes");
}

TEST(ConfigTest, RangesAreEnforced) {
  struct Case { const char* group; const char* key; json value; };
  const Case bad[] = {
      {"timeouts", "connect_ms", 0},           {"timeouts", "connect_ms", 600001},
      {"timeouts", "total_ms", 3600001},       {"retries", "max", 11},
      {"retries", "max", -1},                  {"auth", "renew_fraction", 0.95},
      {"auth", "renew_fraction", 0.05},        {"cache", "version_refresh_s", 0},
      {"cache", "version_refresh_s", 86401},   {"cache", "max_keys", 0},
      {"cache", "max_keys", 10000001},         {"limits", "max_response_bytes", 1023},
      {"limits", "max_response_bytes", 33554433},
      {"timeouts", "total_ms", json(18446744073709551615ull)},
  };
  for (const Case& k : bad) {
    json j = MinimalConfig();
    j[k.group][k.key] = k.value;
    ExpectConfigError(j, std::string(k.group) + "." + k.key, "range");
  }
  json j = MinimalConfig();
  j["timeouts"] = {{"connect_ms", 5000}, {"total_ms", 4000}};
  ExpectConfigError(j, "timeouts.total_ms", "at least connect_ms");
  j = MinimalConfig();
  j["retries"] = {{"max", 10}, {"backoff_initial_ms", 1}};
  j["limits"] = {{"max_response_bytes", 33554432}};
  j["cache"] = {{"version_refresh_s", 86400}, {"max_keys", 10000000}};
  j["auth"]["renew_fraction"] = 0.9;
  EXPECT_TRUE(ParseTestConfig(j).ok()) << ParseTestConfig(j).status().ToString();
}

TEST(ConfigTest, TlsVerifyOffIsAcceptedWithAWarning) {
  json j = MinimalConfig();
  j["tls"] = {{"verify", false}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->http.tls.verify);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0],
            "TLS verification is OFF (tls.verify=false): anyone on the network path can read "
            "keys; never use in production");
  j["tls"]["min_version"] = "1.1";
  ExpectConfigError(j, "tls.min_version", "not supported");
}

TEST(ConfigTest, InlineSecretsAreRefusedWithoutEchoingThem) {
  struct Case { json patch; const char* field; const char* fix; };
  const Case cases[] = {
      {{{"auth", {{"token", "s3cr3t-A"}}}}, "auth.token", "auth.token_file"},
      {{{"auth", {{"approle", {{"secret_id", "s3cr3t-A"}}}}}}, "auth.approle.secret_id",
       "auth.approle.secret_id_file"},
      {{{"tls", {{"password", "s3cr3t-A"}}}}, "tls.password", "tls.client_key_password_file"},
      {{{"tls", {{"client_key_password", "s3cr3t-A"}}}}, "tls.client_key_password",
       "tls.client_key_password_file"},
  };
  for (const Case& k : cases) {
    json j = MinimalConfig();
    j.merge_patch(k.patch);
    ExpectConfigError(j, k.field, k.fix);
    EXPECT_THAT(ParseTestConfig(j).status().message(), Not(HasSubstr("s3cr3t-A")));
  }
}

TEST(ConfigTest, InvalidJsonReportsTheByteAndNotTheText) {
  StatusOr<Config> c = ParseConfig("{\"auth\": {\"token\": \"s3cr3t-B", "cfg.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), StartsWith("cfg.json: not valid JSON at byte "));
  EXPECT_THAT(c.status().message(), HasSubstr("fix the syntax"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("s3cr3t-B")));
  c = ParseConfig("{\"keys\": {} ,}", "cfg.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), StartsWith("cfg.json: not valid JSON at byte 14"));
  c = ParseConfig("[1]", "cfg.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("must be a JSON object"));
}

TEST(ConfigTest, DuplicateKeysAreRefused) {
  StatusOr<Config> c = ParseConfig(
      R"({"locker": {"urls": ["https://a"]}, "keys": {"scope": "s"},
          "auth": {"method": "token", "token_env": "T"},
          "tls": {"verify": true, "verify": false}})",
      "cfg.json");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("cfg.json: tls.verify: appears twice"));
  EXPECT_THAT(c.status().message(), HasSubstr("keep only one"));
}

}  // namespace
}  // namespace keyring_locker
