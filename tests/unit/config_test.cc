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

json Minimal() { return testing::MinimalConfig(); }
StatusOr<Config> Parse(const json& j) { return testing::ParseTestConfig(j); }
void ExpectError(const json& j, const std::string& field, const std::string& fix) {
  testing::ExpectConfigError(j, field, fix);
}

TEST(ConfigTest, MinimalConfigTakesDocumentedDefaults) {
  StatusOr<Config> c = Parse(Minimal());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->locker_type, "vault");
  EXPECT_EQ(c->http.endpoints, std::vector<std::string>{"https://vault1:8200"});
  EXPECT_EQ(c->http.ns, "");
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
  StatusOr<Config> c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.endpoints, (std::vector<std::string>{"https://v1:8200", "https://v2:8200"}));
  EXPECT_EQ(c->http.ns, "team/a");
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
  json j = Minimal();
  for (auto [value, expected] : {std::pair{json("auto"), 0}, std::pair{json(1), 1},
                                 std::pair{json(2), 2}}) {
    j["locker"]["kv_version"] = value;
    StatusOr<Config> c = Parse(j);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->vault.kv_version, expected);
  }
  j["locker"]["kv_version"] = 3;
  ExpectError(j, "locker.kv_version", "\"auto\"");
  j["locker"]["kv_version"] = "2";
  ExpectError(j, "locker.kv_version", "\"auto\"");
}

TEST(ConfigTest, LockerUrlsAreRequiredAndHttpsOnly) {
  json j = Minimal();
  j["locker"].erase("urls");
  ExpectError(j, "locker.urls", "https://vault1:8200");
  j["locker"]["urls"] = json::array();
  ExpectError(j, "locker.urls", "add the locker's address");
  j["locker"]["urls"] = {"https://ok:8200", "http://vault:8200"};
  ExpectError(j, "locker.urls[1]", "use the locker's https:// address");
  j["locker"]["urls"] = {"ftp://vault"};
  ExpectError(j, "locker.urls[0]", "https://host:port");
  j["locker"]["urls"] = {"https://vault:8200/v1"};
  ExpectError(j, "locker.urls[0]", "remove \"/v1\"");
  j["locker"]["urls"] = {"https://a:8200", "https://a:8200/"};
  ExpectError(j, "locker.urls[1]", "list each address once");
  j["locker"]["urls"] = {"https://user:pw@vault:8200"};
  StatusOr<Config> c = Parse(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("authentication is set in the auth group"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("pw@")));
  j["locker"]["urls"] = "https://vault:8200";
  ExpectError(j, "locker.urls", "[\"...\", \"...\"]");
  j["locker"]["urls"] = {"https://v:8200"};
  j["locker"]["type"] = "kmip";
  ExpectError(j, "locker.type", "use \"vault\"");
}

TEST(ConfigTest, ScopeIsRequiredAndNamesAreChecked) {
  json j = Minimal();
  j["keys"].erase("scope");
  ExpectError(j, "keys.scope", "e.g. \"prod/db1\"");
  for (const char* bad : {"", "/prod", "prod/", "prod/../x", "a//b", "pr od", "a/./b"}) {
    j["keys"]["scope"] = bad;
    ExpectError(j, "keys.scope", "prod/db1");
  }
  j["keys"]["scope"] = std::string(129, 'a');
  ExpectError(j, "keys.scope", "prod/db1");
  j["keys"]["scope"] = std::string(128, 'a');
  EXPECT_TRUE(Parse(j).ok());
  j["locker"]["kv_mount"] = "se cret";
  ExpectError(j, "locker.kv_mount", "mount or key name");
  j["locker"]["kv_mount"] = "secret";
  j["locker"]["transit_key"] = "a/b";
  ExpectError(j, "locker.transit_key", "mount or key name");
}

TEST(ConfigTest, AuthMethodAndItsInputsAreRequired) {
  json j = Minimal();
  j["auth"].erase("method");
  ExpectError(j, "auth.method", "\"token\", \"approle\" or \"cert\"");
  j["auth"]["method"] = "ldap";
  ExpectError(j, "auth.method", "\"token\", \"approle\" or \"cert\"");
  j["auth"] = {{"method", "token"}};
  ExpectError(j, "auth.token_file", "set exactly one");
  j["auth"]["token_file"] = "/t";
  j["auth"]["token_env"] = "VAULT_TOKEN";
  ExpectError(j, "auth.token_file", "set exactly one");
  j["auth"] = {{"method", "token"}, {"token_env", "hvs.CAESIabc"}};
  StatusOr<Config> c = Parse(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("auth.token_env"));
  EXPECT_THAT(c.status().message(), Not(HasSubstr("hvs.CAESIabc")));
  j["auth"] = {{"method", "token"}, {"token_file", "relative/token"}};
  ExpectError(j, "auth.token_file", "give the full path");

  j["auth"] = {{"method", "approle"}, {"approle", {{"secret_id_file", "/s"}}}};
  ExpectError(j, "auth.approle.role_id", "role-id");
  j["auth"]["approle"]["role_id"] = "r";
  j["auth"]["approle"]["secret_id_env"] = "SID";
  ExpectError(j, "auth.approle.secret_id_file", "set exactly one");
  j["auth"]["approle"].erase("secret_id_env");
  EXPECT_TRUE(Parse(j).ok());

  j["auth"] = {{"method", "cert"}};
  ExpectError(j, "auth.method", "tls.client_cert");
  j["tls"] = {{"client_cert", "/c.pem"}};
  ExpectError(j, "tls.client_key", "set both tls.client_cert and tls.client_key");
  j["tls"]["client_key"] = "/k.pem";
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->auth.method, AuthOptions::Method::kCert);
}

TEST(ConfigTest, SettingsForAnotherAuthMethodAreWarnedAbout) {
  json j = Minimal();
  j["auth"]["approle"] = {{"role_id", "r"}};
  StatusOr<Config> c = Parse(j);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr("auth.approle is set but ignored"));
}

TEST(ConfigTest, UnknownFieldsNameThePathAndSuggestTheClosestKey) {
  json j = Minimal();
  j["tls"] = {{"ca_fiel", "/ca.pem"}};
  StatusOr<Config> c = Parse(j);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "test.json: tls.ca_fiel: is not a known option; did you mean tls.ca_file?");
  j = Minimal();
  j["auth"]["approle"] = {{"rolle_id", "x"}};
  ExpectError(j, "auth.approle.rolle_id", "did you mean auth.approle.role_id?");
  j = Minimal();
  j["lockr"] = json::object();
  ExpectError(j, "lockr", "did you mean locker?");
  j = Minimal();
  j["cache"] = {{"colour", "blue"}};
  ExpectError(j, "cache.colour", "the options in cache are: version_refresh_s, max_keys");
  j = Minimal();
  j["tls"] = "on";
  ExpectError(j, "tls", "must be a JSON object");
}

TEST(ConfigTest, WrongTypesAreNamedWithTheValueSeen) {
  json j = Minimal();
  j["timeouts"] = {{"total_ms", "10s"}};
  StatusOr<Config> c = Parse(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr("timeouts.total_ms: must be a positive integer (milliseconds), got \"10s\""));
  EXPECT_THAT(c.status().message(), HasSubstr("write a plain number"));
  j = Minimal();
  j["timeouts"] = {{"connect_ms", 1.5}};
  ExpectError(j, "timeouts.connect_ms", "write a plain number");
  j = Minimal();
  j["tls"] = {{"verify", "false"}};
  ExpectError(j, "tls.verify", "true or false without quotes");
  j = Minimal();
  j["keys"]["scope"] = 7;
  ExpectError(j, "keys.scope", "double quotes");
  j = Minimal();
  j["locker"]["urls"] = {"https://a", 5};
  ExpectError(j, "locker.urls[1]", "double quotes");
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
    json j = Minimal();
    j[k.group][k.key] = k.value;
    ExpectError(j, std::string(k.group) + "." + k.key, "range");
  }
  json j = Minimal();
  j["timeouts"] = {{"connect_ms", 5000}, {"total_ms", 4000}};
  ExpectError(j, "timeouts.total_ms", "at least connect_ms");
  j = Minimal();
  j["retries"] = {{"max", 10}, {"backoff_initial_ms", 1}};
  j["limits"] = {{"max_response_bytes", 33554432}};
  j["cache"] = {{"version_refresh_s", 86400}, {"max_keys", 10000000}};
  j["auth"]["renew_fraction"] = 0.9;
  EXPECT_TRUE(Parse(j).ok()) << Parse(j).status().ToString();
}

TEST(ConfigTest, TlsVerifyOffIsAcceptedWithAWarning) {
  json j = Minimal();
  j["tls"] = {{"verify", false}};
  StatusOr<Config> c = Parse(j);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->http.tls.verify);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0],
            "TLS verification is OFF (tls.verify=false): anyone on the network path can read "
            "keys; never use in production");
  j["tls"]["min_version"] = "1.1";
  ExpectError(j, "tls.min_version", "not supported");
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
    json j = Minimal();
    j.merge_patch(k.patch);
    ExpectError(j, k.field, k.fix);
    EXPECT_THAT(Parse(j).status().message(), Not(HasSubstr("s3cr3t-A")));
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
