// WriteFileDurably: content replaced whole, exact mode, no temporary file
// left behind, errors that name the step and the file.
#include "common/durable_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace keyring_locker {
namespace {

namespace fs = std::filesystem;

class DurableFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("klk_durable." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  fs::path dir_;
};

TEST_F(DurableFile, ReplacesTheWholeContentAndLeavesNoTemporaryFile) {
  const fs::path p = dir_ / "marker";
  ASSERT_TRUE(WriteFileDurably(p, "a much longer first version\n", 0644).ok());
  ASSERT_TRUE(WriteFileDurably(p, "short\n", 0644).ok());
  EXPECT_EQ(Read(p), "short\n");
  EXPECT_FALSE(fs::exists(dir_ / "marker.tmp"));
  ASSERT_TRUE(WriteFileDurably(p, "", 0644).ok());
  EXPECT_EQ(Read(p), "");
}

TEST_F(DurableFile, ModeIsExactlyTheOneAskedForDespiteUmaskAndAStaleTemporaryFile) {
  const fs::path p = dir_ / "key.pem";
  {
    std::ofstream stale(dir_ / "key.pem.tmp");
    stale << "left over by a crash";
  }
  ::chmod((dir_ / "key.pem.tmp").c_str(), 0666);
  const mode_t old_umask = ::umask(0077);
  Status s = WriteFileDurably(p, "secret", 0640);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Mode(p), 0640u);
  EXPECT_EQ(Read(p), "secret");
}

TEST_F(DurableFile, AMissingDirectoryIsAnErrorNamingTheFileAndLeavesNothing) {
  const fs::path p = dir_ / "no-such-dir" / "marker";
  Status s = WriteFileDurably(p, "x", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("cannot create " + p.string() + ".tmp"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(DurableFile, ARenameOntoADirectoryFailsAndRemovesTheTemporaryFile) {
  const fs::path p = dir_ / "occupied";
  fs::create_directories(p / "child");  // rename(2) cannot replace a non-empty directory
  Status s = WriteFileDurably(p, "x", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot rename " + p.string() + ".tmp to " + p.string()), std::string::npos)
      << s.message();
  EXPECT_FALSE(fs::exists(dir_ / "occupied.tmp"));
  EXPECT_TRUE(fs::is_directory(p / "child"));
}

}  // namespace
}  // namespace keyring_locker
