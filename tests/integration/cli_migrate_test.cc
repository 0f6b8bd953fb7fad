// keyring-locker migrate between lockers: Vault KV + Transit -> KMIP
// (PyKMIP) -> Vault, every version and generation with its name and number,
// soft-deleted ones still deleted, verified by fingerprint; a dry run writes
// nothing, a second run finds everything done, a run cut short is finished
// by the next, and a destination holding another key under a name and
// version is a per-key failure, never overwritten. The source is only read.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_support.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/kmip_world_fixture.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;
using testing::RunCli;
using testing::ScopeState;

// A dev locker and a folder for config files; KMIP configs when a test
// has a PyKMIP world.
class MigrateWorld {
 public:
  bool Start() {
    char tmpl[] = "/tmp/klk_migrate.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return false;
    dir_ = tmpl;
    locker_ = DevLocker::Start();
    if (!locker_) return false;
    token_ = Write("token", locker_->root_token());
    return true;
  }
  ~MigrateWorld() {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
    return path;
  }
  std::string VaultConfig(const std::string& scope) {
    json c = {{"locker", {{"urls", {locker_->url()}}, {"transit_key", "migrate"}}},
              {"keys", {{"scope", scope}}},
              {"auth", {{"method", "token"}, {"token_file", token_}}},
              {"tls", {{"ca_file", locker_->ca_file()}}},
              {"timeouts", {{"connect_ms", 1000}, {"total_ms", 5000}}}};
    return Write("vault-" + Slug(scope) + ".json", c.dump());
  }
  std::string KmipConfig(testing::KmipWorld& world, const std::string& scope) {
    const KmipOptions o = world.Options();
    json c = {{"store", {{"type", "kmip"}}},
              {"kmip",
               {{"servers", o.transport.servers},
                {"ca_file", o.transport.ca_file},
                {"client_cert", o.transport.cert_file},
                {"client_key", o.transport.key_file}}},
              {"keys", {{"prefix", world.RunPrefix()}, {"scope", scope}}},
              {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}}};
    return Write("kmip-" + Slug(scope) + ".json", c.dump());
  }
  int Migrate(const std::string& from, const std::string& to, const std::string& extra, std::string* out) {
    return RunCli("migrate --from " + from + " --to " + to + " " + extra, out);
  }
  DevLocker& locker() { return *locker_; }

 private:
  static std::string Slug(std::string s) {
    for (char& c : s) c = c == '/' ? '_' : c;
    return s;
  }
  std::string dir_;
  std::unique_ptr<DevLocker> locker_;
  std::string token_;
};

class CliMigrate : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(w_.Start()); }
  MigrateWorld w_;
};

TEST_F(CliMigrate, DryRunWritesNothingThenApplyCopiesAndASecondRunFindsItDone) {
  const std::string a = w_.VaultConfig("mig/a"), b = w_.VaultConfig("mig/b");
  testing::FillScope(a);
  const auto source = ScopeState(a);
  ASSERT_EQ(source.size(), testing::kFilledVersions);

  std::string out;
  ASSERT_EQ(w_.Migrate(a, b, "", &out), 0) << out;
  EXPECT_NE(out.find("would copy         1 v1 (live) fingerprint "), std::string::npos) << out;
  EXPECT_NE(out.find("would mark deleted purged_key v1 (purged)"), std::string::npos) << out;
  EXPECT_NE(out.find("dry run, nothing written: 13 key version(s) of scope keyring_locker/mig/a"), std::string::npos)
      << out;
  EXPECT_TRUE(ScopeState(b).empty()) << "a dry run writes nothing";

  ASSERT_EQ(w_.Migrate(a, b, "--apply", &out), 0) << out;
  EXPECT_NE(out.find("migrated 13 key version(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("12 copied, 1 marked deleted"), std::string::npos) << out;
  EXPECT_EQ(ScopeState(b), source) << "every key byte-identical, deleted ones still deleted";
  EXPECT_EQ(ScopeState(a), source) << "the source is unchanged";

  ASSERT_EQ(RunCli("--json migrate --apply --from " + a + " --to " + b, &out), 0) << out;
  const json again = json::parse(out);
  EXPECT_EQ(again["counts"], json({{"present", 13}})) << out;
  EXPECT_EQ(again["failed"], 0);
}

TEST_F(CliMigrate, AnotherKeyAtTheDestinationIsAFailureNeverOverwritten) {
  const std::string a = w_.VaultConfig("mig/a"), c = w_.VaultConfig("mig/c");
  testing::FillScope(a);
  std::string out;
  ASSERT_EQ(RunCli("--config " + c + " ensure 2", &out), 0) << out;  // another key 2 v1
  const std::string theirs = ScopeState(c).at("2 v1");

  EXPECT_EQ(w_.Migrate(a, c, "--apply", &out), 1) << out;
  EXPECT_NE(out.find("FAIL               2 v1 (live) fingerprint "), std::string::npos) << out;
  EXPECT_NE(out.find("exists at the destination with another key (fingerprint " + theirs.substr(5)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("migrate: 1 key version(s) failed"), std::string::npos) << out;
  const auto after = ScopeState(c);
  EXPECT_EQ(after.at("2 v1"), theirs) << "never overwritten";
  auto source = ScopeState(a);
  source.erase("2 v1");
  for (const auto& [key, state] : source) EXPECT_EQ(after.at(key), state) << key << ": the others are copied";
}

TEST_F(CliMigrate, ARunCutShortIsFinishedByTheNext) {
  const std::string a = w_.VaultConfig("mig/a"), d = w_.VaultConfig("mig/d");
  testing::FillScope(a);
  const auto source = ScopeState(a);
  // The destination refuses every write of key 3 (as a run killed part way
  // leaves some keys written and others not).
  w_.locker().InjectFault({{"path_prefix", "secret/data/keyring_locker/mig/d/keys/3/"},
                           {"method", "POST"},
                           {"action", "status"},
                           {"status", 403}});
  std::string out;
  EXPECT_EQ(w_.Migrate(a, d, "--apply", &out), 1) << out;
  EXPECT_NE(out.find("FAIL               3 v1 (live)"), std::string::npos) << out;
  EXPECT_NE(out.find("creating key 3 v1 at the destination"), std::string::npos) << out;
  EXPECT_EQ(ScopeState(d).count("3 v1"), 0u);
  w_.locker().ClearFaults();

  ASSERT_EQ(w_.Migrate(a, d, "--apply", &out), 0) << out;
  EXPECT_NE(out.find("3 copied, 10 present"), std::string::npos) << out;
  EXPECT_EQ(ScopeState(d), source);
}

class CliMigrateKmip : public testing::KmipWorldTest {
 protected:
  void SetUp() override {
    KmipWorldTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(w_.Start());
  }
  MigrateWorld w_;
};

TEST_F(CliMigrateKmip, VaultToKmipAndBackKeepsEveryKey) {
  const std::string scope = "mig/" + std::to_string(getpid());
  const std::string vault = w_.VaultConfig("mig/src"), kmip = w_.KmipConfig(world(), scope),
                    back = w_.VaultConfig("mig/back");
  testing::FillScope(vault);
  const auto source = ScopeState(vault);
  ASSERT_EQ(source.size(), testing::kFilledVersions);

  std::string out;
  ASSERT_EQ(w_.Migrate(vault, kmip, "", &out), 0) << out;
  EXPECT_TRUE(ScopeState(kmip).empty()) << "a dry run writes nothing";

  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(w_.Migrate(vault, kmip, "--apply", &out), 0) << out;
  const auto took = std::chrono::steady_clock::now() - started;
  std::printf("migrate Vault -> KMIP, %zu key versions: %lld ms\n", source.size(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(ScopeState(kmip), source);
  {
    // Held by the KMIP server itself (wrapper none), deleted ones deleted.
    auto b = testing::OpenConfig(kmip);
    ASSERT_NE(b, nullptr);
    auto deleted = b->keys().ListDeleted(Sweep::kPerRequest);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(deleted->size(), 2u);
    auto live = b->keys().GetLive(testing::kMysqlKey);
    ASSERT_TRUE(live.ok()) << live.status().ToString();
  }

  ASSERT_EQ(RunCli("--json migrate --apply --from " + vault + " --to " + kmip, &out), 0) << out;
  EXPECT_EQ(json::parse(out)["counts"], json({{"present", 13}})) << out;

  ASSERT_EQ(w_.Migrate(kmip, back, "--apply", &out), 0) << out;
  EXPECT_EQ(ScopeState(back), source) << "Vault -> KMIP -> Vault: the same keys";
  EXPECT_EQ(ScopeState(vault), source) << "the source is unchanged";

  // KMIP -> a Vault scope holding another key 1 v1: that one fails.
  const std::string other = w_.VaultConfig("mig/other");
  ASSERT_EQ(RunCli("--config " + other + " ensure 1", &out), 0) << out;
  EXPECT_EQ(w_.Migrate(kmip, other, "--apply", &out), 1) << out;
  EXPECT_NE(out.find("FAIL               1 v1 (live)"), std::string::npos) << out;

  // Keys the KMIP server holds unwrapped cannot go into a ciphertext-only
  // bundle: export says what to use instead, and writes no file.
  const std::string bundle = kmip + ".bundle";
  EXPECT_EQ(RunCli("--config " + kmip + " export " + bundle, &out), 1) << out;
  EXPECT_NE(out.find("a bundle holds ciphertext only. Back up the KMIP server with its own tools, or copy the scope "
                     "to another locker with 'keyring-locker migrate'"),
            std::string::npos)
      << out;
  EXPECT_NE(access(bundle.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace keyring_locker
