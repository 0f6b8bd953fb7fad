// key_remove is a soft delete: gone for the server at once, recoverable by
// the operator (keyring-locker deleted / restore / purge-deleted).
#include <sys/wait.h>

#include <cstdio>
#include <memory>

#include "tests/mysql_harness/harness_fixture.h"

namespace mysqlh {
namespace {

class SoftDelete : public HarnessTest {
 protected:
  // Runs the CLI; returns its exit code and stdout.
  int Cli(const std::string& config, const std::string& args, std::string* out) {
    const std::string cmd = std::string(KLK_CLI_BIN) + " --config " + config + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[512];
    out->clear();
    while (std::fgets(buf, sizeof buf, p) != nullptr) *out += buf;
    const int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
};

TEST_F(SoftDelete, RemovedKeyIsListedRestoredAndPurgedByTheCli) {
  auto host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  const std::string id = "INNODBKey-3e11fa47-71ca-11e1-9e33-c80aa9429562-1";
  ASSERT_FALSE(host->Generate(id, "AES", 32));
  const auto original = host->Fetch(id).key;
  ASSERT_FALSE(host->Remove(id));
  EXPECT_FALSE(host->Fetch(id).found);
  StopPlugin(host);

  const std::string config = WriteConfig("cli.json", "mysql/soft");
  std::string out;
  ASSERT_EQ(Cli(config, "deleted", &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("held"), std::string::npos) << out;
  EXPECT_NE(Cli(config, "restore " + id + " 2", &out), 0) << out;  // not its latest generation
  ASSERT_EQ(Cli(config, "restore " + id + " 1", &out), 0) << out;

  host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Fetch(id).key, original) << "the restored key must be byte-identical";
  ASSERT_FALSE(host->Remove(id));
  ASSERT_FALSE(host->Store(id, "AES", std::vector<uint8_t>(32, 3)));  // a new generation
  StopPlugin(host);

  ASSERT_EQ(Cli(config, "purge-deleted 1", &out), 0) << out;
  EXPECT_NE(out.find("purged 0"), std::string::npos) << out;  // inside the retention
  ASSERT_EQ(Cli(config, "purge-deleted 0", &out), 0) << out;
  EXPECT_NE(out.find("purged 1"), std::string::npos) << out;
  ASSERT_EQ(Cli(config, "deleted", &out), 0) << out;
  EXPECT_NE(out.find("purged"), std::string::npos) << out;
  EXPECT_NE(Cli(config, "restore " + id + " 1", &out), 0) << out;

  host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Fetch(id).key, std::vector<uint8_t>(32, 3));
  StopPlugin(host);
}

}  // namespace
}  // namespace mysqlh
