// keyring-locker import hashicorp against a real Vault API (the dev
// locker): the KV v2 layout MariaDB's hashicorp_key_management reads (key id
// N at <mount>/data/N, each KV version a key version, the key in hex in the
// field "data"), imported with its version numbers kept; deleted versions
// and paths that are no key ids are skipped with a warning; a second run
// writes nothing; a bad version fails on its own with exit 1.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/integration/cli_support.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/run_command.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;

class CliImportHashicorp : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    token_ = Write("token", locker_->root_token(), 0600);
    json config = testing::DevLockerCliConfig(*locker_, token_, "imported/db1");
    config_ = Write("config.json", config.dump(), 0600);
  }
  int Cli(const std::string& args, std::string* out) {
    return testing::RunCommand(std::string(KLK_CLI_BIN) + " --config " + config_ + " " + args, out);
  }
  std::string ImportArgs() {
    return "import hashicorp --vault-url " + locker_->url() + "/v1/secret --token-file " + token_ + " --ca-file " +
           locker_->ca_file();
  }
  // A new KV version of key `id` as the plugin's operators write it.
  std::string Put(const std::string& id) {
    auto key = std::move(crypto::RandomKey(32)).value();
    const std::string hex = crypto::HexEncode(key.data(), key.size());
    EXPECT_EQ(locker_->Call("POST", "secret/data/" + id, {{"data", {{"data", hex}}}}).status, 200);
    hex_keys_.push_back(hex);
    const crypto::Bytes h = crypto::Sha256(key.data(), key.size());
    return crypto::HexEncode(h.data(), 8);
  }
  std::unique_ptr<DevLocker> locker_;
  std::string token_, config_;
  std::vector<std::string> hex_keys_;  // what the output must never hold
};

TEST_F(CliImportHashicorp, EveryReadableKvVersionBecomesTheSameKeyVersion) {
  const std::string fp1v1 = Put("1"), fp1v2 = Put("1"), fp2v1 = Put("2"), fp3v1 = Put("3"), fp3v2 = Put("3");
  ASSERT_EQ(locker_->Call("POST", "secret/delete/3", {{"versions", {1}}}).status, 204);
  ASSERT_EQ(locker_->Call("POST", "secret/data/notes", {{"data", {{"text", "not a key"}}}}).status, 200);

  std::string out;
  ASSERT_EQ(Cli(ImportArgs(), &out), 0) << out;
  EXPECT_NE(out.find("4 would write, 0 written"), std::string::npos) << out;
  EXPECT_NE(out.find("key 3: KV version 1 is deleted, not imported"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped 'notes'"), std::string::npos) << out;

  ASSERT_EQ(Cli(ImportArgs() + " --apply", &out), 0) << out;
  EXPECT_NE(out.find("0 would write, 4 written, 0 already present, 0 conflict, 0 failed"), std::string::npos) << out;
  for (const auto& [args, fp] : std::vector<std::pair<std::string, std::string>>{
           {"1 1", fp1v1}, {"1 2", fp1v2}, {"2 1", fp2v1}, {"3 2", fp3v2}}) {
    ASSERT_EQ(Cli("fingerprint " + args, &out), 0) << out;
    EXPECT_EQ(out, fp + "\n") << args;
  }
  EXPECT_NE(Cli("fingerprint 3 1", &out), 0) << "a deleted KV version is not imported: " << out;
  (void)fp3v1;

  ASSERT_EQ(Cli("--json " + ImportArgs() + " --apply", &out), 0) << out;
  const json doc = json::parse(out.substr(out.find('{')));
  EXPECT_EQ(doc["summary"]["already_present"], 4);
  EXPECT_EQ(doc["summary"]["written"], 0);
  EXPECT_EQ(doc["items"][1]["name"], "1");
  EXPECT_EQ(doc["items"][1]["version"], 2);
  EXPECT_EQ(doc["items"][1]["fingerprint"], fp1v2);
  for (const auto& hex : hex_keys_) EXPECT_EQ(out.find(hex.substr(0, 16)), std::string::npos) << "key bytes in output";

  // A version whose "data" is not a whole key: that item fails, the rest stays present.
  ASSERT_EQ(locker_->Call("POST", "secret/data/4", {{"data", {{"data", "abc"}}}}).status, 200);
  EXPECT_EQ(Cli(ImportArgs() + " --apply", &out), 1) << out;
  EXPECT_NE(out.find("FAILED 4 (KV version 1 of secret/data/4): the key has an odd number of hex digits"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("0 written, 4 already present, 0 conflict, 1 failed"), std::string::npos) << out;
}

TEST_F(CliImportHashicorp, AWrongTokenAndAMissingMountAreClearErrors) {
  std::string out;
  const std::string bad = Write("bad-token", "not-a-token", 0600);
  EXPECT_EQ(Cli("import hashicorp --vault-url " + locker_->url() + "/v1/secret --token-file " + bad + " --ca-file " +
                    locker_->ca_file(),
                &out),
            1);
  EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
  EXPECT_EQ(Cli("import hashicorp --vault-url " + locker_->url() + " --token-file " + token_, &out), 1);
  EXPECT_NE(out.find("no KV mount"), std::string::npos) << out;
  EXPECT_EQ(Cli("import hashicorp", &out), 64) << out;
}

}  // namespace
}  // namespace keyring_locker
