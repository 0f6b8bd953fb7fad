// The core against a real (dev) Vault over TLS: VaultLocker, KeyService and
// Backend as an adapter uses them, including faults, restarts and failover.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/backend_parts.h"

namespace keyring_locker {
namespace {

using testing::DevLocker;
using nlohmann::json;

// These tests know their locker is Vault; the adapters only see the seam.
VaultLocker& Vault(Backend& b) { return testing::VaultOf(b); }

std::string WriteSecretFile(const std::string& dir, const std::string& name, const std::string& content) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << content;
  chmod(path.c_str(), 0600);
  return path;
}

class VaultBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    char tmpl[] = "/tmp/klk_backend_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  Config MakeConfig(const std::string& scope = "it/db1") {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = std::chrono::milliseconds(1000);
    c.http.total_timeout = std::chrono::milliseconds(3000);
    c.http.backoff_initial = std::chrono::milliseconds(20);
    c.http.backoff_max = std::chrono::milliseconds(200);
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = WriteSecretFile(dir_, "token", locker_->root_token());
    c.keys.scope = scope;
    c.cache.version_refresh = std::chrono::seconds(1);
    return c;
  }

  std::unique_ptr<DevLocker> locker_;
  std::string dir_;
};

TEST_F(VaultBackendTest, CreateRotateFetchOverTls) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  KeyService& keys = (*b)->keys();
  EXPECT_EQ(Vault(**b).kv_version(), 2);
  ASSERT_EQ(*keys.EnsureKey("1"), 1u);
  ASSERT_EQ(*keys.Rotate("1"), 2u);
  EXPECT_EQ(keys.LatestVersionCached("1"), 2u);
  auto k1 = keys.Get("1", 1), k2 = keys.Get("1", 2);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ((*k1)->bytes.size(), 32u);
  EXPECT_FALSE((*k1)->bytes.Equals((*k2)->bytes));

  // The stored document holds Transit ciphertext, not the key.
  auto doc = locker_->Call("GET", "secret/data/keyring_locker/it/db1/keys/1/2");
  ASSERT_EQ(doc.status, 200);
  const json& d = doc.body["data"]["data"];
  EXPECT_EQ(d["format"], "keyring_locker/2");
  EXPECT_EQ(d["wrapped"].get<std::string>().rfind("vault:v", 0), 0u);
  const std::string b64 = crypto::Base64Encode((*k2)->bytes.data(), (*k2)->bytes.size());
  EXPECT_EQ(doc.body.dump().find(b64), std::string::npos);
}

TEST_F(VaultBackendTest, OneSessionChecksTheMountsOnceForBothRoles) {
  // The KV store and the Transit wrapper share one Vault session: opening
  // the backend reads the Transit key and the KV mount once, not per role.
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  json by_path = locker_->Stats()["by_path"];
  // A read that finds no key, then its creation (the dev locker starts without one).
  EXPECT_EQ(by_path.value("transit/keys/keyring_locker", 0), 2) << by_path.dump();
  EXPECT_EQ(by_path.value("sys/internal/ui/mounts/secret", 0), 1) << by_path.dump();
  EXPECT_NE((*b)->Describe().find("transit=transit/keyring_locker"), std::string::npos);
}

TEST_F(VaultBackendTest, DirectoryStoreWithTransitWrapperFromConfig) {
  // store "directory" + wrapper "vault": wrapped keys in files, the KEK in
  // Transit. Chosen by the config alone; KeyService and the adapters do
  // not change.
  Config c = MakeConfig("it/dir");
  c.roles.store = "directory";
  c.roles.directory = dir_ + "/keys";
  ASSERT_EQ(mkdir(c.roles.directory.c_str(), 0700), 0);
  crypto::SecureBuffer first;
  {
    auto b = Backend::Open(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_NE((*b)->Describe().find("directory " + c.roles.directory), std::string::npos) << (*b)->Describe();
    EXPECT_NE((*b)->Describe().find("transit=transit/keyring_locker"), std::string::npos);
    ASSERT_EQ(*(*b)->keys().EnsureKey("7"), 1u);
    first = (*(*b)->keys().Get("7", 1))->bytes.Clone();
  }
  const std::string doc_path = c.roles.directory + "/keyring_locker/it/dir/keys/7/1";
  std::ifstream in(doc_path);
  ASSERT_TRUE(in.good()) << doc_path;
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find("\"wrapper\":\"vault-transit:transit/keyring_locker\""), std::string::npos) << doc;
  EXPECT_EQ(doc.find(std::string(reinterpret_cast<const char*>(first.data()), first.size())), std::string::npos);
  EXPECT_EQ(json::parse(doc, nullptr, false).value("format", ""), "keyring_locker/2");
  // Nothing went to KV.
  EXPECT_EQ(locker_->Stats()["by_path"].value("secret/data/keyring_locker/it/dir/keys/7/1", 0), 0);

  auto again = Backend::Open(c);  // a restart reads the same key from the file
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto k = (*again)->keys().Get("7", 1);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_TRUE((*k)->bytes.Equals(first));
}

TEST_F(VaultBackendTest, NewBackendGetsByteIdenticalKeysAfterLockerRestart) {
  DevLocker::Options opts;
  opts.data_file = dir_ + "/state.json";
  locker_ = DevLocker::Start(opts);
  ASSERT_NE(locker_, nullptr);
  crypto::SecureBuffer before;
  {
    auto b = Backend::Open(MakeConfig());
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
    before = (*(*b)->keys().Get("1", 1))->bytes.Clone();
  }
  ASSERT_TRUE(locker_->Restart());
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->keys().LatestVersionCached("1"), 1u);
  EXPECT_TRUE((*(*b)->keys().Get("1", 1))->bytes.Equals(before));
}

TEST_F(VaultBackendTest, CacheCoversALockerOutage) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  KeyService& keys = (*b)->keys();
  ASSERT_TRUE(keys.EnsureKey("1").ok());
  locker_->Stop();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(keys.Get("1", 1).ok());
  EXPECT_EQ(keys.LatestVersionCached("1"), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  auto miss = keys.Get("1", 7);
  EXPECT_FALSE(miss.ok());
  EXPECT_TRUE(miss.status().code() == Code::kUnavailable || miss.status().code() == Code::kDeadlineExceeded)
      << miss.status().ToString();
  ASSERT_TRUE(locker_->Restart());
  EXPECT_TRUE(keys.RefreshVersions().ok());
}

TEST_F(VaultBackendTest, CreateOnlyWriteConflictIsReportedNotOverwritten) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok());
  VaultLocker& v = Vault(**b);
  ASSERT_TRUE(v.Store("raw/doc", json{{"a", 1}}).ok());
  Status again = v.Store("raw/doc", json{{"a", 2}});
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.ToString();
  EXPECT_EQ((*v.Fetch("raw/doc"))["a"], 1);
  EXPECT_EQ(v.Fetch("raw/missing").status().code(), Code::kNotFound);
  auto listed = v.List("raw");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{"doc"});
  EXPECT_TRUE(v.List("nothing-here")->empty());
}

TEST_F(VaultBackendTest, WrapUnwrapAndDataKeys) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok());
  VaultLocker& v = Vault(**b);
  crypto::SecureBuffer key = std::move(crypto::RandomKey(32)).value();
  auto wrapped = v.Wrap(key, "");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  auto back = v.Unwrap(*wrapped, "");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(key));
  auto dk = v.GenerateDataKey(32, "");
  ASSERT_TRUE(dk.ok());
  EXPECT_TRUE(v.Unwrap(dk->ciphertext, "")->Equals(dk->plaintext));
  std::string tampered = *wrapped;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v.Unwrap(tampered, "").ok());
}

TEST_F(VaultBackendTest, KvVersionOneMountWorksWithCheckThenWrite) {
  auto r = locker_->Call("POST", "sys/mounts/kv1", json{{"type", "kv"}, {"options", {{"version", "1"}}}});
  ASSERT_LT(r.status, 300);
  Config c = MakeConfig();
  c.vault.kv_mount = "kv1";
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Vault(**b).kv_version(), 1);
  ASSERT_EQ(*(*b)->keys().EnsureKey("1"), 1u);
  EXPECT_EQ(Vault(**b).Store("keyring_locker/it/db1/keys/1/1", json{{"x", 1}}).code(), Code::kAlreadyExists);
}

TEST_F(VaultBackendTest, WrongMountAndTokenGiveClearErrors) {
  Config c = MakeConfig();
  c.vault.kv_mount = "nosuchmount";
  auto b = Backend::Open(c);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("nosuchmount"), std::string::npos) << b.status().ToString();

  Config t = MakeConfig();
  t.auth.token_file = WriteSecretFile(dir_, "badtoken", "not-a-valid-token");
  auto bt = Backend::Open(t);
  ASSERT_FALSE(bt.ok());
  EXPECT_EQ(bt.status().message().find("not-a-valid-token"), std::string::npos) << "token leaked into an error";
}

TEST_F(VaultBackendTest, KvOnlyTokenCannotUnwrapKeys) {
  // Separation of duties: a token with KV read but no Transit decrypt learns nothing.
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
  auto p = locker_->Call("PUT", "sys/policies/acl/kvread",
                         json{{"policy", "path \"secret/*\" { capabilities = [\"read\", \"list\"] }"}});
  ASSERT_LT(p.status, 300) << p.body.dump();
  auto t = locker_->Call("POST", "auth/token/create", json{{"policies", {"kvread"}}, {"ttl", "1h"}});
  ASSERT_EQ(t.status, 200) << t.body.dump();
  Config c = MakeConfig();
  c.auth.token_file = WriteSecretFile(dir_, "kvtoken", t.body["auth"]["client_token"].get<std::string>());
  auto reader = Backend::Open(c, /*require_locker=*/false);
  if (!reader.ok()) {
    EXPECT_EQ(reader.status().code(), Code::kPermissionDenied) << reader.status().ToString();
    return;
  }
  auto k = (*reader)->keys().Get("1", 1);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Code::kPermissionDenied) << k.status().ToString();
}

TEST_F(VaultBackendTest, FailoverToASecondLockerSharingState) {
  // Two dev lockers over the same data file stand in for an HA pair: the
  // first one dies, the client moves to the second within the budget.
  DevLocker::Options o1;
  o1.data_file = dir_ + "/shared.json";
  locker_ = DevLocker::Start(o1);
  ASSERT_NE(locker_, nullptr);
  Config c = MakeConfig();
  {
    auto b = Backend::Open(c);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
  }
  DevLocker::Options o2 = o1;
  o2.tls_dir = locker_->tls_dir();
  locker_->Stop();
  auto second = DevLocker::Start(o2);
  ASSERT_NE(second, nullptr);
  c.http.endpoints = {locker_->url(), second->url()};
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->keys().LatestVersionCached("1"), 1u);
  EXPECT_TRUE((*b)->keys().Get("1", 1).ok());
  EXPECT_EQ((*b)->status().http.active_endpoint, second->url());
}

TEST_F(VaultBackendTest, SealedLockerIsAClearTransientError) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
  ASSERT_LT(locker_->Call("PUT", "sys/seal").status, 300);
  auto r = (*b)->keys().Rotate("1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("seal"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE((*b)->keys().Get("1", 1).ok());  // cached keys still served
  auto h = (*b)->store().Health();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->sealed);
  ASSERT_LT(locker_->Call("PUT", "sys/unseal", json{{"key", "any"}}).status, 300);
  EXPECT_EQ(*(*b)->keys().Rotate("1"), 2u);
}

TEST_F(VaultBackendTest, MalformedAndOversizedRepliesAreErrorsNotCrashes) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
  auto fresh = Backend::Open(MakeConfig());
  ASSERT_TRUE(fresh.ok());
  for (const char* action : {"malformed", "truncate", "oversized"}) {
    locker_->ClearFaults();
    json fault = {{"action", action}, {"path_prefix", "/v1/secret/"}, {"count", -1}};
    if (std::string(action) == "oversized") fault["size_bytes"] = 8 * 1024 * 1024;
    locker_->InjectFault(fault);
    auto r = (*fresh)->keys().Get("1", 1);
    EXPECT_FALSE(r.ok()) << action;
    // A body cut off mid-stream is a transport failure (retried, then
    // UNAVAILABLE); an unparsable one is DATA_LOSS; an oversized one is capped.
    const Code c = r.status().code();
    EXPECT_TRUE(c == Code::kDataLoss || c == Code::kResourceExhausted || c == Code::kUnavailable)
        << action << ": " << r.status().ToString();
  }
  locker_->ClearFaults();
  EXPECT_TRUE((*fresh)->keys().Get("1", 1).ok());
}

}  // namespace
}  // namespace keyring_locker

namespace keyring_locker {
namespace {

TEST_F(VaultBackendTest, StartedWhileTheLockerIsDownItConnectsOnceTheLockerIsBack) {
  Config c = MakeConfig();
  c.auth.min_retry_interval = std::chrono::seconds(1);
  locker_->Stop();
  auto strict = Backend::Open(c);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), Code::kUnavailable) << strict.status().ToString();
  auto b = Backend::Open(c, /*require_locker=*/false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE((*b)->keys().EnsureKey("1").ok());
  ASSERT_TRUE(locker_->Restart());
  StatusOr<uint32_t> v = Unavailable("not tried");
  for (int i = 0; i < 100 && !v.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    v = (*b)->keys().EnsureKey("1");
  }
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
  EXPECT_GE((*b)->status().auth.logins, 1u);
}

}  // namespace
}  // namespace keyring_locker

namespace keyring_locker {
namespace {

TEST_F(VaultBackendTest, NamespaceHeaderKeepsKeysInTheirNamespace) {
  ASSERT_LT(locker_->Call("POST", "sys/namespaces/team1").status, 300);
  ASSERT_LT(locker_->Call("POST", "sys/mounts/secret", json{{"type", "kv"}, {"options", {{"version", "2"}}}}, "",
                          "team1/").status, 300);
  ASSERT_LT(locker_->Call("POST", "sys/mounts/transit", json{{"type", "transit"}}, "", "team1/").status, 300);
  Config c = MakeConfig();
  c.vault.ns = "team1/";
  auto in_ns = Backend::Open(c);
  ASSERT_TRUE(in_ns.ok()) << in_ns.status().ToString();
  ASSERT_EQ(*(*in_ns)->keys().EnsureKey("1"), 1u);
  // The root namespace has its own, separate key documents.
  auto root_ns = Backend::Open(MakeConfig());
  ASSERT_TRUE(root_ns.ok());
  EXPECT_EQ((*root_ns)->keys().Get("1", 1).status().code(), Code::kNotFound);
  EXPECT_EQ(locker_->Call("GET", "secret/data/keyring_locker/it/db1/keys/1/1", nullptr, "", "team1/").status, 200);
  // What the datadir marker records: the backend names the fields, so the
  // adapters need no Vault knowledge; the namespace tells the two apart.
  const KeyHomeIdentity in = (*in_ns)->keys().Identity(), root = (*root_ns)->keys().Identity();
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(in.fields, (Fields{{"namespace", "team1/"}, {"kv_mount", "secret"}, {"prefix", "keyring_locker"},
                               {"scope", "it/db1"}}));
  EXPECT_EQ(root.fields[0], (std::pair<std::string, std::string>{"namespace", ""}));
  EXPECT_EQ(in.endpoints, locker_->url());
}

}  // namespace
}  // namespace keyring_locker
