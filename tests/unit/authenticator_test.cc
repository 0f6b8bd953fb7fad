// Authenticator against a gmock HttpClient: token file/env, lookup-self,
// AppRole and cert logins, renewal timing, re-login, Refresh semantics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/vault/vault_namespace.h"
#include "tests/support/fifo_util.h"

namespace keyring_locker {
namespace {

using ::testing::_;
using ::testing::AnyNumber;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::ReturnRef;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class MockHttpClient : public HttpClient {
 public:
  MockHttpClient() {
    ON_CALL(*this, options()).WillByDefault(ReturnRef(opts));
    EXPECT_CALL(*this, options()).Times(AnyNumber());
  }
  MOCK_METHOD(StatusOr<HttpResponse>, Send, (const HttpRequest&), (override));
  MOCK_METHOD(HttpStats, stats, (), (const, override));
  MOCK_METHOD(const HttpOptions&, options, (), (const, override));
  HttpOptions opts;
};

StatusOr<HttpResponse> Reply(long status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}
StatusOr<HttpResponse> Lookup(int ttl, bool renewable) {
  return Reply(200, {{"data", {{"ttl", ttl}, {"renewable", renewable}, {"policies", {"default"}}}}});
}
StatusOr<HttpResponse> Grant(const std::string& token, int ttl, bool renewable) {
  return Reply(200, {{"auth", {{"client_token", token}, {"lease_duration", ttl}, {"renewable", renewable}}}});
}
std::string Header(const HttpRequest& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

class TempFile {
 public:
  TempFile(const std::string& content, mode_t mode) {
    char tmpl[] = "/tmp/klk_auth_test_XXXXXX";
    int fd = ::mkstemp(tmpl);
    ::close(fd);
    path_ = tmpl;
    Write(content);
    ::chmod(path_.c_str(), mode);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  void Write(const std::string& content) { std::ofstream(path_, std::ios::trunc) << content; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Authenticator> Make(AuthOptions o, HttpClient* http) {
  auto a = Authenticator::Create(std::move(o), http);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? std::move(a).value() : nullptr;
}

AuthOptions TokenFile(const std::string& path) {
  AuthOptions o;
  o.token_file = path;
  o.min_retry_interval = seconds(1);
  return o;
}

AuthOptions AppRole(const std::string& secret_file) {
  AuthOptions o;
  o.method = AuthOptions::Method::kAppRole;
  o.role_id = "role-1234";
  o.secret_id_file = secret_file;
  o.min_retry_interval = seconds(1);
  return o;
}

TEST(Authenticator, RefusesGroupReadableTokenFile) {
  TempFile f("s.secret-token\n", 0640);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).Times(0);
  auto a = Make(TokenFile(f.path()), &http);
  Status s = a->Login();
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("chmod 600 " + f.path()), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s.secret-token"), std::string::npos);
  EXPECT_EQ(a->Token(), "");
  EXPECT_EQ(a->info().failures, 1u);
}

TEST(Authenticator, RefusesEmptyTokenFileAndStripsNewline) {
  TempFile f("\n", 0600);
  MockHttpClient http;
  auto a = Make(TokenFile(f.path()), &http);
  Status s = a->Login();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is empty"), std::string::npos) << s.message();

  f.Write("s.file-token\r\n");
  std::string seen;
  EXPECT_CALL(http, Send(_)).WillOnce(Invoke([&](const HttpRequest& r) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/v1/auth/token/lookup-self");
    seen = Header(r, "X-Vault-Token");
    return Lookup(3600, true);
  }));
  ASSERT_TRUE(a->Login().ok());
  EXPECT_EQ(seen, "s.file-token");
  EXPECT_EQ(a->Token(), "s.file-token");
  AuthInfo i = a->info();
  EXPECT_EQ(i.ttl, seconds(3600));
  EXPECT_TRUE(i.renewable);
  EXPECT_EQ(i.logins, 1u);
  const auto left = i.expires - std::chrono::system_clock::now();
  EXPECT_GT(left, seconds(3590));
  EXPECT_LE(left, seconds(3600));
}

TEST(Authenticator, TokenFromEnvironment) {
  ::setenv("KLK_TEST_TOKEN", "s.env-token", 1);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).WillOnce(Return(Lookup(0, false)));
  AuthOptions o;
  o.token_env = "KLK_TEST_TOKEN";
  auto a = Make(o, &http);
  ASSERT_TRUE(a->Login().ok());
  EXPECT_EQ(a->Token(), "s.env-token");
  EXPECT_EQ(a->info().ttl, seconds(0));
  ::unsetenv("KLK_TEST_TOKEN");
  o.token_env = "KLK_TEST_TOKEN_UNSET";
  auto b = Make(o, &http);
  Status s = b->Login();
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("KLK_TEST_TOKEN_UNSET"), std::string::npos);
}

TEST(Authenticator, RejectedTokenNamesFileNotToken) {
  TempFile f("s.revoked-token", 0600);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).WillOnce(Return(Reply(403, {{"errors", {"permission denied"}}})));
  auto a = Make(TokenFile(f.path()), &http);
  Status s = a->Login();
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("expired or revoked"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("write a valid token to " + f.path()), std::string::npos);
  EXPECT_EQ(s.message().find("s.revoked-token"), std::string::npos);
  EXPECT_EQ(a->info().last_error.find("s.revoked-token"), std::string::npos);
}

TEST(Authenticator, MalformedLookupIsDataLoss) {
  TempFile f("s.t", 0600);
  MockHttpClient http;
  HttpResponse junk;
  junk.status = 200;
  junk.body = "<html>not vault</html>";
  EXPECT_CALL(http, Send(_)).WillOnce(Return(junk));
  auto a = Make(TokenFile(f.path()), &http);
  EXPECT_EQ(a->Login().code(), Code::kDataLoss);
}

TEST(Authenticator, AppRoleLoginSendsRoleAndSecretWithoutToken) {
  TempFile secret("secret-id-5678\n", 0600);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).WillOnce(Invoke([](const HttpRequest& r) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/v1/auth/approle/login");
    EXPECT_EQ(Header(r, "X-Vault-Token"), "");
    EXPECT_FALSE(r.idempotent);  // a re-send could burn a limited-use secret ID
    json body = json::parse(r.body);
    EXPECT_EQ(body["role_id"], "role-1234");
    EXPECT_EQ(body["secret_id"], "secret-id-5678");
    return Grant("s.approle-token", 1200, true);
  }));
  auto a = Make(AppRole(secret.path()), &http);
  ASSERT_TRUE(a->Login().ok());
  EXPECT_EQ(a->Token(), "s.approle-token");
  EXPECT_EQ(a->info().ttl, seconds(1200));
  EXPECT_TRUE(a->info().renewable);
}

TEST(Authenticator, AppRoleRejectionHidesSecret) {
  TempFile secret("secret-id-5678", 0600);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).WillOnce(Return(Reply(400, {{"errors", {"invalid role or secret ID"}}})));
  auto a = Make(AppRole(secret.path()), &http);
  Status s = a->Login();
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_NE(s.message().find("invalid role or secret ID"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(secret.path()), std::string::npos);
  EXPECT_EQ(s.message().find("secret-id-5678"), std::string::npos);
}

// Issue #15: a login answer is trusted no further than a real Vault's.
TEST(Authenticator, LoginAnswerWithAnUnsendableTokenIsRefused) {
  TempFile secret("secret-id-5678", 0600);
  for (const std::string& bad : {std::string("s.tok\r\nX-Evil: 1"), std::string("s.tok\0cut", 9), std::string("s.tok en"),
                                std::string("s.t\xc3\xa9")}) {
    MockHttpClient http;
    EXPECT_CALL(http, Send(_)).WillOnce(Return(Grant(bad, 1200, true)));
    auto a = Make(AppRole(secret.path()), &http);
    Status s = a->Login();
    EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
    EXPECT_NE(s.message().find("client_token with control"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("s.tok"), std::string::npos) << "the token is not echoed";
  }
}

TEST(Authenticator, LoginAnswerWithTwoTokensIsRefused) {
  TempFile secret("secret-id-5678", 0600);
  MockHttpClient http;
  HttpResponse twice;
  twice.status = 200;
  twice.body = R"({"auth":{"client_token":"s.first","client_token":"s.second","lease_duration":60}})";
  EXPECT_CALL(http, Send(_)).WillOnce(Return(twice));
  auto a = Make(AppRole(secret.path()), &http);
  Status s = a->Login();
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_NE(s.message().find("auth.client_token"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s.first"), std::string::npos);
}

TEST(Authenticator, CertLoginNeedsClientCertAndSendsRole) {
  MockHttpClient http;
  AuthOptions o;
  o.method = AuthOptions::Method::kCert;
  o.cert_role = "db1";
  auto refused = Authenticator::Create(o, &http);
  ASSERT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("tls.client_cert"), std::string::npos);
  http.opts.tls.client_cert = "/etc/client.pem";
  EXPECT_CALL(http, Send(_)).WillOnce(Invoke([](const HttpRequest& r) {
    EXPECT_EQ(r.path, "/v1/auth/cert/login");
    EXPECT_EQ(json::parse(r.body), json({{"name", "db1"}}));
    return Grant("s.cert-token", 600, false);
  }));
  auto a = Make(o, &http);
  ASSERT_TRUE(a->Login().ok());
  EXPECT_EQ(a->Token(), "s.cert-token");
}

// Issue #15: a FIFO as a secret file used to block open() forever (the
// server start ignored its budget and SIGTERM). Now a clear error at once.
TEST(Authenticator, FifoAsTokenOrSecretIdFileIsRefusedWithoutBlocking) {
  testing::Fifo fifo("/tmp/klk_auth_test_fifo." + std::to_string(::getpid()));
  for (const auto& [o, option] : {std::pair{TokenFile(fifo.path()), "auth.token_file"},
                                  std::pair{AppRole(fifo.path()), "auth.approle.secret_id_file"}}) {
    MockHttpClient http;
    EXPECT_CALL(http, Send(_)).Times(0);
    auto a = Make(o, &http);
    Status s = testing::WithinBoundedTime(fifo, [&] { return a->Login(); });
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find(std::string(option) + " '" + fifo.path() + "' is a FIFO"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(std::string("point ") + option + " at a plain file"), std::string::npos);
  }
}

// A CR or LF inside the token used to travel to the HTTP header check,
// which called it "a bug in the caller". The reader names the file and fix.
TEST(Authenticator, TokenFileWithInnerLineBreakIsRefusedByTheReader) {
  for (const std::string content : {"s.tok\r\nen", "s.tok\nen\n", "s.tok\ten"}) {
    TempFile f(content, 0600);
    MockHttpClient http;
    EXPECT_CALL(http, Send(_)).Times(0);
    auto a = Make(TokenFile(f.path()), &http);
    Status s = a->Login();
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("auth.token_file '" + f.path() + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("at byte 5"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("on a single line"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("bug"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("s.tok"), std::string::npos) << s.message();
  }
}

TEST(Authenticator, TokenEnvWithInnerLineBreakIsRefused) {
  ::setenv("KLK_TEST_TOKEN_CRLF", "s.tok\r\nen", 1);
  MockHttpClient http;
  EXPECT_CALL(http, Send(_)).Times(0);
  AuthOptions o;
  o.token_env = "KLK_TEST_TOKEN_CRLF";
  auto a = Make(o, &http);
  Status s = a->Login();
  ::unsetenv("KLK_TEST_TOKEN_CRLF");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("KLK_TEST_TOKEN_CRLF"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("single line"), std::string::npos) << s.message();
}

// Vault answers 403 for a credential used in a namespace it does not belong
// to; "expired or revoked" sent operators after the wrong cause.
TEST(Authenticator, RejectedCredentialsInANamespaceNameTheNamespace) {
  TempFile token("s.team-token", 0600), secret("secret-id-5678", 0600);
  for (const AuthOptions& o : {TokenFile(token.path()), AppRole(secret.path())}) {
    MockHttpClient http;
    http.opts = WithVaultNamespace(http.opts, "team-a");
    EXPECT_CALL(http, Send(_)).WillOnce(Return(Reply(403, {{"errors", {"permission denied"}}})));
    auto a = Make(o, &http);
    Status s = a->Login();
    EXPECT_EQ(s.code(), Code::kUnauthenticated);
    EXPECT_NE(s.message().find("valid in namespace \"team-a\": check locker.namespace"),
              std::string::npos)
        << s.message();
    if (o.method == AuthOptions::Method::kToken) {
      EXPECT_NE(s.message().find("or the token expired or was revoked"), std::string::npos);
    }
    EXPECT_EQ(s.message().find("s.team-token"), std::string::npos);
    EXPECT_EQ(s.message().find("secret-id-5678"), std::string::npos);
  }
}

TEST(Authenticator, CreateValidatesOptions) {
  MockHttpClient http;
  AuthOptions o;
  auto s = Authenticator::Create(o, &http);
  EXPECT_NE(s.status().message().find("auth.token_file"), std::string::npos);
  o = AppRole("/x");
  o.role_id.clear();
  EXPECT_NE(Authenticator::Create(o, &http).status().message().find("auth.approle.role_id"),
            std::string::npos);
  o = TokenFile("/x");
  o.renew_fraction = 0.95;
  EXPECT_NE(Authenticator::Create(o, &http).status().message().find("auth.renew_fraction"),
            std::string::npos);
}

}  // namespace
}  // namespace keyring_locker
