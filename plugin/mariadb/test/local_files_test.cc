// Issue #16: a local file mariadbd cannot read is named as a local problem,
// with the file and the fix, never as "the locker is down or sealed".
#include "plugin/mariadb/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace keyring_locker::mariadb {
namespace {

class LocalFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/klk_local_files_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);  // the unprivileged child must reach the files
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Write(const std::string& name, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "secret-id-value\n";
    chmod(path.c_str(), mode);
    return path;
  }
  static Config AppRole(const std::string& secret_id_file) {
    Config c;
    c.auth.method = AuthOptions::Method::kAppRole;
    c.auth.secret_id_file = secret_id_file;
    return c;
  }
  // What the start would log: local, named, and nothing about the locker.
  static void ExpectLocal(const std::string& problem, const std::string& path, const std::string& reason) {
    const std::string line = LocalStartFailure(problem);
    EXPECT_NE(line.find("local file problem"), std::string::npos) << line;
    EXPECT_NE(line.find("auth.approle.secret_id_file '" + path + "'"), std::string::npos) << line;
    EXPECT_NE(line.find(reason), std::string::npos) << line;
    EXPECT_NE(line.find("fix: "), std::string::npos) << line;
    EXPECT_EQ(line.find("locker"), std::string::npos) << line;
    EXPECT_EQ(line.find("unsealed"), std::string::npos) << line;
    EXPECT_EQ(line.find("secret-id-value"), std::string::npos) << line;
  }
  std::string dir_;
};

TEST_F(LocalFiles, ReadableFilesAreNoProblem) {
  EXPECT_EQ(LocalFileProblem(AppRole(Write("sid", 0400))), "");
  Config token;  // token from the environment: no file to check
  token.auth.token_env = "VAULT_TOKEN";
  EXPECT_EQ(LocalFileProblem(token), "");
}

TEST_F(LocalFiles, MissingSecretIdFileIsLocal) {
  const std::string path = dir_ + "/no-such-file";
  const std::string problem = LocalFileProblem(AppRole(path));
  ExpectLocal(problem, path, "No such file or directory");
  EXPECT_NE(problem.find("create the file or correct the path"), std::string::npos) << problem;
}

// Fails for root too: a path through a regular file (ENOTDIR).
TEST_F(LocalFiles, PathThroughARegularFileIsLocal) {
  const std::string path = Write("plain", 0600) + "/sid";
  ExpectLocal(LocalFileProblem(AppRole(path)), path, "Not a directory");
}

TEST_F(LocalFiles, FifoIsLocalAndDoesNotBlock) {
  const std::string path = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  ExpectLocal(LocalFileProblem(AppRole(path)), path, "is a FIFO");
}

// The case: mode 0400 root:root, mariadbd running as another user.
// Root reads any file, so the check runs in a child that gave up root.
TEST_F(LocalFiles, UnreadableByTheServerUserIsLocalWithTheFix) {
  const std::string path = Write("sid-root-only", 0400);
  if (geteuid() != 0) chmod(path.c_str(), 0);  // unprivileged run: unreadable for this user already
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(2);
    const std::string problem = LocalFileProblem(AppRole(path));
    const ssize_t n = write(fds[1], problem.data(), problem.size());
    _exit(n == static_cast<ssize_t>(problem.size()) ? 0 : 3);
  }
  close(fds[1]);
  std::string problem;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) problem.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ExpectLocal(problem, path, "Permission denied");
  EXPECT_NE(problem.find("readable by the user mariadbd runs as"), std::string::npos) << problem;
  EXPECT_NE(problem.find("chmod 0400"), std::string::npos) << problem;
}

TEST_F(LocalFiles, TlsAndKmipFilesAreCheckedToo) {
  Config c;
  c.auth.token_file = Write("token", 0600);
  c.http.tls.ca_file = dir_ + "/missing-ca.pem";
  std::string problem = LocalFileProblem(c);
  EXPECT_NE(problem.find("tls.ca_file '" + dir_ + "/missing-ca.pem'"), std::string::npos) << problem;
  Config k;
  k.roles.store = "kmip";
  k.roles.wrapper = "none";
  k.kmip.transport.key_file = dir_ + "/missing-key.pem";
  problem = LocalFileProblem(k);
  EXPECT_NE(problem.find("kmip.key_file"), std::string::npos) << problem;
}

TEST_F(LocalFiles, LockerFailuresStillPointAtTheLocker) {
  const std::string line = LockerStartFailure(Unavailable("cannot connect to https://127.0.0.1:8200"));
  EXPECT_NE(line.find("cannot start without the locker"), std::string::npos) << line;
  EXPECT_NE(line.find("UNAVAILABLE: cannot connect"), std::string::npos) << line;
}

}  // namespace
}  // namespace keyring_locker::mariadb
