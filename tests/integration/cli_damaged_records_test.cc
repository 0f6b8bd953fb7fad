// keyring-locker list and inspect --check over a scope where someone
// overwrote key documents: each damaged record is named ("damaged: NAME vN:
// why") and the command exits 1, instead of listing it as a key with empty
// metadata or counting it as present (issue #16).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_support.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/datafile_test_pages.h"
#include "tests/support/run_command.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;

const std::string kDocs = "secret/data/keyring_locker/cli/db1/keys/";
const std::string kMeta = "secret/metadata/keyring_locker/cli/db1/keys/";

class CliDamagedRecords : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    const std::string token = Write("token", locker_->root_token(), 0600);
    json config = testing::DevLockerCliConfig(*locker_, token, "cli/db1");
    config_ = Write("config.json", config.dump(), 0600);
  }

  // Runs the CLI; stdout and stderr together in *out; returns the exit code.
  int Cli(const std::string& args, std::string* out) {
    return testing::RunCommand(std::string(KLK_CLI_BIN) + " " + args, out);
  }
  int Run(const std::string& command, std::string* out) { return Cli("--config " + config_ + " " + command, out); }

  // What an operator with KV write access can do: replace a document by a
  // fresh one ({"x":"y"} as KV version 1, after deleting its history) ...
  void Replace(const std::string& name_version, const json& data = {{"x", "y"}}) {
    ASSERT_EQ(locker_->Call("DELETE", kMeta + name_version).status / 100, 2);
    ASSERT_EQ(locker_->Call("POST", kDocs + name_version, {{"options", {{"cas", 0}}}, {"data", data}}).status, 200);
  }
  // ... or write over it (KV version 2).
  void Overwrite(const std::string& name_version) {
    ASSERT_EQ(locker_->Call("POST", kDocs + name_version, {{"options", {{"cas", 1}}}, {"data", {{"x", "y"}}}}).status,
              200);
  }

  // A MariaDB tablespace whose page 0 says key `key_id`, pages from version 1.
  std::string Tablespace(const std::string& name, uint32_t key_id) {
    using namespace datafile_test;
    auto file = MakePage0(16384, kFcrc32_16k, 11);
    PutCryptData(file, 10428, 1, 1, key_id, 1);
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), file.size());
    return path;
  }

  std::unique_ptr<DevLocker> locker_;
  std::string config_;
};

TEST_F(CliDamagedRecords, ListNamesEachDamagedRecordAndFails) {
  std::string out;
  for (const char* c : {"ensure 1", "rotate 1", "ensure 2", "ensure 3", "ensure 4"}) {
    ASSERT_EQ(Run(c, &out), 0) << c << ": " << out;
  }
  ASSERT_EQ(Run("list", &out), 0) << out;
  Replace("2/1");
  Overwrite("1/1");
  // A well-formed document of another key, copied over key 4's: it parses,
  // and only the envelope's check tells it is not key 4.
  Replace("4/1", locker_->Call("GET", kDocs + "3/1").body["data"]["data"]);

  EXPECT_EQ(Run("list", &out), 1) << out;
  // The good versions are listed with their metadata; the damaged ones are
  // not rows of the table but named, each with why.
  EXPECT_NE(out.find("\n1                                               2 AES       32 "), std::string::npos) << out;
  EXPECT_NE(out.find("\n3                                               1 AES       32 "), std::string::npos) << out;
  EXPECT_EQ(out.find("\n2                                               1"), std::string::npos) << out;
  EXPECT_EQ(out.find("     0 "), std::string::npos) << "a row of 0 bytes: " << out;
  EXPECT_NE(out.find("damaged: 2 v1: key document keyring_locker/cli/db1/keys/2/1 is invalid: it has no format"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("damaged: 4 v1: key document keyring_locker/cli/db1/keys/4/1 is invalid: name differs"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("\n4      "), std::string::npos) << out;
  EXPECT_NE(out.find("damaged: 1 v1: the document at secret/keyring_locker/cli/db1/keys/1/1 was overwritten (KV "
                     "version 2"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("keyring-locker: list: 3 key record(s) damaged (first: 1 v1)"), std::string::npos) << out;
}

TEST_F(CliDamagedRecords, InspectCheckDoesNotCountADamagedVersionAsPresent) {
  std::string out;
  for (const char* c : {"ensure 2", "ensure 3"}) ASSERT_EQ(Run(c, &out), 0) << c << ": " << out;
  const std::string t2 = Tablespace("t2.ibd", 2), t3 = Tablespace("t3.ibd", 3);
  ASSERT_EQ(Cli("inspect --config " + config_ + " --check " + t2 + " " + t3, &out), 0) << out;
  EXPECT_NE(out.find("check: every needed key version is in the locker (scope cli/db1)"), std::string::npos) << out;

  Replace("2/1");
  EXPECT_EQ(Cli("inspect --config " + config_ + " --check " + t2 + " " + t3, &out), 1) << out;
  EXPECT_EQ(out.find("every needed key version is in the locker"), std::string::npos) << out;
  EXPECT_NE(out.find("check: MISSING key 2 version 1 (its record is damaged)"), std::string::npos) << out;
  EXPECT_NE(out.find("damaged: 2 v1: key document keyring_locker/cli/db1/keys/2/1 is invalid"), std::string::npos)
      << out;

  // A damaged record the files do not need still fails the check, by name.
  EXPECT_EQ(Cli("inspect --config " + config_ + " --check " + t3, &out), 1) << out;
  EXPECT_NE(out.find("every needed key version is in the locker (scope cli/db1), but other records are damaged"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("damaged: 2 v1: "), std::string::npos) << out;
}

// --json: one document on stdout with the same findings, for scripts.
TEST_F(CliDamagedRecords, InspectCheckJsonNamesMissingAndDamaged) {
  std::string out;
  ASSERT_EQ(Run("ensure 3", &out), 0) << out;
  const std::string t2 = Tablespace("t2.ibd", 2), t3 = Tablespace("t3.ibd", 3);
  EXPECT_EQ(testing::RunCommand(std::string(KLK_CLI_BIN) + " inspect --json --config " + config_ + " --check " + t2 +
                                    " " + t3,
                                &out, testing::StderrTo::kNowhere),
            1);
  const json doc = json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  ASSERT_EQ(doc["files"].size(), 2u) << out;
  EXPECT_EQ(doc["files"][0]["path"], t2) << out;
  EXPECT_TRUE(doc["files"][0].contains("summary")) << out;
  EXPECT_EQ(doc["needed"].size(), 2u) << out;
  EXPECT_EQ(doc["check"]["scope"], "cli/db1") << out;
  ASSERT_EQ(doc["check"]["missing"].size(), 1u) << out;
  EXPECT_EQ(doc["check"]["missing"][0], "key 2 (no version at all)") << out;
  EXPECT_TRUE(doc["check"]["damaged"].empty()) << out;
}

}  // namespace
}  // namespace keyring_locker
