// common/safe_file: the rules every config, secret and marker read shares
// (issue #15). The FIFO cases live with each caller's tests.
#include "common/safe_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class SafeFile : public testing::TempDirTest {};

// Kubernetes secret volumes and Vault Agent sinks hand out symlinks: the
// secret is read through them and the target's mode is what counts.
TEST_F(SafeFile, SecretThroughASymlinkIsReadAndTheTargetIsChecked) {
  const std::string target = Write("token", "s.linked\n", 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  StatusOr<std::string> s = ReadSecretFile(link, "auth.token_file");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "s.linked");

  ASSERT_EQ(chmod(target.c_str(), 0644), 0);
  s = ReadSecretFile(link, "auth.token_file");
  EXPECT_EQ(s.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(s.status().message(), HasSubstr("run: chmod 600 " + link));
}

TEST_F(SafeFile, SizeCapAndDirectoryAreRefused) {
  const std::string big = Write("big", std::string(64 * 1024 + 1, 'x'), 0600);
  StatusOr<std::string> s = ReadSecretFile(big, "auth.token_file");
  EXPECT_THAT(s.status().message(), HasSubstr("is larger than 65536 bytes"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("xxxx")));
  s = ReadSecretFile(dir_, "auth.token_file");
  EXPECT_THAT(s.status().message(), HasSubstr("'" + dir_ + "' is a directory, not a regular file"));
}

TEST_F(SafeFile, SecretsKeepInnerSpacesButNotControlCharacters) {
  StatusOr<std::string> s = ReadSecretFile(Write("pw", "two words \r\n", 0600), "tls.client_key_password_file");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "two words");
  s = ReadSecretFile(Write("nul", std::string("ab\0cd", 5), 0600), "auth.token_file");
  EXPECT_THAT(s.status().message(), HasSubstr("holds a NUL byte at byte 2 inside the secret"));
}

// The directory warning also covers where a symlink leads.
TEST_F(SafeFile, DirectoryWarningFollowsTheSymlinkTarget) {
  const std::string open_dir = dir_ + "/open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  const std::string target = open_dir + "/token";
  std::ofstream(target) << "s.t";
  const std::string link = dir_ + "/token";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  std::vector<std::string> w = InsecureDirectoryWarnings(link, "auth.token_file");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_THAT(w[0], HasSubstr("auth.token_file " + link + " sits in directory " + open_dir));
  EXPECT_THAT(InsecureDirectoryWarnings(dir_ + "/missing/file", "x"), IsEmpty());
}

}  // namespace
}  // namespace keyring_locker
