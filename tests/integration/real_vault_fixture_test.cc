// The real Vault fixture (issue #13): starts, answers like Vault 1.14.8,
// keeps data across a restart, forms a raft cluster; and test bodies written
// once run against both the dev locker and the real Vault, so a difference
// between them shows up as a failure on one side.
#include <unistd.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/real_vault_fixture.h"

namespace keyring_locker::testing {
namespace {

std::string UniquePath(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// --- bodies for either locker: Locker is DevLocker or RealVault ----------

template <class Locker>
void ExpectKvCreateOnlyRefusesASecondWrite(Locker& locker) {
  const std::string path = "secret/data/" + UniquePath("fixture/cas-");
  auto first = locker.Call("POST", path, {{"options", {{"cas", 0}}}, {"data", {{"v", "1"}}}});
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["data"]["version"], 1);
  auto second = locker.Call("POST", path, {{"options", {{"cas", 0}}}, {"data", {{"v", "2"}}}});
  EXPECT_EQ(second.status, 400) << second.body.dump();
  ASSERT_TRUE(second.body.contains("errors")) << second.body.dump();
  EXPECT_EQ(second.body["errors"][0], "check-and-set parameter did not match the current version");
  auto read = locker.Call("GET", path);
  ASSERT_EQ(read.status, 200) << read.body.dump();
  EXPECT_EQ(read.body["data"]["data"]["v"], "1");
  EXPECT_EQ(read.body["data"]["metadata"]["version"], 1);
}

template <class Locker>
void ExpectTransitRoundTrip(Locker& locker) {
  const std::string key = UniquePath("fixture-");
  auto made = locker.Call("POST", "transit/keys/" + key, {{"type", "aes256-gcm96"}});
  ASSERT_TRUE(made.status == 200 || made.status == 204) << made.body.dump();
  const std::string plain = "bWFzdGVyIGtleSBieXRlcyAzMiBsb25nISEhISEhISE=";
  auto enc = locker.Call("POST", "transit/encrypt/" + key, {{"plaintext", plain}});
  ASSERT_EQ(enc.status, 200) << enc.body.dump();
  const std::string ct = enc.body["data"]["ciphertext"];
  EXPECT_EQ(ct.rfind("vault:v1:", 0), 0u) << ct;
  auto dec = locker.Call("POST", "transit/decrypt/" + key, {{"ciphertext", ct}});
  ASSERT_EQ(dec.status, 200) << dec.body.dump();
  EXPECT_EQ(dec.body["data"]["plaintext"], plain);
  auto dk = locker.Call("POST", "transit/datakey/plaintext/" + key, {{"bits", 256}});
  ASSERT_EQ(dk.status, 200) << dk.body.dump();
  auto back = locker.Call("POST", "transit/decrypt/" + key, {{"ciphertext", dk.body["data"]["ciphertext"]}});
  ASSERT_EQ(back.status, 200) << back.body.dump();
  EXPECT_EQ(back.body["data"]["plaintext"], dk.body["data"]["plaintext"]);
  // A ciphertext that is not one: both refuse it with 400.
  auto bad = locker.Call("POST", "transit/decrypt/" + key, {{"ciphertext", "vault:v1:AAAA"}});
  EXPECT_EQ(bad.status, 400) << bad.body.dump();
}

template <class Locker>
void ExpectMountLookupForKvV2(Locker& locker) {
  // What our client asks before it uses a KV mount.
  auto r = locker.Call("GET", "sys/internal/ui/mounts/secret/some/key");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["data"]["type"], "kv");
  EXPECT_EQ(r.body["data"]["path"], "secret/");
  EXPECT_EQ(r.body["data"]["options"]["version"], "2");
}

// --- the real Vault ------------------------------------------------------

class RealVaultFixture : public RealVaultTest {};

TEST_F(RealVaultFixture, AnswersAsAnActiveUnsealedVault1148) {
  auto health = vault().Call("GET", "sys/health", nullptr, "-");
  ASSERT_EQ(health.status, 200) << health.body.dump();
  EXPECT_EQ(health.body["version"], "1.14.8");
  EXPECT_EQ(health.body["sealed"], false);
  EXPECT_EQ(health.body["initialized"], true);
  auto self = vault().Call("GET", "auth/token/lookup-self");
  ASSERT_EQ(self.status, 200) << self.body.dump();
  EXPECT_EQ(self.body["data"]["policies"][0], "root");
  auto denied = vault().Call("GET", "secret/data/x", nullptr, "-");
  EXPECT_EQ(denied.status, 403) << denied.body.dump();
}

TEST_F(RealVaultFixture, KvCreateOnlyRefusesASecondWrite) { ExpectKvCreateOnlyRefusesASecondWrite(vault()); }
TEST_F(RealVaultFixture, TransitRoundTrip) { ExpectTransitRoundTrip(vault()); }
TEST_F(RealVaultFixture, MountLookupForKvV2) { ExpectMountLookupForKvV2(vault()); }

TEST_F(RealVaultFixture, TheLaunchersTransitKeyExists) {
  auto key = vault().Call("GET", "transit/keys/" + vault().transit_key());
  ASSERT_EQ(key.status, 200) << key.body.dump();
  EXPECT_EQ(key.body["data"]["type"], "aes256-gcm96");
}

TEST_F(RealVaultFixture, RestartKeepsKvDataAndTransitKeys) {
  const std::string path = "secret/data/" + UniquePath("fixture/restart-");
  ASSERT_EQ(vault().Call("POST", path, {{"data", {{"v", "kept"}}}}).status, 200);
  auto enc = vault().Call("POST", "transit/encrypt/" + vault().transit_key(), {{"plaintext", "a2VwdA=="}});
  ASSERT_EQ(enc.status, 200) << enc.body.dump();
  const int port = vault().port();
  ASSERT_TRUE(vault().Restart());
  EXPECT_EQ(vault().port(), port);
  auto read = vault().Call("GET", path);
  ASSERT_EQ(read.status, 200) << read.body.dump();
  EXPECT_EQ(read.body["data"]["data"]["v"], "kept");
  auto dec = vault().Call("POST", "transit/decrypt/" + vault().transit_key(),
                          {{"ciphertext", enc.body["data"]["ciphertext"]}});
  ASSERT_EQ(dec.status, 200) << dec.body.dump();
  EXPECT_EQ(dec.body["data"]["plaintext"], "a2VwdA==");
}

// Vault answers the mount lookup for any path the token has a capability
// on (the dev locker answers 403 here: docs/real-vault-notes.md).
TEST_F(RealVaultFixture, MountLookupNeedsSomeCapabilityOnThePath) {
  ASSERT_EQ(vault().Call("PUT", "sys/policies/acl/fixture-transit",
                         {{"policy", "path \"transit/encrypt/*\" { capabilities = [\"update\"] }"}})
                .status,
            204);
  auto made = vault().Call("POST", "auth/token/create", {{"policies", {"fixture-transit"}}, {"ttl", "10m"}});
  ASSERT_EQ(made.status, 200) << made.body.dump();
  const std::string token = made.body["auth"]["client_token"];
  auto transit = vault().Call("GET", "sys/internal/ui/mounts/transit/encrypt/x", nullptr, token);
  ASSERT_EQ(transit.status, 200) << transit.body.dump();
  EXPECT_EQ(transit.body["data"]["type"], "transit");
  auto secret = vault().Call("GET", "sys/internal/ui/mounts/secret/x", nullptr, token);
  EXPECT_EQ(secret.status, 403) << secret.body.dump();
  EXPECT_NE(secret.body.dump().find("preflight capability check returned 403"), std::string::npos)
      << secret.body.dump();
}

TEST_F(RealVaultFixture, StoppedVaultRefusesConnections) {
  ASSERT_TRUE(vault().Stop());
  auto r = vault().Call("GET", "sys/health", nullptr, "-");
  EXPECT_EQ(r.status, -1) << r.body.dump();  // SetUp of the next test restarts it
}

// --- the same bodies against the dev locker ---------------------------------

TEST(DevLockerLikeRealVault, KvCreateOnlyRefusesASecondWrite) {
  auto locker = DevLocker::Start();
  ASSERT_TRUE(locker);
  ExpectKvCreateOnlyRefusesASecondWrite(*locker);
}

TEST(DevLockerLikeRealVault, TransitRoundTrip) {
  auto locker = DevLocker::Start();
  ASSERT_TRUE(locker);
  ExpectTransitRoundTrip(*locker);
}

TEST(DevLockerLikeRealVault, MountLookupForKvV2) {
  auto locker = DevLocker::Start();
  ASSERT_TRUE(locker);
  ExpectMountLookupForKvV2(*locker);
}

// --- a three-node raft cluster ------------------------------------------------

TEST(RealVaultCluster, StandbysForwardAndTheClusterSurvivesARestart) {
  if (!RealVault::Installed()) {
    if (std::getenv("KLK_REQUIRE_REAL_VAULT")) GTEST_FAIL() << "no Vault binary: run scripts/real_vault.sh";
    GTEST_SKIP() << "no Vault binary: scripts/real_vault.sh builds it";
  }
  RealVault::Options options;
  options.nodes = 3;
  auto cluster = RealVault::Start(options);
  ASSERT_TRUE(cluster);
  ASSERT_EQ(cluster->urls().size(), 3u);
  auto peers = cluster->Call("GET", "sys/storage/raft/configuration");
  ASSERT_EQ(peers.status, 200) << peers.body.dump();
  EXPECT_EQ(peers.body["data"]["config"]["servers"].size(), 3u);
  ExpectKvCreateOnlyRefusesASecondWrite(*cluster);
  const std::string path = "secret/data/" + UniquePath("fixture/cluster-");
  ASSERT_EQ(cluster->Call("POST", path, {{"data", {{"v", "raft"}}}}).status, 200);
  ASSERT_TRUE(cluster->Restart());
  auto read = cluster->Call("GET", path);  // node1 may now be a standby: it forwards
  ASSERT_EQ(read.status, 200) << read.body.dump();
  EXPECT_EQ(read.body["data"]["data"]["v"], "raft");
}

}  // namespace
}  // namespace keyring_locker::testing
