// Where AWS credentials come from: the environment, the shared credentials
// file, IMDSv2 (a local stand-in for the instance metadata service), and
// the chain's order and refresh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "keyring_backend/aws/aws_credentials.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/http_test_server.h"

namespace keyring_locker::aws {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Each case starts with no AWS variables and restores none: the test
// program's environment is its own.
class AwsCredentialsTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                          "AWS_SHARED_CREDENTIALS_FILE"})
      unsetenv(v);
    setenv("HOME", dir_.c_str(), 1);
  }
  std::string WriteFile(const std::string& text) {
    const std::string path = dir_ + "/credentials";
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(AwsCredentialsTest, EnvironmentGivesKeyIdSecretAndToken) {
  EXPECT_EQ(CredentialsFromEnvironment().status().code(), Code::kNotFound);
  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  setenv("AWS_SESSION_TOKEN", "env-token", 1);
  auto c = CredentialsFromEnvironment();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->secret_access_key, "env-secret");
  EXPECT_EQ(c->session_token, "env-token");
  EXPECT_EQ(c->expiration, 0);
  // Half set is a mistake worth stopping on, and the secret is never shown.
  unsetenv("AWS_ACCESS_KEY_ID");
  auto half = CredentialsFromEnvironment();
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(half.status().message(), HasSubstr("AWS_ACCESS_KEY_ID is empty"));
  EXPECT_THAT(half.status().message(), Not(HasSubstr("env-secret")));
}

TEST_F(AwsCredentialsTest, SharedFileGivesTheNamedProfile) {
  const std::string path = WriteFile(
      "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n"
      "[db]\r\naws_access_key_id=AKIADB\r\naws_secret_access_key=db-secret\r\naws_session_token = db-token\r\n");
  auto d = CredentialsFromFile(path, "default");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->access_key_id, "AKIADEFAULT");
  EXPECT_EQ(d->secret_access_key, "default-secret");
  EXPECT_TRUE(d->session_token.empty());
  auto db = CredentialsFromFile(path, "db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(db->access_key_id, "AKIADB");
  EXPECT_EQ(db->session_token, "db-token");
  EXPECT_EQ(CredentialsFromFile(path, "absent").status().code(), Code::kNotFound);
  EXPECT_EQ(CredentialsFromFile(dir_ + "/none", "default").status().code(), Code::kNotFound);
  WriteFile("[default]\naws_access_key_id = AKIA\naws_secret_access_key = two words\n");
  auto bad = CredentialsFromFile(path, "default");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("two words")));
}

TEST_F(AwsCredentialsTest, TimestampsParseAsUtc) {
  EXPECT_EQ(ParseAwsTimestamp("1970-01-01T00:01:40Z"), 100);
  EXPECT_EQ(ParseAwsTimestamp("2026-12-05T08:00:00Z"), ParseAwsTimestamp("2026-12-05T08:00:00Z"));
  EXPECT_EQ(ParseAwsTimestamp("2026-12-05 08:00:00"), -1);
  EXPECT_EQ(ParseAwsTimestamp("2026-12-05T08:00:00Zjunk"), -1);
}

// IMDSv2: a token first (PUT with a TTL header), then the role's name and
// its credentials, each with the token.
struct ImdsStandIn {
  testing::TestServer server;
  std::atomic<int> token_requests{0}, credential_requests{0}, unauthorised{0};
  std::atomic<int> expires_in_s{3600};
  ImdsStandIn() {
    server.server().Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++token_requests;
      if (req.get_header_value("X-aws-ec2-metadata-token-ttl-seconds").empty()) {
        res.status = 400;
        return;
      }
      res.set_content("imds-session-token", "text/plain");
    });
    auto token_ok = [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token") == "imds-session-token") return true;
      ++unauthorised;
      res.status = 401;
      return false;
    };
    server.server().Get("/latest/meta-data/iam/security-credentials/",
                        [token_ok](const httplib::Request& req, httplib::Response& res) {
                          if (token_ok(req, res)) res.set_content("db-role\n", "text/plain");
                        });
    server.server().Get("/latest/meta-data/iam/security-credentials/db-role",
                        [this, token_ok](const httplib::Request& req, httplib::Response& res) {
                          if (!token_ok(req, res)) return;
                          const int n = ++credential_requests;
                          nlohmann::json j = {{"Code", "Success"},
                                              {"Type", "AWS-HMAC"},
                                              {"AccessKeyId", "ASIAIMDS" + std::to_string(n)},
                                              {"SecretAccessKey", "imds-secret"},
                                              {"Token", "imds-token"},
                                              {"Expiration", Rfc3339(std::time(nullptr) + expires_in_s.load())}};
                          res.set_content(j.dump(), "application/json");
                        });
    server.Start();
  }
};

TEST_F(AwsCredentialsTest, ImdsV2GivesTheRoleCredentialsAndRefreshesBeforeExpiry) {
  ImdsStandIn imds;
  CredentialOptions o;
  o.source = "imds";
  o.imds_endpoint = imds.server.url();
  auto p = CredentialProvider::Create(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto c = (*p)->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(c->secret_access_key, "imds-secret");
  EXPECT_EQ(c->session_token, "imds-token");
  EXPECT_EQ(c->source, "imds role db-role");
  EXPECT_GT(c->expiration, std::time(nullptr));
  EXPECT_EQ(imds.unauthorised.load(), 0) << "every metadata read carries the session token";
  // An hour left: kept.
  EXPECT_EQ((*p)->Get()->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(imds.credential_requests.load(), 1);

  // Credentials that expire within five minutes are looked up again.
  imds.expires_in_s = 120;
  (*p)->Invalidate();
  EXPECT_EQ((*p)->Get()->access_key_id, "ASIAIMDS2");
  EXPECT_EQ((*p)->Get()->access_key_id, "ASIAIMDS2") << "refreshed at most every ten seconds";
}

TEST_F(AwsCredentialsTest, ImdsDownKeepsUnexpiredCredentialsAndSaysWhyOtherwise) {
  auto imds = std::make_unique<ImdsStandIn>();
  CredentialOptions o;
  o.source = "imds";
  o.imds_endpoint = imds->server.url();
  o.imds_timeout = std::chrono::milliseconds(300);
  auto p = CredentialProvider::Create(o);
  ASSERT_TRUE((*p)->Get().ok());
  imds.reset();  // the metadata service goes away
  (*p)->Invalidate();
  auto kept = (*p)->Get();
  ASSERT_TRUE(kept.ok()) << "an hour-valid credential outlives a failed refresh: " << kept.status().ToString();
  EXPECT_EQ(kept->access_key_id, "ASIAIMDS1");

  auto fresh = CredentialProvider::Create(o);
  auto none = (*fresh)->Get();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  EXPECT_THAT(none.status().message(), HasSubstr("instance metadata service"));
}

TEST_F(AwsCredentialsTest, TheChainTriesEnvironmentThenFileThenImds) {
  ImdsStandIn imds;
  CredentialOptions o;  // chain
  o.imds_endpoint = imds.server.url();
  o.file = dir_ + "/credentials";
  auto p = CredentialProvider::Create(o);
  auto c = (*p)->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source, "imds role db-role");

  WriteFile("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n");
  (*p)->Invalidate();
  EXPECT_EQ((*p)->Get()->access_key_id, "AKIAFILE");

  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
  (*p)->Invalidate();
  EXPECT_EQ((*p)->Get()->access_key_id, "AKIAENV");
  EXPECT_THAT((*p)->Describe(), HasSubstr("chain(env,file:"));
  EXPECT_THAT((*p)->Describe(), Not(HasSubstr("secret")));
}

TEST_F(AwsCredentialsTest, AnInstanceWithoutARoleIsNamed) {
  testing::TestServer imds;
  imds.server().Put("/latest/api/token",
                    [](const httplib::Request&, httplib::Response& res) { res.set_content("t", "text/plain"); });
  imds.server().Get("/latest/meta-data/iam/security-credentials/",
                    [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  imds.Start();
  CredentialOptions o;
  o.imds_endpoint = imds.url();
  auto p = CredentialProvider::Create(o);
  auto c = (*p)->Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnauthenticated);
  EXPECT_THAT(c.status().message(), HasSubstr("attach an IAM role"));
  EXPECT_THAT(c.status().message(), HasSubstr("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"));
}

}  // namespace
}  // namespace keyring_locker::aws
