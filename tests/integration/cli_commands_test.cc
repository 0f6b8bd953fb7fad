// The CLI's frame (tools/cli.h): --help lists every command, each command's
// --help exits 0, an unknown command exits 64 naming it, list --json parses.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/run_command.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

// Every command docs/cli.md documents that this branch builds.
const char* const kCommands[] = {"health",  "list",     "ensure",        "rotate",  "fingerprint", "demo",  "deleted",
                                 "undelete", "purge-deleted", "inspect", "import",  "audit-verify", "check",
                                 "export",   "restore",  "migrate"};

int Cli(const std::string& args, std::string* out, bool with_stderr = true) {
  return testing::RunCommand(std::string(KLK_CLI_BIN) + " " + args, out,
                             with_stderr ? testing::StderrTo::kOut : testing::StderrTo::kNowhere);
}

TEST(CliCommands, HelpListsEveryCommand) {
  std::string out;
  ASSERT_EQ(Cli("--help", &out), 0) << out;
  for (const char* c : kCommands) EXPECT_NE(out.find(std::string("  ") + c), std::string::npos) << c << "\n" << out;
  EXPECT_NE(out.find("--config"), std::string::npos);
  EXPECT_NE(out.find("--json"), std::string::npos);
}

TEST(CliCommands, EachCommandHasHelp) {
  for (const char* c : kCommands) {
    std::string out;
    EXPECT_EQ(Cli(std::string(c) + " --help", &out), 0) << c << ": " << out;
    EXPECT_NE(out.find(c), std::string::npos) << out;
  }
}

TEST(CliCommands, AnUnknownCommandExits64NamingIt) {
  std::string out;
  EXPECT_EQ(Cli("frobnicate", &out), 64);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  EXPECT_EQ(Cli("", &out), 64) << "no command: " << out;
  EXPECT_EQ(Cli("ensure", &out), 64) << "missing NAME: " << out;
}

class CliCommandsLocker : public testing::TempDirTest {};

TEST_F(CliCommandsLocker, ListJsonParses) {
  auto locker = testing::DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  const std::string token = Write("token", locker->root_token(), 0600);
  json config = {{"locker", {{"urls", {locker->url()}}}},
                 {"keys", {{"scope", "cli/cmds"}}},
                 {"auth", {{"method", "token"}, {"token_file", token}}},
                 {"tls", {{"ca_file", locker->ca_file()}}}};
  const std::string path = Write("config.json", config.dump(), 0600);
  std::string out;
  ASSERT_EQ(Cli("--config " + path + " ensure 7", &out), 0) << out;
  ASSERT_EQ(Cli("--config " + path + " list --json", &out, false), 0) << out;
  json doc = json::parse(out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << out;
  ASSERT_TRUE(doc["keys"].is_array());
  ASSERT_EQ(doc["keys"].size(), 1u) << out;
  EXPECT_EQ(doc["keys"][0]["name"], "7");
  EXPECT_EQ(doc["keys"][0]["version"], 1);
  EXPECT_TRUE(doc["damaged"].is_array());
  // --json before the command works the same.
  ASSERT_EQ(Cli("--json --config " + path + " list", &out, false), 0) << out;
  EXPECT_TRUE(json::parse(out, nullptr, false).is_object()) << out;
}

}  // namespace
}  // namespace keyring_locker
