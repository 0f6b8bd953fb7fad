// One test body, two lockers (issue #13): the product's own client (Backend,
// VaultLocker, the authenticator) against the dev locker and against a real
// HashiCorp Vault 1.14.8. A case that passes on one and fails on the other is
// a place where the dev locker is not a faithful stand-in; those are fixed in
// devlocker/ and listed in docs/real-vault-notes.md.
//
// Every case starts its own locker (gtest_discover_tests runs each case as a
// process of its own), sets it up over the HTTP API both lockers speak
// (policies, auth methods) and uses real TTLs of a few seconds.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/real_vault_fixture.h"
#include "tests/support/backend_parts.h"

namespace keyring_locker {
namespace {

using json = nlohmann::json;
using testing::DevLocker;
using testing::RealVault;
using Reply = DevLocker::Reply;
using CallOptions = DevLocker::CallOptions;

enum class Kind { kDevLocker, kRealVault };

std::string KindName(const ::testing::TestParamInfo<Kind>& info) {
  return info.param == Kind::kDevLocker ? "DevLocker" : "RealVault";
}

// The common surface of both lockers, plus the operator actions the fault
// cases need, all over the HTTP API so both lockers see the same requests.
class LockerUnderTest {
 public:
  virtual ~LockerUnderTest() = default;
  virtual Kind kind() const = 0;
  virtual std::string url() const = 0;
  virtual std::string ca_file() const = 0;
  virtual std::string client_cert() const = 0;
  virtual std::string client_key() const = 0;
  virtual std::string root_token() const = 0;
  virtual Reply CallWith(const CallOptions& call, const std::string& method, const std::string& path,
                         const json& body, const std::string& token, const std::string& ns) = 0;
  virtual bool Stop() = 0;
  virtual bool Restart() = 0;
  // A key that unseals it (the dev locker takes any base64 key).
  virtual std::string unseal_key() const = 0;

  Reply Call(const std::string& method, const std::string& path, const json& body = nullptr,
             const std::string& token = "", const std::string& ns = "") {
    return CallWith(CallOptions(), method, path, body, token, ns);
  }
  bool Seal() { return Call("PUT", "sys/seal").status == 204; }
  // Unseals, then waits (bounded) until it serves requests again: Vault
  // answers 503 for a moment after the unseal while it becomes active.
  bool Unseal() {
    Reply r = Call("PUT", "sys/unseal", {{"key", unseal_key()}}, "-");
    if (r.status != 200) return false;
    for (int i = 0; i < 100; ++i) {
      if (Call("GET", "sys/health", nullptr, "-").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  bool WritePolicy(const std::string& name, const std::string& hcl) {
    return Call("PUT", "sys/policies/acl/" + name, {{"policy", hcl}}).status == 204;
  }
  // Enables an auth method; the dev locker has approle/ and cert/ from the
  // start, Vault answers 400 "path is already in use" then, as both do.
  bool EnableAuth(const std::string& path, const std::string& type) {
    Reply r = Call("POST", "sys/auth/" + path, {{"type", type}});
    return r.status == 204 || (r.status == 400 && r.body.dump().find("already in use") != std::string::npos);
  }
  std::string CreateToken(const json& spec) {
    Reply r = Call("POST", "auth/token/create", spec);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    if (r.status != 200) return "";
    return r.body["auth"]["client_token"].get<std::string>();
  }
};

class DevLockerUnderTest : public LockerUnderTest {
 public:
  explicit DevLockerUnderTest(std::unique_ptr<DevLocker> l) : l_(std::move(l)) {}
  Kind kind() const override { return Kind::kDevLocker; }
  std::string url() const override { return l_->url(); }
  std::string ca_file() const override { return l_->ca_file(); }
  std::string client_cert() const override { return l_->client_cert(); }
  std::string client_key() const override { return l_->client_key(); }
  std::string root_token() const override { return l_->root_token(); }
  Reply CallWith(const CallOptions& call, const std::string& method, const std::string& path, const json& body,
                 const std::string& token, const std::string& ns) override {
    return l_->CallWith(call, method, path, body, token, ns);
  }
  bool Stop() override {
    l_->Stop();
    return true;
  }
  bool Restart() override { return l_->Restart(); }
  std::string unseal_key() const override { return "ZGV2bG9ja2VyLXVuc2VhbA=="; }

 private:
  std::unique_ptr<DevLocker> l_;
};

class RealVaultUnderTest : public LockerUnderTest {
 public:
  explicit RealVaultUnderTest(std::unique_ptr<RealVault> v) : v_(std::move(v)) {
    std::ifstream in(v_->dir() + "/init.json");
    json init = json::parse(in, nullptr, false);
    if (init.is_object()) unseal_key_ = init.value("unseal_key", "");
  }
  Kind kind() const override { return Kind::kRealVault; }
  std::string url() const override { return v_->url(); }
  std::string ca_file() const override { return v_->ca_file(); }
  std::string client_cert() const override { return v_->client_cert(); }
  std::string client_key() const override { return v_->client_key(); }
  std::string root_token() const override { return v_->root_token(); }
  Reply CallWith(const CallOptions& call, const std::string& method, const std::string& path, const json& body,
                 const std::string& token, const std::string& ns) override {
    return v_->CallWith(call, method, path, body, token, ns);
  }
  bool Stop() override { return v_->Stop(); }
  bool Restart() override { return v_->Restart(); }
  std::string unseal_key() const override { return unseal_key_; }

 private:
  std::unique_ptr<RealVault> v_;
  std::string unseal_key_;
};

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// What an application token may do: the keys' documents and the Transit key
// (docs/locker-setup.md's policy, less what these cases do not use).
const char* kAppPolicy = R"(
path "secret/data/keyring_locker/*" { capabilities = ["create", "read", "update", "list"] }
path "secret/metadata/keyring_locker/*" { capabilities = ["read", "list"] }
path "transit/keys/keyring_locker" { capabilities = ["read"] }
path "transit/encrypt/keyring_locker" { capabilities = ["update"] }
path "transit/decrypt/keyring_locker" { capabilities = ["update"] }
path "transit/datakey/plaintext/keyring_locker" { capabilities = ["update"] }
)";

// The same policy without Transit decrypt (a change under a running server).
const char* kAppPolicyNoDecrypt = R"(
path "secret/data/keyring_locker/*" { capabilities = ["create", "read", "update", "list"] }
path "secret/metadata/keyring_locker/*" { capabilities = ["read", "list"] }
path "transit/keys/keyring_locker" { capabilities = ["read"] }
path "transit/encrypt/keyring_locker" { capabilities = ["update"] }
)";

class TwoLockers : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kRealVault) {
      if (!RealVault::Installed()) {
        if (EnvSet("KLK_REQUIRE_REAL_VAULT")) GTEST_FAIL() << "no Vault binary: run scripts/real_vault.sh";
        GTEST_SKIP() << "no Vault binary: scripts/real_vault.sh builds it";
      }
      auto v = RealVault::Start();
      ASSERT_NE(v, nullptr);
      locker_ = std::make_unique<RealVaultUnderTest>(std::move(v));
      ASSERT_FALSE(locker_->unseal_key().empty()) << "no unseal_key in the launcher's init.json";
    } else {
      auto d = DevLocker::Start();
      ASSERT_NE(d, nullptr);
      locker_ = std::make_unique<DevLockerUnderTest>(std::move(d));
      // The launcher makes the real Vault's Transit key; the dev locker starts without one.
      Reply key = locker_->Call("POST", "transit/keys/keyring_locker", json::object());
      ASSERT_TRUE(key.status == 200 || key.status == 204) << key.body.dump();
    }
    char tmpl[] = "/tmp/klk_two_lockers.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    locker_.reset();
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }

  std::string SecretFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << content << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }

  // A client configuration like the server's, with short timeouts; the root
  // token unless a case logs in otherwise.
  Config MakeConfig(const std::string& token = "") {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = std::chrono::milliseconds(1000);
    c.http.total_timeout = std::chrono::milliseconds(3000);
    c.http.backoff_initial = std::chrono::milliseconds(20);
    c.http.backoff_max = std::chrono::milliseconds(200);
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = SecretFile("token-" + std::to_string(files_++),
                                   token.empty() ? locker_->root_token() : token);
    c.auth.min_retry_interval = std::chrono::seconds(1);
    c.keys.scope = "two/db1";
    c.cache.version_refresh = std::chrono::seconds(1);
    return c;
  }

  // An AppRole "app" with the app policy; returns its role_id.
  std::string MakeAppRole(const json& settings) {
    EXPECT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
    EXPECT_TRUE(locker_->EnableAuth("approle", "approle"));
    Reply r = locker_->Call("POST", "auth/approle/role/app", settings);
    EXPECT_EQ(r.status, 204) << r.body.dump();
    Reply id = locker_->Call("GET", "auth/approle/role/app/role-id");
    EXPECT_EQ(id.status, 200) << id.body.dump();
    return id.status == 200 ? id.body["data"]["role_id"].get<std::string>() : "";
  }
  std::string NewSecretId() {
    Reply s = locker_->Call("POST", "auth/approle/role/app/secret-id", json::object());
    EXPECT_EQ(s.status, 200) << s.body.dump();
    return s.status == 200 ? s.body["data"]["secret_id"].get<std::string>() : "";
  }
  Config AppRoleConfig(const std::string& role_id, const std::string& secret_id) {
    Config c = MakeConfig();
    c.auth.method = AuthOptions::Method::kAppRole;
    c.auth.token_file.clear();
    c.auth.role_id = role_id;
    c.auth.secret_id_file = SecretFile("secret-id", secret_id);
    return c;
  }

  std::unique_ptr<LockerUnderTest> locker_;
  std::string dir_;
  int files_ = 0;
};

VaultLocker& Vault(Backend& b) { return testing::VaultOf(b); }

// Polls `done` every 100 ms for at most `seconds`.
template <class F>
bool Eventually(double seconds, F done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(s * 1000))); }

// --- store, fetch, list ------------------------------------------------------

TEST_P(TwoLockers, StoreFetchListThroughBackend) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Vault(**b).kv_version(), 2);
  KeyService& keys = (*b)->keys();
  ASSERT_EQ(*keys.EnsureKey("1"), 1u);
  ASSERT_EQ(*keys.Rotate("1"), 2u);
  auto fresh = Backend::Open(MakeConfig());  // nothing cached: every read goes to the locker
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ((*fresh)->keys().LatestVersionCached("1"), 2u);
  auto k1 = (*fresh)->keys().Get("1", 1);
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  EXPECT_TRUE((*k1)->bytes.Equals((*keys.Get("1", 1))->bytes));

  VaultLocker& v = Vault(**b);
  ASSERT_TRUE(v.Store("raw/a", json{{"n", 1}}).ok());
  ASSERT_TRUE(v.Store("raw/sub/b", json{{"n", 2}}).ok());
  EXPECT_EQ((*v.Fetch("raw/a"))["n"], 1);
  EXPECT_EQ(v.Fetch("raw/none").status().code(), Code::kNotFound);
  auto listed = v.List("raw");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{"a", "sub/"}));
  auto empty = v.List("nothing-here");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
}

// --- create-only races -----------------------------------------------------

TEST_P(TwoLockers, CreateOnlyRaceHasOneWinnerAndNoOverwrite) {
  auto a = Backend::Open(MakeConfig());
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(a.ok() && b.ok());
  Backend* both[2] = {a->get(), b->get()};
  for (int round = 0; round < 5; ++round) {
    const std::string path = "race/doc" + std::to_string(round);
    Status results[2];
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        results[i] = Vault(*both[i]).Store(path, json{{"writer", i}});
      });
    }
    for (auto& t : threads) t.join();
    const int winners = results[0].ok() + results[1].ok();
    ASSERT_EQ(winners, 1) << results[0].ToString() << " / " << results[1].ToString();
    const int winner = results[0].ok() ? 0 : 1;
    EXPECT_EQ(results[1 - winner].code(), Code::kAlreadyExists) << results[1 - winner].ToString();
    auto doc = Vault(*both[1 - winner]).Fetch(path);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    EXPECT_EQ((*doc)["writer"], winner);
  }
  // The same race through KeyService: both end up with the one key.
  StatusOr<uint32_t> va = Unavailable("not run"), vb = Unavailable("not run");
  std::thread ta([&] { va = (*a)->keys().EnsureKey("7"); });
  std::thread tb([&] { vb = (*b)->keys().EnsureKey("7"); });
  ta.join();
  tb.join();
  ASSERT_TRUE(va.ok() && vb.ok()) << va.status().ToString() << " / " << vb.status().ToString();
  EXPECT_EQ(*va, 1u);
  EXPECT_EQ(*vb, 1u);
  EXPECT_TRUE((*(*a)->keys().Get("7", 1))->bytes.Equals((*(*b)->keys().Get("7", 1))->bytes));
}

// --- Transit wrap / unwrap ---------------------------------------------------

TEST_P(TwoLockers, WrapUnwrapAndDataKeys) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  VaultLocker& v = Vault(**b);
  crypto::SecureBuffer key = std::move(crypto::RandomKey(32)).value();
  auto wrapped = v.Wrap(key, "");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->rfind("vault:v1:", 0), 0u);
  auto back = v.Unwrap(*wrapped, "");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Equals(key));
  auto dk = v.GenerateDataKey(32, "");
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_TRUE(v.Unwrap(dk->ciphertext, "")->Equals(dk->plaintext));
  std::string tampered = *wrapped;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  auto bad = v.Unwrap(tampered, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("message authentication failed"), std::string::npos)
      << bad.status().ToString();
  // Too short to be a ciphertext: Vault's own words.
  Reply shorty = locker_->Call("POST", "transit/decrypt/keyring_locker", {{"ciphertext", "vault:v1:AAAA"}});
  EXPECT_EQ(shorty.status, 400);
  EXPECT_EQ(shorty.body["errors"][0], "invalid ciphertext length") << shorty.body.dump();
  Reply notb64 = locker_->Call("POST", "transit/encrypt/keyring_locker", {{"plaintext", "***"}});
  EXPECT_EQ(notb64.status, 400);
  EXPECT_EQ(notb64.body["errors"][0], "illegal base64 data at input byte 0") << notb64.body.dump();
}

// --- token renewal with real TTLs --------------------------------------------

TEST_P(TwoLockers, RenewalKeepsATokenAliveUntilItsMaxTtlThenTheErrorIsClear) {
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
  const std::string token = locker_->CreateToken(
      {{"policies", {"klk-app"}}, {"ttl", "4s"}, {"explicit_max_ttl", "9s"}, {"renewable", true}});
  ASSERT_FALSE(token.empty());
  Config c = MakeConfig(token);
  c.auth.renew_fraction = 0.3;
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  VaultLocker& v = Vault(**b);
  ASSERT_TRUE(v.Store("keyring_locker/two/ttl/doc", json{{"n", 1}}).ok());
  SleepSeconds(6.0);  // past the 4 s TTL: only renewals kept it alive
  auto mid = v.Fetch("keyring_locker/two/ttl/doc");
  EXPECT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_GE((*b)->auth().info().renewals, 1u);
  Reply look = locker_->Call("GET", "auth/token/lookup-self", nullptr, token);
  ASSERT_EQ(look.status, 200) << look.body.dump();
  EXPECT_EQ(look.body["data"]["explicit_max_ttl"], 9);
  EXPECT_LE(look.body["data"]["ttl"].get<int>(), 4);
  SleepSeconds(4.0);  // past the 9 s max TTL: no renewal can help
  EXPECT_EQ(locker_->Call("GET", "auth/token/lookup-self", nullptr, token).status, 403);
  auto late = v.Fetch("keyring_locker/two/ttl/doc");
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(late.status().code() == Code::kPermissionDenied || late.status().code() == Code::kUnauthenticated)
      << late.status().ToString();
  EXPECT_NE(late.status().message().find("token"), std::string::npos) << late.status().ToString();
  EXPECT_EQ(late.status().message().find(token), std::string::npos) << "the token leaked into an error";
}

TEST_P(TwoLockers, RenewalPastMaxTtlIsCappedWithVaultsWarning) {
  const std::string token = locker_->CreateToken(
      {{"policies", {"default"}}, {"ttl", "30s"}, {"explicit_max_ttl", "40s"}, {"renewable", true}});
  Reply r = locker_->Call("POST", "auth/token/renew-self", {{"increment", "1h"}}, token);
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_LE(r.body["auth"]["lease_duration"].get<int>(), 40);
  EXPECT_GE(r.body["auth"]["lease_duration"].get<int>(), 38);
  ASSERT_TRUE(r.body["warnings"].is_array()) << r.body.dump();
  EXPECT_NE(r.body["warnings"][0].get<std::string>().find("capped"), std::string::npos) << r.body.dump();
}

// --- AppRole: secret-ID TTL and use limit ------------------------------------

TEST_P(TwoLockers, AppRoleReloginWorksWhileTheSecretIdLivesThenFailsClearly) {
  const std::string role_id = MakeAppRole(
      {{"token_policies", {"klk-app"}}, {"token_ttl", "2s"}, {"token_max_ttl", "2s"}, {"secret_id_ttl", "4s"}});
  ASSERT_FALSE(role_id.empty());
  Config c = AppRoleConfig(role_id, NewSecretId());
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  VaultLocker& v = Vault(**b);
  ASSERT_TRUE(v.Store("keyring_locker/two/approle/doc", json{{"n", 1}}).ok());
  SleepSeconds(2.5);  // the first token expired; the secret ID still lives
  auto again = v.Fetch("keyring_locker/two/approle/doc");
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_GE((*b)->auth().info().logins, 2u);
  // The secret ID expires at 4 s; a login just before then gives a token
  // good until 6 s. Past that, no token and no new login.
  SleepSeconds(5.0);
  auto late = v.Fetch("keyring_locker/two/approle/doc");
  if (locker_->kind() == Kind::kRealVault) {
    // Vault 1.14.8 still took the secret ID seconds after its secret_id_ttl:
    // expired secret IDs go when the mount's periodic tidy runs (about once
    // a minute), so when the login stops working is Vault's to say. The dev
    // locker refuses at the TTL (docs/real-vault-notes.md); the use limit
    // below is exact on both.
    return;
  }
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kPermissionDenied) << late.status().ToString();
  EXPECT_NE(late.status().message().find("getting a new token failed"), std::string::npos)
      << late.status().ToString();
  EXPECT_NE(late.status().message().find("invalid role or secret ID"), std::string::npos)
      << late.status().ToString();
}

TEST_P(TwoLockers, AppRoleSecretIdUseLimitEndsRelogins) {
  const std::string role_id = MakeAppRole(
      {{"token_policies", {"klk-app"}}, {"token_ttl", "2s"}, {"token_max_ttl", "2s"}, {"secret_id_num_uses", 2}});
  ASSERT_FALSE(role_id.empty());
  const std::string secret_id = NewSecretId();
  Reply first = locker_->Call("POST", "auth/approle/login", {{"role_id", role_id}, {"secret_id", secret_id}}, "-");
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["auth"]["lease_duration"], 2);
  auto b = Backend::Open(AppRoleConfig(role_id, secret_id));  // the second (last) use
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(Vault(**b).Store("keyring_locker/two/uses/doc", json{{"n", 1}}).ok());
  SleepSeconds(2.5);
  auto late = Vault(**b).Fetch("keyring_locker/two/uses/doc");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kPermissionDenied) << late.status().ToString();
  EXPECT_NE(late.status().message().find("getting a new token failed"), std::string::npos)
      << late.status().ToString();
  EXPECT_NE(late.status().message().find("invalid role or secret ID"), std::string::npos)
      << late.status().ToString();
  Reply third = locker_->Call("POST", "auth/approle/login", {{"role_id", role_id}, {"secret_id", secret_id}}, "-");
  EXPECT_EQ(third.status, 400) << third.body.dump();
  EXPECT_EQ(third.body["errors"][0], "invalid role or secret ID") << third.body.dump();
}

// --- cert auth over mutual TLS -----------------------------------------------

TEST_P(TwoLockers, CertLoginOverMutualTls) {
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
  ASSERT_TRUE(locker_->EnableAuth("cert", "cert"));
  std::ifstream ca(locker_->ca_file());
  const std::string ca_pem((std::istreambuf_iterator<char>(ca)), std::istreambuf_iterator<char>());
  Reply reg = locker_->Call("POST", "auth/cert/certs/app",
                            {{"certificate", ca_pem}, {"token_policies", {"klk-app"}}, {"token_ttl", "1m"}});
  ASSERT_EQ(reg.status, 204) << reg.body.dump();
  Config c = MakeConfig();
  c.auth.method = AuthOptions::Method::kCert;
  c.auth.token_file.clear();
  c.auth.cert_role = "app";
  c.http.tls.client_cert = locker_->client_cert();
  c.http.tls.client_key = locker_->client_key();
  auto b = Backend::Open(c);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*(*b)->keys().EnsureKey("1"), 1u);
  EXPECT_EQ((*b)->auth().info().logins, 1u);
  // Without the client certificate the login is refused, with Vault's words.
  Reply none = locker_->Call("POST", "auth/cert/login", {{"name", "app"}}, "-");
  EXPECT_EQ(none.status, 400) << none.body.dump();
  EXPECT_EQ(none.body["errors"][0], "client certificate must be supplied") << none.body.dump();
}

// --- namespaces ---------------------------------------------------------------

// Vault OSS has no namespaces: it ignores X-Vault-Namespace and serves the
// root namespace, so our client refuses a locker.namespace setting there
// (its version says community edition). The dev locker imitates Vault Enterprise / OpenBao namespaces and
// refuses an unknown one with 403 (docs/real-vault-notes.md).
TEST_P(TwoLockers, NamespaceHeader) {
  Reply put = locker_->Call("POST", "secret/data/nsprobe", {{"data", {{"v", "root"}}}});
  ASSERT_EQ(put.status, 200) << put.body.dump();
  Reply in_ns = locker_->Call("GET", "secret/data/nsprobe", nullptr, "", "team1");
  Reply make = locker_->Call("POST", "sys/namespaces/team1");
  Config c = MakeConfig();
  c.vault.ns = "nosuchns";
  auto b = Backend::Open(c);
  if (locker_->kind() == Kind::kRealVault) {
    EXPECT_EQ(in_ns.status, 200) << in_ns.body.dump();
    EXPECT_EQ(in_ns.body["data"]["data"]["v"], "root");
    EXPECT_EQ(make.status, 404) << make.body.dump();
    EXPECT_EQ(make.body["errors"][0], "enterprise-only feature") << make.body.dump();
    // It would serve the root namespace: our client refuses the setting.
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), Code::kFailedPrecondition) << b.status().ToString();
    EXPECT_NE(b.status().message().find("(community edition), which has no namespaces"), std::string::npos)
        << b.status().ToString();
  } else {
    EXPECT_EQ(in_ns.status, 403) << in_ns.body.dump();
    EXPECT_EQ(make.status, 200) << make.body.dump();
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.status().message().find("nosuchns"), std::string::npos) << b.status().ToString();
  }
}

// --- faults a real server produces ---------------------------------------------

TEST_P(TwoLockers, SealedIsAClearTransientErrorAndUnsealRecovers) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)->keys().EnsureKey("1").ok());
  ASSERT_TRUE(locker_->Seal());
  Reply kv = locker_->Call("GET", "secret/data/x");
  EXPECT_EQ(kv.status, 503);
  EXPECT_EQ(kv.body["errors"][0], "Vault is sealed") << kv.body.dump();
  Reply mounts = locker_->Call("GET", "sys/mounts");
  EXPECT_EQ(mounts.status, 503) << mounts.body.dump();
  Reply health = locker_->Call("GET", "sys/health", nullptr, "-");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.body["sealed"], true);
  EXPECT_EQ(health.body["standby"], true) << health.body.dump();
  auto r = (*b)->keys().Rotate("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("seal"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE((*b)->keys().Get("1", 1).ok());  // cached keys are still served
  ASSERT_TRUE(locker_->Unseal());
  auto after = (*b)->keys().Rotate("1");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, 2u);
}

TEST_P(TwoLockers, StoppedThenRestartedCacheCoversAndFetchesResume) {
  auto b = Backend::Open(MakeConfig());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  KeyService& keys = (*b)->keys();
  ASSERT_TRUE(keys.EnsureKey("1").ok());
  ASSERT_TRUE(Vault(**b).Store("stop/doc", json{{"n", 1}}).ok());
  ASSERT_TRUE(locker_->Stop());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(keys.Get("1", 1).ok());
  auto miss = Vault(**b).Fetch("stop/doc");
  ASSERT_FALSE(miss.ok());
  EXPECT_TRUE(miss.status().code() == Code::kUnavailable || miss.status().code() == Code::kDeadlineExceeded)
      << miss.status().ToString();
  if (locker_->kind() == Kind::kDevLocker) {
    // The dev locker keeps state in memory without --data; this case is
    // about the client, so it only checks that fetches resume.
    ASSERT_TRUE(locker_->Restart());
    EXPECT_TRUE(Eventually(5, [&] { return Vault(**b).Store("stop/again", json{{"n", 2}}).ok(); }));
    return;
  }
  ASSERT_TRUE(locker_->Restart());
  EXPECT_TRUE(Eventually(5, [&] { return Vault(**b).Fetch("stop/doc").ok(); }));
  EXPECT_TRUE(keys.RefreshVersions().ok());
  EXPECT_EQ(*keys.Rotate("1"), 2u);
}

TEST_P(TwoLockers, RevokedTokenIsAClearErrorAndAppRoleLogsInAgain) {
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
  const std::string token = locker_->CreateToken({{"policies", {"klk-app"}}, {"ttl", "10m"}});
  auto b = Backend::Open(MakeConfig(token));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(Vault(**b).Store("keyring_locker/two/rev/doc", json{{"n", 1}}).ok());
  Reply rev = locker_->Call("POST", "auth/token/revoke", {{"token", token}});
  ASSERT_EQ(rev.status, 204) << rev.body.dump();
  auto r = Vault(**b).Fetch("keyring_locker/two/rev/doc");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == Code::kPermissionDenied || r.status().code() == Code::kUnauthenticated)
      << r.status().ToString();
  EXPECT_EQ(r.status().message().find(token), std::string::npos) << "the token leaked into an error";

  // AppRole: the token revokes itself (an operator revoking it is the same);
  // the next call logs in again with the secret ID.
  const std::string role_id = MakeAppRole({{"token_policies", {"klk-app"}}, {"token_ttl", "10m"}});
  auto a = Backend::Open(AppRoleConfig(role_id, NewSecretId()));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(Vault(**a).Store("keyring_locker/two/rev/app", json{{"n", 2}}).ok());
  const std::string app_token = (*a)->auth().Token();
  EXPECT_EQ(locker_->Call("POST", "auth/token/revoke-self", json::object(), app_token).status, 204);
  EXPECT_EQ(locker_->Call("GET", "auth/token/lookup-self", nullptr, app_token).status, 403);
  auto again = Vault(**a).Fetch("keyring_locker/two/rev/app");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["n"], 2);
  EXPECT_EQ((*a)->auth().info().logins, 2u);
}

TEST_P(TwoLockers, PolicyChangedUnderARunningServer) {
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
  const std::string token = locker_->CreateToken({{"policies", {"klk-app"}}, {"ttl", "10m"}});
  auto writer = Backend::Open(MakeConfig(token));
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_EQ(*(*writer)->keys().EnsureKey("1"), 1u);
  auto b = Backend::Open(MakeConfig(token));  // nothing cached yet
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicyNoDecrypt));
  auto denied = (*b)->keys().Get("1", 1);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied) << denied.status().ToString();
  EXPECT_NE(denied.status().message().find("transit/decrypt/keyring_locker"), std::string::npos)
      << denied.status().ToString();
  ASSERT_TRUE(locker_->WritePolicy("klk-app", kAppPolicy));
  auto back = (*b)->keys().Get("1", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE((*back)->bytes.Equals((*(*writer)->keys().Get("1", 1))->bytes));
}

INSTANTIATE_TEST_SUITE_P(Lockers, TwoLockers, ::testing::Values(Kind::kDevLocker, Kind::kRealVault), KindName);

}  // namespace
}  // namespace keyring_locker
