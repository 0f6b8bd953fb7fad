// The Azure Key Vault wrapper against the local stand-in
// (tests/azure/azure_standin.py; Lowkey Vault, the independent test server,
// could not be had here): each sign-in, tokens refreshed before expiry,
// rotation of the Azure key with old versions still unwrapping, a disabled
// and a revoked key (what the cache keeps serving, what fails, recovery),
// the service down and hanging, throttling, endpoints in order, TLS
// verification, and both stores (a directory, Vault KV on the dev locker).
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "keyring_backend/azure/key_vault_wrapper.h"
#include "keyring_backend/backend.h"
#include "tests/integration/azure_standin_fixture.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

using azure::AuthMethod;
using testing::AzureStandin;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

class AzureKeyVaultTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (!AzureStandin::Unavailable().empty()) GTEST_SKIP() << AzureStandin::Unavailable();
    standin_ = AzureStandin::Start(StandinOptions());
    ASSERT_NE(standin_, nullptr);
  }
  virtual AzureStandin::Options StandinOptions() { return {}; }

  std::unique_ptr<AzureKeyVaultWrapper> Open(azure::AzureOptions o) {
    auto w = AzureKeyVaultWrapper::Open(o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  std::unique_ptr<AzureKeyVaultWrapper> Open(AuthMethod auth = AuthMethod::kClientSecret) {
    return Open(standin_->WrapperOptions(auth));
  }
  static std::string VersionOf(const std::string& wrapped) {
    auto s = AzureKeyVaultWrapper::Parse(wrapped);
    return s.ok() ? s->version : "";
  }
  int64_t Stat(const char* name) { return standin_->Admin("stats").value(name, -1); }

  // A server's backend: the keys in a directory, wrapped by the stand-in.
  std::unique_ptr<Backend> OpenBackend(const std::string& dir, int total_ms = 3000) {
    nlohmann::json c = {{"store", {{"type", "directory"}, {"path", dir}}},
                        {"wrapper", {{"type", "azure_key_vault"}}},
                        {"azure", standin_->ConfigGroup("client_secret")},
                        {"keys", {{"scope", "azure"}}},
                        {"timeouts", {{"connect_ms", 1000}, {"total_ms", total_ms}}},
                        {"retries", {{"max", 2}, {"backoff_initial_ms", 20}, {"backoff_max_ms", 100}}}};
    auto config = ParseConfig(c.dump(), "test");
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    if (!config.ok()) return nullptr;
    auto b = Backend::Open(*config);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }

  std::unique_ptr<AzureStandin> standin_;
};

TEST_F(AzureKeyVaultTest, WrapsAndUnwrapsWithEverySignIn) {
  for (AuthMethod auth : {AuthMethod::kClientSecret, AuthMethod::kClientCertificate, AuthMethod::kManagedIdentity}) {
    SCOPED_TRACE(static_cast<int>(auth));
    auto w = Open(auth);
    ASSERT_NE(w, nullptr);
    ASSERT_TRUE(w->Connect().ok());
    auto key = crypto::RandomKey(32);
    auto wrapped = w->Wrap(*key, "scope\nk\n1");
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(wrapped->rfind("azure-kv:v1:", 0), 0u) << *wrapped;
    EXPECT_NE(wrapped->find(":RSA-OAEP-256:"), std::string::npos);
    auto back = w->Unwrap(*wrapped, "scope\nk\n1");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(back->Equals(*key));
  }
  EXPECT_EQ(Stat("token_secret"), 1);
  EXPECT_EQ(Stat("token_assertion"), 1) << "the certificate's client assertion was accepted";
  EXPECT_EQ(Stat("token_imds"), 1);
}

TEST_F(AzureKeyVaultTest, ReusesItsConnection) {
  auto w = Open();
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok());
  const int64_t before = Stat("connections");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(w->Unwrap(*wrapped, "").ok());
  // Admin("stats") itself opens one connection per call.
  EXPECT_EQ(Stat("connections"), before + 1) << "ten unwraps over the connection already open";
}

TEST_F(AzureKeyVaultTest, RsaOaepIsAcceptedAndEachRecordKeepsItsAlgorithm) {
  azure::AzureOptions o = standin_->WrapperOptions(AuthMethod::kClientSecret);
  o.algorithm = "RSA-OAEP";
  auto sha1 = Open(o);
  auto sha256 = Open();
  auto key = crypto::RandomKey(32);
  auto wrapped = sha1->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_NE(wrapped->find(":RSA-OAEP:"), std::string::npos);
  auto back = sha256->Unwrap(*wrapped, "");  // configured for OAEP-256, reads what the record names
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Equals(*key));
}

TEST_F(AzureKeyVaultTest, RotationNeverStrandsKeysWrappedByOldVersions) {
  auto w = Open();
  auto key1 = crypto::RandomKey(32), key2 = crypto::RandomKey(32);
  auto old_wrapped = w->Wrap(*key1, "");
  ASSERT_TRUE(old_wrapped.ok());
  const std::string v2 = standin_->Admin("rotate", {{"name", AzureStandin::kKey}})["version"];
  auto new_wrapped = w->Wrap(*key2, "");
  ASSERT_TRUE(new_wrapped.ok());
  EXPECT_EQ(VersionOf(*new_wrapped), v2) << "new keys are wrapped with the latest version at once";
  EXPECT_NE(VersionOf(*old_wrapped), v2);
  // Both unwrap, each with the version it names; a fresh wrapper too.
  auto fresh = Open();
  EXPECT_TRUE(fresh->Unwrap(*old_wrapped, "")->Equals(*key1));
  EXPECT_TRUE(fresh->Unwrap(*new_wrapped, "")->Equals(*key2));

  // A pinned version keeps wrapping with it after the rotation.
  azure::AzureOptions pinned = standin_->WrapperOptions(AuthMethod::kClientSecret);
  pinned.key_version = VersionOf(*old_wrapped);
  auto p = Open(pinned);
  ASSERT_TRUE(p->Connect().ok());
  EXPECT_EQ(VersionOf(*p->Wrap(*key1, "")), pinned.key_version);
}

TEST_F(AzureKeyVaultTest, ADisabledVersionStopsItsKeysUntilEnabledAgain) {
  auto w = Open();
  auto key = crypto::RandomKey(32);
  auto old_wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(old_wrapped.ok());
  standin_->Admin("rotate", {{"name", AzureStandin::kKey}});
  standin_->Admin("set_enabled", {{"name", AzureStandin::kKey}, {"version", VersionOf(*old_wrapped)}, {"enabled", false}});
  auto r = w->Unwrap(*old_wrapped, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("disabled"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(w->Wrap(*key, "").ok()) << "the latest version still wraps";

  standin_->Admin("set_enabled", {{"name", AzureStandin::kKey}, {"version", VersionOf(*old_wrapped)}, {"enabled", true}});
  EXPECT_TRUE(w->Unwrap(*old_wrapped, "")->Equals(*key)) << "enabling the version recovers its keys";

  // The latest version disabled: no new key can be wrapped; start says so.
  standin_->Admin("set_enabled", {{"name", AzureStandin::kKey}, {"enabled", false}});
  auto refused = w->Wrap(*key, "");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  Status connect = Open()->Connect();
  EXPECT_EQ(connect.code(), Code::kFailedPrecondition) << connect.ToString();
  EXPECT_NE(connect.message().find("disabled"), std::string::npos);
}

// Azure BYOK's "inaccessible" state: the customer revokes our access.
TEST_F(AzureKeyVaultTest, RevokedAccessKeepsCachedKeysAndRecoversWhenRestored) {
  auto server = OpenBackend(dir_ + "/keys");
  ASSERT_NE(server, nullptr);
  auto v = server->keys().EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto before = server->keys().Get("1", *v);
  ASSERT_TRUE(before.ok());

  standin_->Admin("revoke", {{"on", true}});
  auto cached = server->keys().Get("1", *v);
  ASSERT_TRUE(cached.ok()) << "a key in the cache keeps being served: " << cached.status().ToString();
  EXPECT_TRUE((*cached)->bytes.Equals((*before)->bytes));
  auto created = server->keys().Rotate("1");
  ASSERT_FALSE(created.ok()) << "no new key can be wrapped";
  EXPECT_EQ(created.status().code(), Code::kPermissionDenied) << created.status().ToString();
  EXPECT_NE(created.status().message().find("Key Vault Crypto Service Encryption User"), std::string::npos);
  // A restarted server (empty cache) cannot unwrap: it does not start.
  auto restarted = [&] {
    nlohmann::json c = {{"store", {{"type", "directory"}, {"path", dir_ + "/keys"}}},
                        {"wrapper", {{"type", "azure_key_vault"}}},
                        {"azure", standin_->ConfigGroup("client_secret")},
                        {"keys", {{"scope", "azure"}}}};
    return Backend::Open(*ParseConfig(c.dump(), "test"));
  }();
  ASSERT_FALSE(restarted.ok());
  EXPECT_EQ(restarted.status().code(), Code::kPermissionDenied) << restarted.status().ToString();

  standin_->Admin("revoke", {{"on", false}});
  auto rotated = server->keys().Rotate("1");
  ASSERT_TRUE(rotated.ok()) << "the running server recovers without a restart: " << rotated.status().ToString();
  auto again = OpenBackend(dir_ + "/keys");
  ASSERT_NE(again, nullptr);
  auto read = again->keys().Get("1", *v);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE((*read)->bytes.Equals((*before)->bytes)) << "access restored: the same key unwraps";
  EXPECT_TRUE(again->keys().Get("1", *rotated).ok());
}

TEST_F(AzureKeyVaultTest, ServiceDownCacheServesAndCallsFailWithinTheBudget) {
  auto server = OpenBackend(dir_ + "/keys", 2000);
  ASSERT_NE(server, nullptr);
  auto v = server->keys().EnsureKey("7");
  ASSERT_TRUE(v.ok()) << v.status().ToString();

  standin_->Stop();
  EXPECT_TRUE(server->keys().Get("7", *v).ok()) << "cached keys survive the outage";
  const auto t = Clock::now();
  auto created = server->keys().Rotate("7");
  EXPECT_FALSE(created.ok());
  EXPECT_TRUE(created.status().code() == Code::kUnavailable || created.status().code() == Code::kDeadlineExceeded)
      << created.status().ToString();
  EXPECT_LT(Since(t).count(), 4000) << "one budget per call";

  ASSERT_TRUE(standin_->Restart());
  auto after = server->keys().Rotate("7");
  EXPECT_TRUE(after.ok()) << "recovers once Key Vault is back: " << after.status().ToString();
}

TEST_F(AzureKeyVaultTest, AHangingServiceCostsOneBudget) {
  auto w = Open(standin_->WrapperOptions(AuthMethod::kClientSecret, 1500));
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok());
  standin_->Admin("hang", {{"seconds", 30}});
  const auto t = Clock::now();
  auto r = w->Unwrap(*wrapped, "");
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(Since(t).count(), 3000);
  standin_->Admin("hang", {{"seconds", 0}});
  EXPECT_TRUE(w->Unwrap(*wrapped, "").ok());
}

TEST_F(AzureKeyVaultTest, ThrottlingIsRetriedAfterRetryAfter) {
  auto w = Open();
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok());
  standin_->Admin("throttle", {{"count", 2}, {"retry_after", 1}});
  const auto t = Clock::now();
  auto r = w->Unwrap(*wrapped, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Equals(*key));
  EXPECT_GE(Since(t).count(), 1800) << "Retry-After: 1 was honoured twice";
  EXPECT_EQ(Stat("throttled"), 2);

  // Throttled beyond the retries: a clear, transient error.
  standin_->Admin("throttle", {{"count", 50}, {"retry_after", 0}});
  auto refused = w->Unwrap(*wrapped, "");
  EXPECT_EQ(refused.status().code(), Code::kUnavailable) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("throttl"), std::string::npos) << refused.status().ToString();
  standin_->Admin("throttle", {{"count", 0}});
}

// Short tokens (3 s): a new one is fetched after two thirds of the lifetime,
// before Key Vault would refuse the old one.
class AzureShortTokenTest : public AzureKeyVaultTest {
  AzureStandin::Options StandinOptions() override {
    AzureStandin::Options o;
    o.token_lifetime_s = 3;
    return o;
  }
};

TEST_F(AzureShortTokenTest, TokensAreRefreshedBeforeTheyExpire) {
  for (AuthMethod auth : {AuthMethod::kClientCertificate, AuthMethod::kManagedIdentity}) {
    auto w = Open(auth);
    auto key = crypto::RandomKey(32);
    auto wrapped = w->Wrap(*key, "");
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(w->tokens().fetches(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(2300));
    ASSERT_TRUE(w->Unwrap(*wrapped, "").ok());
    EXPECT_EQ(w->tokens().fetches(), 2u) << "refreshed at 2/3 of the lifetime";
  }
  EXPECT_EQ(Stat("unauthorized"), 0) << "no request went out with an expired token";
}

TEST_F(AzureKeyVaultTest, ARefusedTokenIsReplacedOnce) {
  auto w = Open();
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok());
  standin_->Admin("expire_tokens");
  ASSERT_TRUE(w->Unwrap(*wrapped, "").ok());
  EXPECT_EQ(Stat("unauthorized"), 1);
  EXPECT_EQ(w->tokens().fetches(), 2u);
}

TEST_F(AzureKeyVaultTest, TheLoginServiceDownKeepsAValidTokenInUse) {
  auto w = Open();
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok());
  standin_->Admin("fail_login", {{"on", true}});
  EXPECT_TRUE(w->Unwrap(*wrapped, "").ok()) << "the token in hand is still good";
  standin_->Admin("expire_tokens");
  auto r = w->Unwrap(*wrapped, "");
  EXPECT_FALSE(r.ok());
  standin_->Admin("fail_login", {{"on", false}});
  EXPECT_TRUE(w->Unwrap(*wrapped, "").ok());
}

TEST_F(AzureKeyVaultTest, EndpointsAreTriedInOrder) {
  azure::AzureOptions o = standin_->WrapperOptions(AuthMethod::kClientSecret);
  o.endpoints = {"https://127.0.0.1:1", standin_->url()};  // nothing listens on port 1
  auto w = Open(o);
  auto key = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*key, "");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_TRUE(w->Unwrap(*wrapped, "")->Equals(*key));
}

TEST_F(AzureKeyVaultTest, WrongCredentialsAreNamedWithoutTheSecret) {
  const std::string secret = Write("wrong", "not-the-secret-xyz\n", 0600);
  azure::AzureOptions o = standin_->WrapperOptions(AuthMethod::kClientSecret);
  o.secret_file = secret;
  Status s = Open(o)->Connect();
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
  EXPECT_NE(s.message().find("secret_file"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("not-the-secret-xyz"), std::string::npos);

  standin_->Admin("imds_identity", {{"on", false}});
  Status mi = Open(AuthMethod::kManagedIdentity)->Connect();
  EXPECT_EQ(mi.code(), Code::kUnauthenticated) << mi.ToString();
  EXPECT_NE(mi.message().find("managed identity"), std::string::npos) << mi.ToString();
}

TEST_F(AzureKeyVaultTest, TlsIsVerified) {
  azure::AzureOptions o = standin_->WrapperOptions(AuthMethod::kClientSecret);
  o.http.tls.ca_file.clear();  // the system's CAs do not know the stand-in's
  Status s = Open(o)->Connect();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
}

// The other store: Vault KV documents (on the dev locker), wrapped by Azure.
TEST_F(AzureKeyVaultTest, VaultKvStoreWithTheAzureWrapper) {
  auto locker = testing::DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  const std::string token = Write("token", locker->root_token(), 0600);
  nlohmann::json c = {{"store", {{"type", "vault"}}},
                      {"wrapper", {{"type", "azure_key_vault"}}},
                      {"locker", {{"urls", {locker->url()}}}},
                      {"auth", {{"method", "token"}, {"token_file", token}}},
                      {"tls", {{"ca_file", locker->ca_file()}}},
                      {"azure", standin_->ConfigGroup("client_certificate")},
                      {"keys", {{"scope", "azure-kv"}}}};
  auto config = ParseConfig(c.dump(), "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto server = Backend::Open(*config);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto v = (*server)->keys().EnsureKey("3");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto first = (*server)->keys().Get("3", *v);
  ASSERT_TRUE(first.ok());
  server->reset();
  auto again = Backend::Open(*config);  // a restart: empty cache, unwrapped by Key Vault
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto read = (*again)->keys().Get("3", *v);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE((*read)->bytes.Equals((*first)->bytes));
  EXPECT_NE((*again)->Describe().find("azure-key-vault:"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker
