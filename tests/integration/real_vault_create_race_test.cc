// A create race lost under docs/locker-setup.md's create-only policy, in a
// real Vault (issue #13). Vault checks the policy before check-and-set: a
// second cas=0 write to a path that exists is an "update", which the policy
// does not grant, so the loser gets 403 "permission denied", not the 400
// check-and-set refusal a root token gets. Two servers starting on one new
// scope (keyring_locker_vault.two_servers) hit this; VaultLocker::Store must
// report it as AlreadyExists (the caller then reads the winner's key), not
// as a policy error that stops the server.
#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/real_vault_fixture.h"
#include "tests/support/backend_parts.h"

namespace keyring_locker::testing {
namespace {

// The documented policy (docs/locker-setup.md) for scope race/<pid>.
std::string CreateOnlyPolicy(const std::string& scope) {
  return "path \"secret/data/keyring_locker/" + scope + "/*\" { capabilities = [\"create\", \"read\"] }\n" +
         "path \"secret/metadata/keyring_locker/" + scope + "/*\" { capabilities = [\"list\", \"read\"] }\n" +
         "path \"transit/encrypt/keyring_locker\" { capabilities = [\"update\"] }\n"
         "path \"transit/decrypt/keyring_locker\" { capabilities = [\"update\"] }\n"
         "path \"transit/datakey/plaintext/keyring_locker\" { capabilities = [\"update\"] }\n"
         "path \"transit/keys/keyring_locker\" { capabilities = [\"read\"] }\n";
}

class RealVaultCreateOnly : public RealVaultTest {};

TEST_F(RealVaultCreateOnly, LostCreateRaceIsAlreadyExistsNotAPolicyError) {
  const std::string scope = "race/" + std::to_string(::getpid());
  ASSERT_EQ(vault().Call("PUT", "sys/policies/acl/race-create-only", {{"policy", CreateOnlyPolicy(scope)}}).status, 204);
  auto made = vault().Call("POST", "auth/token/create", {{"policies", {"race-create-only"}}, {"ttl", "10m"}});
  ASSERT_EQ(made.status, 200) << made.body.dump();
  char tmpl[] = "/tmp/klk_race_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string token_file = dir + "/token";
  std::ofstream(token_file) << made.body["auth"]["client_token"].get<std::string>();
  chmod(token_file.c_str(), 0600);

  Config c;
  c.http.endpoints = {vault().url()};
  c.http.tls.ca_file = vault().ca_file();
  c.http.connect_timeout = std::chrono::milliseconds(2000);
  c.http.total_timeout = std::chrono::milliseconds(8000);
  c.auth.method = AuthOptions::Method::kToken;
  c.auth.token_file = token_file;
  c.keys.scope = scope;
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  VaultLocker& locker = VaultOf(**b);

  // What Vault itself answers the loser: 403, not check-and-set's 400.
  const std::string path = "keyring_locker/" + scope + "/keys/probe/1";
  ASSERT_TRUE(locker.Store(path, {{"v", "first"}}).ok());
  auto raw = vault().Call("POST", "secret/data/" + path, {{"options", {{"cas", 0}}}, {"data", {{"v", "x"}}}},
                          made.body["auth"]["client_token"].get<std::string>());
  EXPECT_EQ(raw.status, 403) << raw.body.dump();

  // The store names it a lost race; the first document stays.
  Status second = locker.Store(path, {{"v", "second"}});
  EXPECT_EQ(second.code(), Code::kAlreadyExists) << second.ToString();
  auto kept = locker.Fetch(path);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)["v"], "first");

  // A path the policy does not cover is still the policy error it was.
  Status outside = locker.Store("keyring_locker/elsewhere/keys/probe/1", {{"v", "x"}});
  EXPECT_EQ(outside.code(), Code::kPermissionDenied) << outside.ToString();
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace keyring_locker::testing
