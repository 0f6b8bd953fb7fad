// The file-facing half of the config: LoadConfigFile, secret files, and
// DescribeConfig over a config that holds a secret read from a file.
#include "keyring_backend/config/config.h"
#include "tests/support/config_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
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

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/klk_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(TempDir, ClientKeyPasswordFileIsReadAndPermissionChecked) {
  json j = MinimalConfig();
  j["tls"] = {{"client_cert", "/c.pem"}, {"client_key", "/k.pem"},
              {"client_key_password_file", Write("pw", "hunter2-pass\n", 0600)}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.tls.client_key_password, "hunter2-pass");

  j["tls"]["client_key_password_file"] = Write("pw2", "hunter2-pass\n", 0640);
  ExpectConfigError(j, "tls.client_key_password_file", "chmod 600");
  EXPECT_THAT(ParseTestConfig(j).status().message(), Not(HasSubstr("hunter2")));
  j["tls"]["client_key_password_file"] = dir_ + "/missing";
  ExpectConfigError(j, "tls.client_key_password_file", "No such file");
  j["tls"]["client_key_password_file"] = Write("empty", "", 0600);
  ExpectConfigError(j, "tls.client_key_password_file", "write the secret into it");
  j["tls"].erase("client_key");
  j["tls"].erase("client_cert");
  ExpectConfigError(j, "tls.client_key_password_file", "set tls.client_key");
}

TEST_F(TempDir, LoadConfigFileChecksTheFile) {
  std::string good = Write("good.json", MinimalConfig().dump(), 0640);
  StatusOr<Config> c = LoadConfigFile(good);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.scope, "prod/db1");

  c = LoadConfigFile(dir_ + "/nope.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(dir_ + "/nope.json"));
  EXPECT_THAT(c.status().message(), HasSubstr("No such file or directory"));

  std::string open = Write("open.json", MinimalConfig().dump(), 0666);
  c = LoadConfigFile(open);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("world-writable"));
  EXPECT_THAT(c.status().message(), HasSubstr("chmod o-w " + open));

  json bad = MinimalConfig();
  bad["tls"] = {{"ca_fiel", "/x"}};
  c = LoadConfigFile(Write("bad.json", bad.dump(), 0600));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), StartsWith(dir_ + "/bad.json: tls.ca_fiel"));
}

TEST_F(TempDir, DescribeConfigNeverShowsSecrets) {
  json j = MinimalConfig();
  j["tls"] = {{"client_cert", "/c.pem"}, {"client_key", "/k.pem"}, {"verify", false},
              {"client_key_password_file", Write("pw", "hunter2-pass", 0600)}};
  StatusOr<Config> c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string text = DescribeConfig(*c);
  EXPECT_THAT(text, HasSubstr("token from file /etc/keyring_locker/token"));
  EXPECT_THAT(text, HasSubstr("https://vault1:8200"));
  EXPECT_THAT(text, HasSubstr("keyring_locker/prod/db1"));
  EXPECT_THAT(text, HasSubstr("password from file"));
  EXPECT_THAT(text, HasSubstr("WARNING:  TLS verification is OFF"));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));

  j = MinimalConfig();
  j["auth"] = {{"method", "approle"},
               {"approle", {{"role_id", "role-77"}, {"secret_id_env", "KLK_SECRET_ID"}}}};
  c = ParseTestConfig(j);
  ASSERT_TRUE(c.ok());
  text = DescribeConfig(*c);
  EXPECT_THAT(text, HasSubstr("secret_id from env $KLK_SECRET_ID"));
  EXPECT_THAT(text, HasSubstr("role_id role-77"));
}

}  // namespace
}  // namespace keyring_locker
