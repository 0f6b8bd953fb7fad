// keyring-locker export / restore against the dev locker: a bundle of a
// scope's wrapped records brings every key back byte-identical after the
// scope was wiped (disaster recovery of the locker itself), and restore
// refuses what it must: a scope holding other keys, a damaged or foreign
// file, another scope, the old 'restore NAME VERSION'.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_support.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;
using testing::RunCli;
using testing::ScopeState;

class CliBundle : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    token_ = Write("token", locker_->root_token(), 0600);
    config_ = Config("config.json", "cli/db1");
  }

  std::string Config(const std::string& file, const std::string& scope, const json& extra = json::object()) {
    json config = testing::DevLockerCliConfig(*locker_, token_, scope, 5000);
    config.merge_patch(extra);
    return Write(file, config.dump(), 0600);
  }
  int Run(const std::string& command, std::string* out) { return RunCli("--config " + config_ + " " + command, out); }

  // Removes every document of the scope from the KV mount (what a lost
  // mount or a rebuilt Vault looks like); the Transit key stays.
  void Wipe(const std::string& folder = "keyring_locker/cli/db1/") {
    auto listing = locker_->Call("LIST", "secret/metadata/" + folder);
    if (listing.status == 404) return;
    ASSERT_EQ(listing.status, 200) << listing.body.dump();
    for (const auto& k : listing.body["data"]["keys"]) {
      const std::string name = k.get<std::string>();
      if (!name.empty() && name.back() == '/') {
        Wipe(folder + name);
      } else {
        ASSERT_EQ(locker_->Call("DELETE", "secret/metadata/" + folder + name).status / 100, 2);
      }
    }
  }

  std::string ReadFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  std::unique_ptr<DevLocker> locker_;
  std::string token_;
  std::string config_;
};

TEST_F(CliBundle, ExportWipeRestoreBringsBackEveryKeyByteIdentical) {
  testing::FillScope(config_);
  const auto before = ScopeState(config_);
  ASSERT_EQ(before.size(), testing::kFilledVersions);
  EXPECT_EQ(before.at("purged_key v1"), "purged");
  EXPECT_EQ(before.at(std::string(testing::kMysqlKey) + " v1").rfind("deleted ", 0), 0u);
  std::string created_before;
  {
    auto b = testing::OpenConfig(config_);
    created_before = b->store().Read("1", 1)->created;
  }

  const std::string bundle = dir_ + "/db1.bundle";
  std::string out;
  ASSERT_EQ(Run("export " + bundle, &out), 0) << out;
  EXPECT_NE(out.find("exported 13 key version(s) of scope keyring_locker/cli/db1 (11 live, 1 soft-deleted, 1 purged)"),
            std::string::npos)
      << out;
  struct stat st {};
  ASSERT_EQ(stat(bundle.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Ciphertext only, a manifest with a fingerprint per key.
  const json doc = json::parse(ReadFile(bundle));
  EXPECT_EQ(doc["format"], "keyring_locker-bundle/1");
  EXPECT_EQ(doc["manifest"]["scope"], "keyring_locker/cli/db1");
  ASSERT_EQ(doc["records"].size(), testing::kFilledVersions);
  for (const auto& m : doc["manifest"]["records"]) {
    const std::string key = m["name"].get<std::string>() + " v" + std::to_string(m["version"].get<uint32_t>());
    if (m["state"] == "purged") continue;
    EXPECT_EQ(before.at(key), m["state"].get<std::string>() + " " + m["fingerprint"].get<std::string>()) << key;
  }
  for (const auto& r : doc["records"]) {
    if (r["record"].is_null()) continue;
    EXPECT_EQ(r["record"]["wrapped"].get<std::string>().rfind("vault:v1:", 0), 0u);
    EXPECT_FALSE(r["record"].contains("plaintext"));
  }
  // The checksum as docs/cli.md tells an operator to check it, without keyring-locker.
  const std::string py =
      "python3 -c 'import json,hashlib,sys; d=json.load(open(sys.argv[1])); t=json.dumps({\"manifest\": "
      "d[\"manifest\"], \"records\": d[\"records\"]}, sort_keys=True, separators=(\",\", \":\"), "
      "ensure_ascii=False); print(\"sha256:\" + hashlib.sha256(t.encode()).hexdigest() == d[\"checksum\"])' ";
  FILE* p = popen((py + bundle).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char answer[16] = {};
  ASSERT_NE(fgets(answer, sizeof answer, p), nullptr);
  pclose(p);
  EXPECT_STREQ(answer, "True\n");
  // Export never replaces a file.
  const std::string original = ReadFile(bundle);
  EXPECT_EQ(Run("export " + bundle, &out), 1) << out;
  EXPECT_NE(out.find("exists; export never replaces a file"), std::string::npos) << out;
  EXPECT_EQ(ReadFile(bundle), original);

  Wipe();
  ASSERT_TRUE(ScopeState(config_).empty());
  // Dry run: says what it would write, writes nothing.
  ASSERT_EQ(Run("restore " + bundle, &out), 0) << out;
  EXPECT_NE(out.find("would write      1 v1 (live) fingerprint "), std::string::npos) << out;
  EXPECT_NE(out.find("dry run: nothing written; 13 key version(s)"), std::string::npos) << out;
  EXPECT_TRUE(ScopeState(config_).empty());

  ASSERT_EQ(Run("restore --apply " + bundle, &out), 0) << out;
  EXPECT_NE(out.find("restored 13 key version(s) of scope keyring_locker/cli/db1"), std::string::npos) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  EXPECT_EQ(ScopeState(config_), before) << "every key byte-identical, names, versions and deletions kept";
  {
    auto b = testing::OpenConfig(config_);
    EXPECT_EQ(b->store().Read("1", 1)->created, created_before) << "the records as the store held them";
    auto deleted = b->keys().ListDeleted(Sweep::kPerRequest);
    ASSERT_TRUE(deleted.ok());
    ASSERT_EQ(deleted->size(), 2u);  // the soft-deleted generation and the purged one
    auto live = b->keys().GetLive(testing::kMysqlKey);
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ("live " + testing::Fingerprint((*live)->bytes), before.at(std::string(testing::kMysqlKey) + " v2"));
  }
  // Run again (as after an interruption): everything there is the bundle's.
  ASSERT_EQ(Run("--json restore --apply " + bundle, &out), 0) << out;
  const json again = json::parse(out);
  EXPECT_EQ(again["written"], 0);
  EXPECT_EQ(again["failed"], 0);
  EXPECT_EQ(again["items"][0]["result"], "already restored");
}

TEST_F(CliBundle, RestoreRefusesAScopeHoldingOtherKeys) {
  testing::FillScope(config_);
  const std::string bundle = dir_ + "/db1.bundle";
  std::string out;
  ASSERT_EQ(Run("export " + bundle, &out), 0) << out;
  ASSERT_EQ(Run("ensure 99", &out), 0) << out;  // a key the bundle does not hold
  const auto before = ScopeState(config_);
  EXPECT_EQ(Run("restore --apply " + bundle, &out), 1) << out;
  EXPECT_NE(out.find("the target scope keyring_locker/cli/db1 already holds 7 key name(s) (e.g. key 99 v1, which this "
                     "bundle did not write); restore writes only into an empty scope"),
            std::string::npos)
      << out;
  EXPECT_EQ(ScopeState(config_), before);

  // One key of another origin in an otherwise empty scope: still refused.
  Wipe();
  ASSERT_EQ(Run("ensure 1", &out), 0) << out;
  EXPECT_EQ(Run("restore --apply " + bundle, &out), 1) << out;
  EXPECT_NE(out.find("already holds 1 key name(s) (e.g. key 1 v1"), std::string::npos) << out;
  EXPECT_EQ(ScopeState(config_).size(), 1u);
}

TEST_F(CliBundle, DamagedOrForeignBundlesAreRefusedAndNothingIsWritten) {
  testing::FillScope(config_);
  const std::string bundle = dir_ + "/db1.bundle";
  std::string out;
  ASSERT_EQ(Run("export " + bundle, &out), 0) << out;
  Wipe();
  const std::string text = ReadFile(bundle);

  // One byte changed inside a wrapped key (still valid JSON).
  std::string flipped = text;
  const size_t at = flipped.find("vault:v1:") + 20;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  const std::string truncated = text.substr(0, text.size() / 2);
  const std::string cases[][2] = {
      {Write("flipped.bundle", flipped, 0600), "the checksum does not match the content"},
      {Write("truncated.bundle", truncated, 0600), "is not complete JSON: it is truncated, damaged"},
      {config_, "is not a keyring-locker bundle (no \"format\": \"keyring_locker-bundle/1\")"},
      {Write("empty.bundle", "", 0600), "is not complete JSON"},
      {Write("binary.bundle", std::string("\x00\xff\x13garbage", 10), 0600), "is not complete JSON"},
      {dir_ + "/missing.bundle", "bundle '" + dir_ + "/missing.bundle'"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Run("restore --apply " + c[0], &out), 1) << c[0] << ": " << out;
    EXPECT_NE(out.find(c[1]), std::string::npos) << c[0] << ": " << out;
  }
  // A manifest edited together with a recomputed checksum is still caught
  // by the record checks: the fingerprint no longer matches the key.
  json doc = json::parse(text);
  doc["manifest"]["records"][0]["fingerprint"] = "0000000000000000";
  const json covered = {{"manifest", doc["manifest"]}, {"records", doc["records"]}};
  doc["checksum"] = "sha256:" + crypto::HexEncode(crypto::Sha256(covered.dump()));
  const std::string edited = Write("edited.bundle", doc.dump(1), 0600);
  EXPECT_EQ(Run("restore --apply " + edited, &out), 1) << out;
  EXPECT_NE(out.find("FAIL             1 v1 (live) fingerprint 0000000000000000: written, but its fingerprint is "),
            std::string::npos)
      << out;
  Wipe();
  EXPECT_TRUE(ScopeState(config_).empty());
  for (const auto& c : cases) ASSERT_EQ(Run("restore --apply " + c[0], &out), 1);
  EXPECT_TRUE(ScopeState(config_).empty()) << "nothing written from a damaged bundle";
}

TEST_F(CliBundle, RestoreRefusesAnotherScopeAndExplainsWhy) {
  testing::FillScope(config_);
  const std::string bundle = dir_ + "/db1.bundle";
  std::string out;
  ASSERT_EQ(Run("export " + bundle, &out), 0) << out;
  const std::string other = Config("other.json", "cli/db2");
  EXPECT_EQ(RunCli("--config " + other + " restore --apply " + bundle, &out), 1) << out;
  EXPECT_NE(out.find("holds scope keyring_locker/cli/db1, but the config's scope is keyring_locker/cli/db2. Every "
                     "bound record (format keyring_locker/2) names its scope inside the wrapped key, so it unwraps "
                     "only in keyring_locker/cli/db1"),
            std::string::npos)
      << out;
  // Told to go on: every record here is bound, so each is skipped; only
  // the purged version's marker (no key) keeps its number taken.
  EXPECT_EQ(RunCli("--config " + other + " restore --apply --allow-other-scope " + bundle, &out), 0) << out;
  EXPECT_NE(out.find("skipped          1 v1 (live) fingerprint "), std::string::npos) << out;
  EXPECT_NE(out.find("bound to scope keyring_locker/cli/db1; it would not unwrap in keyring_locker/cli/db2"),
            std::string::npos)
      << out;
  EXPECT_EQ(ScopeState(other), (std::map<std::string, std::string>{{"purged_key v1", "purged"}}));
}

TEST_F(CliBundle, RestoreIntoADirectoryStoreWithTheSameWrapper) {
  // The locker's KV mount is gone for good: the same scope comes back in a
  // directory store, still wrapped by the same Transit key.
  testing::FillScope(config_);
  const auto before = ScopeState(config_);
  const std::string bundle = dir_ + "/db1.bundle";
  std::string out;
  ASSERT_EQ(Run("export " + bundle, &out), 0) << out;
  ASSERT_EQ(mkdir((dir_ + "/keys").c_str(), 0700), 0);
  const std::string dir_config =
      Config("dir.json", "cli/db1", {{"store", {{"type", "directory"}, {"path", dir_ + "/keys"}}}, {"wrapper", {{"type", "vault"}}}});
  ASSERT_EQ(RunCli("--config " + dir_config + " restore --apply " + bundle, &out), 0) << out;
  EXPECT_EQ(ScopeState(dir_config), before);
}

TEST_F(CliBundle, OldRestoreSyntaxPointsToUndelete) {
  std::string out;
  EXPECT_EQ(Run("restore 7 2", &out), 64) << out;
  EXPECT_NE(out.find("restore takes a bundle file; to undelete a key use 'keyring-locker undelete NAME VERSION'"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace keyring_locker
