// The file-facing half of the config: LoadConfigFile, secret files, and
// DescribeConfig over a config that holds a secret read from a file.
#include "keyring_backend/config/config.h"
#include "tests/support/config_test_util.h"
#include "tests/support/fifo_util.h"
#include "tests/support/temp_dir.h"

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
using ::testing::IsEmpty;

using testing::ExpectConfigError;
using testing::MinimalConfig;
using testing::ParseTestConfig;

class TempDir : public testing::TempDirTest {};

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

// Issue #15: a FIFO as the config file or a secret file named in it used
// to block open() forever; now each is refused at once, naming the file.
TEST_F(TempDir, FifoAsConfigFileIsRefusedWithoutBlocking) {
  testing::Fifo fifo(dir_ + "/keyring_locker.json", 0640);
  StatusOr<Config> c = testing::WithinBoundedTime(fifo, [&] { return LoadConfigFile(fifo.path()); });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("config file '" + fifo.path() + "' is a FIFO"));
  EXPECT_THAT(c.status().message(), HasSubstr("not a regular file"));
}

TEST_F(TempDir, FifoAsClientKeyPasswordFileIsRefusedWithoutBlocking) {
  testing::Fifo fifo(dir_ + "/pw", 0600);
  json j = MinimalConfig();
  j["tls"] = {{"client_cert", "/c.pem"}, {"client_key", "/k.pem"},
              {"client_key_password_file", fifo.path()}};
  StatusOr<Config> c = testing::WithinBoundedTime(fifo, [&] { return ParseTestConfig(j); });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("tls.client_key_password_file '" + fifo.path() + "' is a FIFO"));
}

// nlohmann::json stops at a NUL: a second "auth" group after one would have
// been ignored without a word.
TEST_F(TempDir, ConfigTextWithANulByteIsRefusedNamingTheOffset) {
  const std::string head = MinimalConfig().dump();
  const std::string text = head + std::string(1, '\0') + "{\"auth\": {}}";
  StatusOr<Config> c = ParseConfig(text, "test.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              StartsWith("test.json: holds a NUL byte at byte offset " + std::to_string(head.size())));
  EXPECT_THAT(c.status().message(), HasSubstr("without NUL bytes"));

  c = LoadConfigFile(Write("nul.json", text, 0640));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(dir_ + "/nul.json: holds a NUL byte at byte offset"));
}

// Whoever can write a directory above the config or a secret file can
// replace the file: a warning naming the directory and the fix.
TEST_F(TempDir, FilesInDirectoriesOthersCanWriteAreWarnedAbout) {
  const std::string open_dir = dir_ + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  json j = MinimalConfig();
  j["auth"]["token_file"] = open_dir + "/token";
  const std::string config_path = open_dir + "/keyring_locker.json";
  std::ofstream(config_path) << j.dump();
  ASSERT_EQ(chmod(config_path.c_str(), 0640), 0);

  StatusOr<Config> c = LoadConfigFile(config_path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string all;
  for (const std::string& w : c->warnings) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("config file " + config_path + " sits in directory " + open_dir +
                             ", which is group- or world-writable without the sticky bit (mode 0777)"));
  EXPECT_THAT(all, HasSubstr("auth.token_file " + open_dir + "/token sits in directory " + open_dir));
  EXPECT_THAT(all, HasSubstr("chmod o-w,g-w " + open_dir + " or move the file"));
  EXPECT_THAT(all, Not(HasSubstr("directory " + dir_ + ",")));  // 0700: fine

  // Group-writable counts too; the sticky bit (as on /tmp) makes it safe.
  ASSERT_EQ(chmod(open_dir.c_str(), 0770), 0);
  c = LoadConfigFile(config_path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->warnings.size(), 2u);
  ASSERT_EQ(chmod(open_dir.c_str(), 01777), 0);
  c = LoadConfigFile(config_path);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->warnings, IsEmpty());
}

}  // namespace
}  // namespace keyring_locker
