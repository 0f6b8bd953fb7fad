// The dev locker speaks enough of Vault's wire format for keyring_locker's
// tests: these pin the behaviours those tests rely on.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker::testing {
namespace {

using json = nlohmann::json;

class DevLockerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { locker_ = DevLocker::Start().release(); }
  static void TearDownTestSuite() {
    delete locker_;
    locker_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(locker_, nullptr); }
  DevLocker& L() { return *locker_; }
  // A token limited to `policies`, created by root.
  std::string Token(const json& policies, const json& extra = json::object()) {
    json body = extra;
    body["policies"] = policies;
    auto r = L().Call("POST", "auth/token/create", body);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body["auth"]["client_token"].get<std::string>();
  }
  static DevLocker* locker_;
};
DevLocker* DevLockerTest::locker_ = nullptr;

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

TEST_F(DevLockerTest, CreatesTlsMaterialWithPrivateKeys) {
  for (const char* stem : {"ca", "server", "client"}) {
    EXPECT_EQ(Mode(L().tls_dir() + "/" + stem + "-key.pem"), 0600) << stem;
    EXPECT_NE(Mode(L().tls_dir() + "/" + stem + ".pem"), -1) << stem;
  }
}

TEST_F(DevLockerTest, HealthAnswersWithoutToken) {
  auto r = L().Call("GET", "sys/health", nullptr, "-");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["sealed"], false);
  EXPECT_EQ(r.body["initialized"], true);
  EXPECT_EQ(r.body["version"], "1.15.0+ent.devlocker");
}

TEST_F(DevLockerTest, UntrustedClientFailsTls) {
  DevLocker::CallOptions no_ca;
  no_ca.trust_ca = false;
  auto r = L().CallWith(no_ca, "GET", "sys/health", nullptr, "-");
  EXPECT_EQ(r.status, -1) << r.body.dump();
}

TEST_F(DevLockerTest, UnknownOrMissingTokenIsDenied) {
  EXPECT_EQ(L().Call("GET", "secret/data/x", nullptr, "-").status, 403);
  auto r = L().Call("GET", "secret/data/x", nullptr, "hvs.not-a-token");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["errors"][0], "permission denied");
}

TEST_F(DevLockerTest, KvV2CreateOnlyThenConflict) {
  json w = {{"options", {{"cas", 0}}}, {"data", {{"k", "v1"}}}};
  auto first = L().Call("POST", "secret/data/cas/one", w);
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["data"]["version"], 1);
  auto second = L().Call("POST", "secret/data/cas/one", w);
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.body["errors"][0], "check-and-set parameter did not match the current version");
  auto update = L().Call("POST", "secret/data/cas/one", {{"options", {{"cas", 1}}}, {"data", {{"k", "v2"}}}});
  EXPECT_EQ(update.status, 200);
  auto read = L().Call("GET", "secret/data/cas/one");
  EXPECT_EQ(read.body["data"]["data"]["k"], "v2");
  EXPECT_EQ(read.body["data"]["metadata"]["version"], 2);
  EXPECT_EQ(L().Call("GET", "secret/data/cas/one?version=1").body["data"]["data"]["k"], "v1");
}

TEST_F(DevLockerTest, KvV2MaxVersionsPrunesOldVersions) {
  ASSERT_EQ(L().Call("POST", "secret/metadata/prune", {{"max_versions", 3}}).status, 204);
  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(L().Call("POST", "secret/data/prune", {{"data", {{"i", i}}}}).status, 200);
  auto meta = L().Call("GET", "secret/metadata/prune");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(meta.body["data"]["current_version"], 5);
  EXPECT_EQ(meta.body["data"]["oldest_version"], 3);
  EXPECT_EQ(meta.body["data"]["max_versions"], 3);
  EXPECT_EQ(meta.body["data"]["versions"].size(), 3u);
  EXPECT_EQ(L().Call("GET", "secret/data/prune?version=1").status, 404);
  // The mount default is 10, silently.
  for (int i = 1; i <= 12; ++i) L().Call("POST", "secret/data/prune10", {{"data", {{"i", i}}}});
  EXPECT_EQ(L().Call("GET", "secret/metadata/prune10").body["data"]["oldest_version"], 3);
}

TEST_F(DevLockerTest, KvV2MetadataAndList) {
  L().Call("POST", "secret/metadata/lst/a", {{"custom_metadata", {{"owner", "t"}}}, {"cas_required", true}});
  EXPECT_EQ(L().Call("POST", "secret/data/lst/a", {{"data", {{"x", 1}}}}).status, 400);  // cas required
  EXPECT_EQ(L().Call("POST", "secret/data/lst/a", {{"options", {{"cas", 0}}}, {"data", {{"x", 1}}}}).status, 200);
  L().Call("POST", "secret/data/lst/dir/b", {{"data", {{"x", 1}}}});
  auto meta = L().Call("GET", "secret/metadata/lst/a");
  EXPECT_EQ(meta.body["data"]["custom_metadata"]["owner"], "t");
  EXPECT_EQ(meta.body["data"]["cas_required"], true);
  auto list = L().Call("LIST", "secret/metadata/lst/");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["data"]["keys"], json({"a", "dir/"}));
  auto empty = L().Call("LIST", "secret/metadata/nothing-here/");
  EXPECT_EQ(empty.status, 404);
  EXPECT_EQ(empty.body["errors"], json::array());
}

TEST_F(DevLockerTest, KvV2DeletedAndDestroyedVersionsAre404WithMetadata) {
  L().Call("POST", "secret/data/del", {{"data", {{"v", 1}}}});
  L().Call("POST", "secret/data/del", {{"data", {{"v", 2}}}});
  ASSERT_EQ(L().Call("DELETE", "secret/data/del").status, 204);
  auto r = L().Call("GET", "secret/data/del");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["data"]["metadata"]["version"], 2);
  EXPECT_NE(r.body["data"]["metadata"]["deletion_time"], "");
  EXPECT_EQ(L().Call("POST", "secret/undelete/del", {{"versions", {2}}}).status, 204);
  EXPECT_EQ(L().Call("GET", "secret/data/del").status, 200);
  EXPECT_EQ(L().Call("POST", "secret/destroy/del", {{"versions", {1}}}).status, 204);
  auto gone = L().Call("GET", "secret/data/del?version=1");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body["data"]["metadata"]["destroyed"], true);
  EXPECT_EQ(L().Call("DELETE", "secret/metadata/del").status, 204);
  EXPECT_EQ(L().Call("GET", "secret/metadata/del").status, 404);
}

TEST_F(DevLockerTest, KvV1MountIsFlat) {
  ASSERT_EQ(L().Call("POST", "sys/mounts/kv1", {{"type", "kv"}, {"options", {{"version", "1"}}}}).status, 204);
  auto ui = L().Call("GET", "sys/internal/ui/mounts/kv1");
  EXPECT_EQ(ui.body["data"]["options"]["version"], "1");
  EXPECT_EQ(L().Call("GET", "sys/internal/ui/mounts/secret").body["data"]["options"]["version"], "2");
  EXPECT_EQ(L().Call("GET", "sys/internal/ui/mounts/nope").status, 403);  // Vault: no mount listing
  ASSERT_EQ(L().Call("POST", "kv1/app/k", {{"a", "b"}}).status, 204);
  EXPECT_EQ(L().Call("GET", "kv1/app/k").body["data"], json({{"a", "b"}}));
  EXPECT_EQ(L().Call("LIST", "kv1/app").body["data"]["keys"], json({"k"}));
  EXPECT_EQ(L().Call("DELETE", "kv1/app/k").status, 204);
  EXPECT_EQ(L().Call("GET", "kv1/app/k").status, 404);
  auto mounts = L().Call("GET", "sys/mounts");
  EXPECT_EQ(mounts.body["data"]["secret/"]["options"]["version"], "2");
  EXPECT_EQ(mounts.body["data"]["kv1/"]["type"], "kv");
}

TEST_F(DevLockerTest, TransitRoundTripAndBatch) {
  ASSERT_EQ(L().Call("POST", "transit/keys/rt", {{"type", "aes256-gcm96"}}).status, 200);
  auto enc = L().Call("POST", "transit/encrypt/rt", {{"plaintext", "aGVsbG8="}});
  ASSERT_EQ(enc.status, 200) << enc.body.dump();
  const std::string ct = enc.body["data"]["ciphertext"];
  EXPECT_EQ(ct.rfind("vault:v1:", 0), 0u);
  EXPECT_NE(ct, L().Call("POST", "transit/encrypt/rt", {{"plaintext", "aGVsbG8="}}).body["data"]["ciphertext"]);
  auto dec = L().Call("POST", "transit/decrypt/rt", {{"ciphertext", ct}});
  EXPECT_EQ(dec.body["data"]["plaintext"], "aGVsbG8=");
  auto batch = L().Call("POST", "transit/encrypt/rt",
                        {{"batch_input", {{{"plaintext", "YQ=="}}, {{"plaintext", "not base64!"}}}}});
  ASSERT_EQ(batch.status, 200);
  ASSERT_EQ(batch.body["data"]["batch_results"].size(), 2u);
  EXPECT_TRUE(batch.body["data"]["batch_results"][1].contains("error"));
  auto bdec = L().Call("POST", "transit/decrypt/rt",
                       {{"batch_input", {{{"ciphertext", batch.body["data"]["batch_results"][0]["ciphertext"]}}}}});
  EXPECT_EQ(bdec.body["data"]["batch_results"][0]["plaintext"], "YQ==");
  EXPECT_EQ(L().Call("POST", "transit/encrypt/rt", json::object()).status, 400);  // no plaintext
  auto odd = L().Call("POST", "transit/encrypt/rt", {{"batch_input", {5}}});
  EXPECT_TRUE(odd.body["data"]["batch_results"][0].contains("error"));
}

TEST_F(DevLockerTest, TransitRotateAndMinDecryptionVersion) {
  L().Call("POST", "transit/keys/rot", json::object());
  const std::string v1 = L().Call("POST", "transit/encrypt/rot", {{"plaintext", "eA=="}}).body["data"]["ciphertext"];
  ASSERT_EQ(L().Call("POST", "transit/keys/rot/rotate").status, 200);
  auto info = L().Call("GET", "transit/keys/rot");
  EXPECT_EQ(info.body["data"]["latest_version"], 2);
  EXPECT_EQ(info.body["data"]["keys"].size(), 2u);
  EXPECT_EQ(info.body["data"]["deletion_allowed"], false);
  auto rewrap = L().Call("POST", "transit/rewrap/rot", {{"ciphertext", v1}});
  const std::string v2 = rewrap.body["data"]["ciphertext"];
  EXPECT_EQ(v2.rfind("vault:v2:", 0), 0u);
  ASSERT_EQ(L().Call("POST", "transit/keys/rot/config", {{"min_decryption_version", 2}}).status, 200);
  auto old = L().Call("POST", "transit/decrypt/rot", {{"ciphertext", v1}});
  EXPECT_EQ(old.status, 400);
  EXPECT_EQ(old.body["errors"][0], "ciphertext or signature version is disallowed by policy (too old)");
  EXPECT_EQ(L().Call("POST", "transit/decrypt/rot", {{"ciphertext", v2}}).body["data"]["plaintext"], "eA==");
}

TEST_F(DevLockerTest, TransitRejectsOtherKeysCiphertext) {
  L().Call("POST", "transit/keys/ka", json::object());
  L().Call("POST", "transit/keys/kb", json::object());
  const std::string ct = L().Call("POST", "transit/encrypt/ka", {{"plaintext", "eA=="}}).body["data"]["ciphertext"];
  auto r = L().Call("POST", "transit/decrypt/kb", {{"ciphertext", ct}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["errors"][0], "cipher: message authentication failed");
  EXPECT_EQ(L().Call("POST", "transit/decrypt/ka", {{"ciphertext", "garbage"}}).status, 400);
}

TEST_F(DevLockerTest, TransitDataKeysAndDerivedKeys) {
  L().Call("POST", "transit/keys/dk", json::object());
  auto plain = L().Call("POST", "transit/datakey/plaintext/dk", {{"bits", 256}});
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body["data"]["plaintext"].get<std::string>().size(), 44u);  // base64 of 32 bytes
  auto dec = L().Call("POST", "transit/decrypt/dk", {{"ciphertext", plain.body["data"]["ciphertext"]}});
  EXPECT_EQ(dec.body["data"]["plaintext"], plain.body["data"]["plaintext"]);
  auto wrapped = L().Call("POST", "transit/datakey/wrapped/dk", {{"bits", 512}});
  EXPECT_FALSE(wrapped.body["data"].contains("plaintext"));
  EXPECT_EQ(L().Call("POST", "transit/datakey/plaintext/dk", {{"bits", 100}}).status, 400);
  L().Call("POST", "transit/keys/derived", {{"derived", true}});
  EXPECT_EQ(L().Call("POST", "transit/encrypt/derived", {{"plaintext", "eA=="}}).status, 400);
  auto enc = L().Call("POST", "transit/encrypt/derived", {{"plaintext", "eA=="}, {"context", "Y3R4MQ=="}});
  ASSERT_EQ(enc.status, 200);
  json ct = enc.body["data"]["ciphertext"];
  EXPECT_EQ(L().Call("POST", "transit/decrypt/derived", {{"ciphertext", ct}, {"context", "Y3R4Mg=="}}).status, 400);
  EXPECT_EQ(L().Call("POST", "transit/decrypt/derived", {{"ciphertext", ct}, {"context", "Y3R4MQ=="}})
                .body["data"]["plaintext"], "eA==");
  // Upsert unless disabled.
  EXPECT_EQ(L().Call("POST", "transit/encrypt/upserted", {{"plaintext", "eA=="}}).status, 200);
  L().Call("POST", "transit/config/keys", {{"disable_upsert", true}});
  EXPECT_EQ(L().Call("POST", "transit/encrypt/not-upserted", {{"plaintext", "eA=="}}).status, 400);
  L().Call("POST", "transit/config/keys", {{"disable_upsert", false}});
}

TEST_F(DevLockerTest, TokenTtlRenewAndExplicitMax) {
  std::string t = Token({"kv-reader"}, {{"ttl", "30s"}, {"explicit_max_ttl", "60s"}});
  auto look = L().Call("GET", "auth/token/lookup-self", nullptr, t);
  ASSERT_EQ(look.status, 200);
  EXPECT_FALSE(look.body["data"].contains("id"));
  EXPECT_GT(look.body["data"]["ttl"].get<int>(), 25);
  EXPECT_LE(look.body["data"]["ttl"].get<int>(), 30);
  EXPECT_EQ(look.body["data"]["renewable"], true);
  EXPECT_EQ(look.body["data"]["creation_ttl"], 30);
  auto renew = L().Call("POST", "auth/token/renew-self", {{"increment", "1h"}}, t);
  ASSERT_EQ(renew.status, 200);
  EXPECT_LE(renew.body["auth"]["lease_duration"].get<int>(), 60);  // capped by explicit_max_ttl
  EXPECT_GT(renew.body["auth"]["lease_duration"].get<int>(), 50);
  EXPECT_EQ(L().Call("POST", "auth/token/revoke-self", nullptr, t).status, 204);
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 403);
}

TEST_F(DevLockerTest, AppRoleLogin) {
  ASSERT_EQ(L().Call("POST", "auth/approle/role/app", {{"token_ttl", "10m"}, {"token_policies", {"p1"}}}).status, 204);
  auto role_id = L().Call("GET", "auth/approle/role/app/role-id").body["data"]["role_id"];
  auto secret = L().Call("POST", "auth/approle/role/app/secret-id");
  ASSERT_EQ(secret.status, 200);
  auto login = L().Call("POST", "auth/approle/login",
                        {{"role_id", role_id}, {"secret_id", secret.body["data"]["secret_id"]}}, "-");
  ASSERT_EQ(login.status, 200) << login.body.dump();
  EXPECT_EQ(login.body["auth"]["lease_duration"], 600);
  EXPECT_EQ(login.body["auth"]["renewable"], true);
  EXPECT_EQ(login.body["auth"]["policies"], json({"default", "p1"}));
  const std::string t = login.body["auth"]["client_token"];
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 200);
  EXPECT_EQ(L().Call("POST", "auth/approle/login", {{"role_id", role_id}, {"secret_id", "wrong"}}, "-").status, 400);
}

TEST_F(DevLockerTest, CertLoginNeedsTheClientCertificate) {
  std::ifstream in(L().client_cert());
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(L().Call("POST", "auth/cert/certs/web", {{"certificate", pem}, {"token_policies", {"p"}}}).status, 204);
  DevLocker::CallOptions mtls;
  mtls.client_cert = true;
  auto ok = L().CallWith(mtls, "POST", "auth/cert/login", {{"name", "web"}}, "-");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["auth"]["policies"], json({"default", "p"}));
  auto refused = L().Call("POST", "auth/cert/login", {{"name", "web"}}, "-");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body["errors"][0].get<std::string>().find("client certificate"), std::string::npos);
}

TEST_F(DevLockerTest, PoliciesLimitTokens) {
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/kv-only",
                     {{"policy", "path \"secret/data/pol/*\" { capabilities = [\"create\", \"read\", \"update\"] }"}})
                .status, 204);
  EXPECT_EQ(L().Call("PUT", "sys/policies/acl/broken", {{"policy", "nonsense"}}).status, 400);
  std::string t = Token({"kv-only"});
  EXPECT_EQ(L().Call("POST", "secret/data/pol/a", {{"data", {{"x", 1}}}}, t).status, 200);
  EXPECT_EQ(L().Call("GET", "secret/data/pol/a", nullptr, t).status, 200);
  EXPECT_EQ(L().Call("GET", "secret/data/other", nullptr, t).status, 403);
  EXPECT_EQ(L().Call("POST", "transit/decrypt/rt", {{"ciphertext", "vault:v1:AAAA"}}, t).status, 403);
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 200);  // default policy
  EXPECT_EQ(L().Call("GET", "sys/policies/acl/kv-only").body["data"]["name"], "kv-only");
}

// Vault answers the mount lookup (how clients learn the KV version) for any
// token with some capability on the mount or under it, with no rule on the
// sys/ path itself; the others get a "preflight capability check" 403. The
// least-privilege policy of docs/locker-setup.md relies on this.
TEST_F(DevLockerTest, MountLookupNeedsSomeCapabilityUnderTheMount) {
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/transit-only",
                     {{"policy", "path \"transit/encrypt/*\" { capabilities = [\"update\"] }\n"
                                 "path \"secret/data/denied/*\" { capabilities = [\"deny\"] }"}})
                .status, 204);
  const std::string t = Token({"transit-only"});
  auto transit = L().Call("GET", "sys/internal/ui/mounts/transit/encrypt/x", nullptr, t);
  ASSERT_EQ(transit.status, 200) << transit.body.dump();
  EXPECT_EQ(transit.body["data"]["type"], "transit");
  auto secret = L().Call("GET", "sys/internal/ui/mounts/secret/x", nullptr, t);
  EXPECT_EQ(secret.status, 403) << secret.body.dump();
  EXPECT_NE(secret.body.dump().find("preflight capability check returned 403"), std::string::npos) << secret.body.dump();
  EXPECT_EQ(L().Call("GET", "sys/internal/ui/mounts/secret", nullptr, "not-a-token").status, 403);
  EXPECT_EQ(L().Call("GET", "sys/mounts", nullptr, t).status, 403);  // the rest of sys/ stays root's
}

// Vault tells create from update by whether the entry exists: the least-
// privilege policy of docs/locker-setup.md ("create", "read") must not be
// able to overwrite a key document (it could on the dev locker before).
TEST_F(DevLockerTest, CreateOnlyPolicyCannotOverwrite) {
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/create-only",
                     {{"policy", "path \"secret/data/co/*\" { capabilities = [\"create\", \"read\"] }\n"
                                 "path \"transit/keys/co-*\" { capabilities = [\"create\"] }"}})
                .status, 204);
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/update-only",
                     {{"policy", "path \"secret/data/co/*\" { capabilities = [\"update\", \"read\"] }"}})
                .status, 204);
  const std::string creator = Token({"create-only"}), updater = Token({"update-only"});
  EXPECT_EQ(L().Call("POST", "secret/data/co/new", {{"data", {{"doc", 1}}}}, updater).status, 403);
  EXPECT_EQ(L().Call("POST", "secret/data/co/new", {{"data", {{"doc", 1}}}}, creator).status, 200);
  EXPECT_EQ(L().Call("POST", "secret/data/co/new", {{"data", {{"x", "y"}}}}, creator).status, 403);
  EXPECT_EQ(L().Call("GET", "secret/data/co/new", nullptr, creator).body["data"]["data"]["doc"], 1);
  EXPECT_EQ(L().Call("POST", "secret/data/co/new", {{"data", {{"doc", 2}}}}, updater).status, 200);
  // Vault 1.14.8 checks no existence on transit/keys/<name>: creating a key
  // needs "update" there, "create" alone is refused.
  EXPECT_EQ(L().Call("POST", "transit/keys/co-kek", json::object(), creator).status, 403);
  // Transit encrypt does check: "create" may encrypt with (and so make) a new
  // key, but an existing key needs "update".
  EXPECT_EQ(L().Call("PUT", "sys/policies/acl/encrypt-create",
                     {{"policy", "path \"transit/encrypt/*\" { capabilities = [\"create\"] }"}}).status, 204);
  const std::string encrypter = Token({"encrypt-create"});
  EXPECT_EQ(L().Call("POST", "transit/encrypt/co-new", {{"plaintext", "AAAA"}}, encrypter).status, 200);
  auto refused = L().Call("POST", "transit/encrypt/co-new", {{"plaintext", "AAAA"}}, encrypter);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["errors"][0], "1 error occurred:\n\t* permission denied\n\n");  // Vault's text
}

TEST_F(DevLockerTest, NamespacesIsolate) {
  ASSERT_EQ(L().Call("POST", "sys/namespaces/team1").status, 200);
  EXPECT_EQ(L().Call("LIST", "sys/namespaces").body["data"]["keys"], json({"team1/"}));
  ASSERT_EQ(L().Call("POST", "sys/mounts/secret", {{"type", "kv"}, {"options", {{"version", "2"}}}}, "", "team1").status, 204);
  L().Call("POST", "secret/data/iso", {{"data", {{"where", "team1"}}}}, "", "team1");
  EXPECT_EQ(L().Call("GET", "secret/data/iso", nullptr, "", "team1").body["data"]["data"]["where"], "team1");
  EXPECT_EQ(L().Call("GET", "secret/data/iso").status, 404);
  EXPECT_EQ(L().Call("GET", "secret/data/iso", nullptr, "", "no-such-ns").status, 403);
  // A token made in team1 does not work in the root namespace.
  auto made = L().Call("POST", "auth/token/create", {{"policies", {"x"}}}, "", "team1");
  const std::string t = made.body["auth"]["client_token"];
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t, "team1").status, 200);
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 403);
}

// hashicorp_key_management (MariaDB) reads sys/mounts/<mount>/tune at start-up
// and needs options.version >= 2 at the top level of the answer; real Vault
// answers the mount's TTLs (768h system default), force_no_cache, options
// and description, repeated under "data".
TEST_F(DevLockerTest, MountTuneAnswersLikeVault) {
  auto r = L().Call("GET", "sys/mounts/secret/tune");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  for (const json* view : {&r.body, &r.body["data"]}) {
    EXPECT_EQ((*view)["options"]["version"], "2") << r.body.dump();
    EXPECT_EQ((*view)["default_lease_ttl"], 2764800);
    EXPECT_EQ((*view)["max_lease_ttl"], 2764800);
    EXPECT_EQ((*view)["force_no_cache"], false);
    EXPECT_TRUE((*view)["description"].is_string());
  }
  // A path below the mount is answered for the mount (Vault's longest prefix).
  EXPECT_EQ(L().Call("GET", "sys/mounts/secret/mariadb/tune").body["options"]["version"], "2");

  ASSERT_EQ(L().Call("POST", "sys/mounts/tune-kv1", {{"type", "kv"}, {"options", {{"version", "1"}}},
                                                   {"description", "old kv"}}).status, 204);
  auto v1 = L().Call("GET", "sys/mounts/tune-kv1/tune");
  EXPECT_EQ(v1.body["options"]["version"], "1");
  EXPECT_EQ(v1.body["description"], "old kv");
  auto transit = L().Call("GET", "sys/mounts/transit/tune");
  ASSERT_EQ(transit.status, 200);
  EXPECT_FALSE(transit.body.contains("options")) << "Vault omits empty options";
  auto auth = L().Call("GET", "sys/auth/approle/tune");
  ASSERT_EQ(auth.status, 200);
  EXPECT_EQ(auth.body["token_type"], "default-service");
  EXPECT_EQ(L().Call("GET", "sys/mounts/auth/approle/tune").body["token_type"], "default-service");

  EXPECT_EQ(L().Call("GET", "sys/mounts/no-such-mount/tune").status, 400);
  EXPECT_EQ(L().Call("POST", "sys/mounts/secret/tune", {{"max_lease_ttl", "1h"}}).status, 405);
  // Not mistaken for enabling a mount called "secret/tune".
  EXPECT_FALSE(L().Call("GET", "sys/mounts").body["data"].contains("secret/tune/"));
}

// The policy line hashicorp_key_management's token needs besides its keys
// (docs/mariadb.md): read on the exact tune path, no root.
TEST_F(DevLockerTest, MountTuneNeedsReadPolicyNotRoot) {
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/hc-tune",
                     {{"policy", "path \"secret/data/*\" { capabilities = [\"read\"] }\n"
                                 "path \"sys/mounts/secret/tune\" { capabilities = [\"read\"] }"}})
                .status, 204);
  ASSERT_EQ(L().Call("PUT", "sys/policies/acl/hc-keys-only",
                     {{"policy", "path \"secret/data/*\" { capabilities = [\"read\"] }"}})
                .status, 204);
  const std::string with_tune = Token({"hc-tune"}), keys_only = Token({"hc-keys-only"});
  EXPECT_EQ(L().Call("GET", "sys/mounts/secret/tune", nullptr, with_tune).status, 200);
  EXPECT_EQ(L().Call("GET", "sys/mounts/secret/tune", nullptr, keys_only).status, 403);
  EXPECT_EQ(L().Call("GET", "sys/mounts/transit/tune", nullptr, with_tune).status, 403);
  EXPECT_EQ(L().Call("GET", "sys/mounts", nullptr, with_tune).status, 403);  // still root only
}

// `devlocker --help` is how people find the flags: usage on stdout, exit 0
// (it used to fail with "missing value after --help"). Bad flags still exit 2.
std::string RunDevLocker(const std::string& args, int* exit_code) {
  const std::string cmd = std::string(KLK_DEVLOCKER_BIN) + " " + args + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(DevLockerCliTest, HelpPrintsUsageAndExitsZero) {
  for (const char* flag : {"--help", "-h", "--tls-dir /nonexistent --help"}) {
    int code = -1;
    const std::string out = RunDevLocker(flag, &code);
    EXPECT_EQ(code, 0) << flag;
    EXPECT_NE(out.find("usage: devlocker --listen"), std::string::npos) << flag << ": " << out;
    EXPECT_NE(out.find("--root-token"), std::string::npos) << out;
  }
  int code = -1;
  EXPECT_EQ(RunDevLocker("--bogus x", &code), "");  // usage goes to stderr
  EXPECT_EQ(code, 2);
}

TEST(DevLockerStateTest, SealBlocksEverythingButSys) {
  auto locker = DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  ASSERT_EQ(locker->Call("PUT", "sys/seal").status, 204);
  EXPECT_EQ(locker->Call("GET", "sys/health", nullptr, "-").status, 503);
  auto r = locker->Call("GET", "secret/data/x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["errors"][0], "Vault is sealed");
  auto unseal = locker->Call("PUT", "sys/unseal", {{"key", "anything"}}, "-");
  EXPECT_EQ(unseal.body["sealed"], false);
  EXPECT_EQ(locker->Call("GET", "secret/data/x").status, 404);
}

TEST(DevLockerStateTest, DataFileSurvivesRestart) {
  char dir[] = "/tmp/devlocker-data-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  DevLocker::Options opts;
  opts.data_file = std::string(dir) + "/state.json";
  auto locker = DevLocker::Start(opts);
  ASSERT_NE(locker, nullptr);
  locker->Call("POST", "secret/data/keep", {{"data", {{"v", "kept"}}}});
  const std::string ct = locker->Call("POST", "transit/encrypt/keep", {{"plaintext", "eA=="}}).body["data"]["ciphertext"];
  const std::string t = locker->Call("POST", "auth/token/create", {{"policies", {"p"}}}).body["auth"]["client_token"];
  EXPECT_EQ(Mode(opts.data_file), 0600);
  const int port = locker->port();
  ASSERT_TRUE(locker->Restart());
  EXPECT_EQ(locker->port(), port);
  EXPECT_EQ(locker->Call("GET", "secret/data/keep").body["data"]["data"]["v"], "kept");
  EXPECT_EQ(locker->Call("POST", "transit/decrypt/keep", {{"ciphertext", ct}}).body["data"]["plaintext"], "eA==");
  EXPECT_EQ(locker->Call("GET", "auth/token/lookup-self", nullptr, t).status, 200);
  locker.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keyring_locker::testing
