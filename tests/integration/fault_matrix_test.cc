// The fault matrix (docs/fault-matrix.md): every way a locker or the path to
// it can fail, against a real Backend over TLS. Each case asserts the error
// code, that the message names the problem, that no token appears in it,
// the wall-time bound, and that keys already cached keep being served.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/fault_matrix_support.h"
#include "keyring_backend/open_locker.h"

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DevLocker;
using Clock = std::chrono::steady_clock;

constexpr auto kTotal = 1500ms;  // timeouts.total_ms of every config here
constexpr auto kSlack = 1500ms;  // one more connect, thread wake-ups, sanitizers

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class FaultMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("klk_fault_matrix." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    DevLocker::Options o;
    o.data_file = dir_ + "/state.json";
    locker_ = DevLocker::Start(o);
    ASSERT_NE(locker_, nullptr);
  }
  void TearDown() override {
    locker_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string SecretFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    ::chmod(path.c_str(), 0600);
    return path;
  }

  Config MakeConfig(const std::string& token = "") {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = 1000ms;
    c.http.total_timeout = kTotal;
    c.http.backoff_initial = 20ms;
    c.http.backoff_max = 200ms;
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = SecretFile("token", token.empty() ? locker_->root_token() : token);
    c.keys.scope = "fm/db1";
    c.cache.version_refresh = std::chrono::seconds(3600);  // no background traffic mid-case
    return c;
  }

  // Opens a Backend, creates key "1" v1 and v2 and caches both.
  std::unique_ptr<Backend> OpenWithKeys(const Config& c) {
    auto b = Backend::Open(c);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) return nullptr;
    EXPECT_TRUE((*b)->keys().EnsureKey("1").ok());
    EXPECT_TRUE((*b)->keys().Rotate("1").ok());
    auto k = (*b)->keys().Get("1", 2);
    EXPECT_TRUE(k.ok());
    if (k.ok()) cached_ = crypto::HexEncode(crypto::Sha256((*k)->bytes.data(), (*k)->bytes.size()));
    return std::move(b).value();
  }

  // A KeyService with an empty cache over the backend's client and token:
  // every Get goes to the locker, as a newly rotated key would.
  std::unique_ptr<KeyService> FreshKeys(Backend& b, HttpClient* http = nullptr) {
    const Config& c = b.config();
    return std::make_unique<KeyService>(std::move(OpenKeyLocker(c, http != nullptr ? http : &b.http(), &b.auth())).value(), c.keys,
                                        c.cache, nullptr, "fault-matrix", c.http.total_timeout);
  }

  // The common assertions of every case.
  void ExpectFault(const std::string& name, const Status& s, std::vector<Code> codes,
                   std::vector<std::string> words, Clock::duration elapsed, Clock::duration bound,
                   const std::vector<std::string>& secrets = {}) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    std::printf("fault-matrix %-28s -> %s (%lld ms)\n", name.c_str(), s.ToString().c_str(),
                static_cast<long long>(ms));
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_NE(std::find(codes.begin(), codes.end(), s.code()), codes.end()) << name << ": " << s.ToString();
    const std::string msg = Lower(s.message());
    EXPECT_TRUE(std::any_of(words.begin(), words.end(),
                            [&](const std::string& w) { return msg.find(Lower(w)) != std::string::npos; }))
        << name << ": message does not name the problem: " << s.ToString();
    std::vector<std::string> all = secrets;
    all.push_back(locker_->root_token());
    for (const auto& t : all) EXPECT_EQ(s.message().find(t), std::string::npos) << name << ": token leaked";
    EXPECT_LT(elapsed, bound) << name << ": took " << ms << " ms";
  }

  void ExpectCachedStillServed(Backend& b, const std::string& name) {
    auto k = b.keys().Get("1", 2);
    ASSERT_TRUE(k.ok()) << name << ": cached key lost: " << k.status().ToString();
    EXPECT_EQ(crypto::HexEncode(crypto::Sha256((*k)->bytes.data(), (*k)->bytes.size())), cached_) << name;
    EXPECT_GE(b.keys().LatestVersionCached("1"), 2u) << name;
  }

  // Writes a key document the way KeyService does, with chosen contents.
  void PutDocument(const std::string& name, const json& doc) {
    auto r = locker_->Call("POST", "secret/data/keyring_locker/fm/db1/keys/" + name + "/1", json{{"data", doc}});
    ASSERT_LT(r.status, 300) << r.body.dump();
  }
  std::string Encrypt(const std::string& transit_key, size_t bytes) {
    const std::string plain(bytes, 'k');
    auto r = locker_->Call("POST", "transit/encrypt/" + transit_key,
                           json{{"plaintext", crypto::Base64Encode(reinterpret_cast<const uint8_t*>(plain.data()),
                                                                   plain.size())}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body["data"].value("ciphertext", "");
  }
  static json Document(const std::string& name, size_t length, const std::string& wrapped) {
    return json{{"format", "keyring_locker/1"}, {"name", name},        {"version", 1},
                {"type", "AES"},              {"length", length},    {"wrapped", wrapped},
                {"created", "2026-11-23T00:00:00Z"}, {"creator", "t"}, {"origin", "local-random"}};
  }

  std::string dir_;
  std::unique_ptr<DevLocker> locker_;
  std::string cached_;
};

TEST_F(FaultMatrixTest, HttpAnswersAndBrokenBodies) {
  auto b = OpenWithKeys(MakeConfig());
  ASSERT_NE(b, nullptr);
  struct Case {
    std::string name;
    json fault;
    std::vector<Code> codes;
    std::vector<std::string> words;
  };
  const std::string plain_http = "http://127.0.0.1:" + std::to_string(locker_->port());
  const std::vector<Case> cases = {
      {"400", {{"action", "status"}, {"status", 400}}, {Code::kInvalidArgument}, {"rejected the request"}},
      {"403", {{"action", "status"}, {"status", 403}}, {Code::kPermissionDenied}, {"policy"}},
      {"404", {{"action", "status"}, {"status", 404}}, {Code::kNotFound}, {"no key document"}},
      {"412", {{"action", "status"}, {"status", 412}}, {Code::kUnavailable, Code::kDeadlineExceeded},
       {"consistent", "total_ms"}},
      {"429 Retry-After", {{"action", "status"}, {"status", 429}, {"retry_after", 1}},
       {Code::kResourceExhausted, Code::kDeadlineExceeded}, {"rate limited", "total_ms"}},
      {"500", {{"action", "status"}, {"status", 500}}, {Code::kUnavailable}, {"500"}},
      {"502", {{"action", "status"}, {"status", 502}}, {Code::kUnavailable}, {"502"}},
      {"503 sealed", {{"action", "status"}, {"status", 503}}, {Code::kUnavailable}, {"sealed"}},
      {"307 unconfigured host", {{"action", "redirect"}, {"location", "https://elsewhere.example:8200"}},
       {Code::kFailedPrecondition}, {"not in locker.urls"}},
      {"307 plain http", {{"action", "redirect"}, {"location", plain_http}}, {Code::kFailedPrecondition},
       {"not in locker.urls"}},
      {"malformed JSON", {{"action", "malformed"}}, {Code::kDataLoss}, {"not json"}},
      {"truncated body", {{"action", "truncate"}}, {Code::kUnavailable, Code::kDataLoss, Code::kDeadlineExceeded},
       {"dropped", "transfer closed", "total_ms"}},
      {"100 MB body", {{"action", "oversized"}, {"size_bytes", 100 * 1024 * 1024}}, {Code::kResourceExhausted},
       {"max_response_bytes"}},
      {"drop connection", {{"action", "drop"}}, {Code::kUnavailable, Code::kDeadlineExceeded},
       {"dropped", "connect", "total_ms"}},
      {"hang after request", {{"action", "hang"}, {"delay_ms", 10000}}, {Code::kDeadlineExceeded, Code::kUnavailable},
       {"total_ms", "timed out", "timeout"}},
      {"one byte per second", {{"action", "slow"}, {"delay_ms", 1000}},
       {Code::kDeadlineExceeded, Code::kUnavailable}, {"total_ms", "timed out", "timeout"}},
  };
  for (const auto& tc : cases) {
    locker_->ClearFaults();
    json fault = tc.fault;
    fault["path_prefix"] = "/v1/secret/";
    fault["count"] = -1;
    locker_->InjectFault(fault);
    auto fresh = FreshKeys(*b);
    const auto start = Clock::now();
    auto r = fresh->Get("1", 2);
    ExpectFault(tc.name, r.status(), tc.codes, tc.words, Clock::now() - start, kTotal + kSlack);
    ExpectCachedStillServed(*b, tc.name);
  }
  locker_->ClearFaults();
  EXPECT_TRUE(FreshKeys(*b)->Get("1", 2).ok()) << "the locker works again once the fault is gone";
}

TEST_F(FaultMatrixTest, UnreachableLockers) {
  auto b = OpenWithKeys(MakeConfig());
  ASSERT_NE(b, nullptr);
  {  // connection refused: the running server's locker went away
    locker_->Stop();
    const auto start = Clock::now();
    auto r = FreshKeys(*b)->Get("1", 2);
    ExpectFault("connection refused", r.status(), {Code::kUnavailable, Code::kDeadlineExceeded},
                {"is the locker running"}, Clock::now() - start, kTotal + kSlack);
    ExpectCachedStillServed(*b, "connection refused");
    ASSERT_TRUE(locker_->Restart());
  }
  {  // refused at startup: a clear error, fast
    Config c = MakeConfig();
    c.http.endpoints = {"https://127.0.0.1:" + std::to_string(fault_matrix::UnusedPort())};
    const auto start = Clock::now();
    auto r = Backend::Open(c);
    ExpectFault("connection refused at start", r.status(), {Code::kUnavailable, Code::kDeadlineExceeded},
                {"is the locker running"}, Clock::now() - start, kTotal + kSlack);
  }
  {  // TCP accepted, TLS never answered
    fault_matrix::SilentListener silent;
    ASSERT_GT(silent.port(), 0);
    Config c = MakeConfig();
    c.http.endpoints = {"https://127.0.0.1:" + std::to_string(silent.port())};
    const auto start = Clock::now();
    auto r = Backend::Open(c);
    ExpectFault("accept then hang", r.status(), {Code::kDeadlineExceeded, Code::kUnavailable},
                {"total_ms", "timed out", "timeout"}, Clock::now() - start, kTotal + kSlack);
  }
}

TEST_F(FaultMatrixTest, TlsCertificateProblems) {
  struct Case {
    std::string name;
    const char* san;
    long not_before, not_after;
    std::string word;
  };
  const std::vector<Case> cases = {
      {"TLS wrong hostname", "DNS:wrong.example", -3600, 86400, "names host '127.0.0.1'"},
      {"TLS expired certificate", "IP:127.0.0.1,DNS:localhost", -2 * 86400, -86400, "expired"},
  };
  for (const auto& tc : cases) {
    const std::string tls = dir_ + "/tls-" + std::to_string(&tc - cases.data());
    std::filesystem::create_directories(tls);
    ASSERT_TRUE(fault_matrix::MakeTlsDir(tls, tc.san, tc.not_before, tc.not_after));
    fault_matrix::RawDevLocker bad(tls, locker_->root_token());
    ASSERT_GT(bad.port(), 0) << tc.name << ": devlocker did not start";
    Config c = MakeConfig();
    c.http.endpoints = {"https://127.0.0.1:" + std::to_string(bad.port())};
    c.http.tls.ca_file = tls + "/ca.pem";
    const auto start = Clock::now();
    auto r = Backend::Open(c);
    ExpectFault(tc.name, r.status(), {Code::kFailedPrecondition}, {tc.word}, Clock::now() - start, kTotal + kSlack);
    EXPECT_NE(r.status().message().find("tls.ca_file"), std::string::npos) << "names the option to fix";
  }
  // Unknown CA: the real locker, but trusting a CA that did not sign it.
  const std::string other = dir_ + "/tls-other";
  std::filesystem::create_directories(other);
  ASSERT_TRUE(fault_matrix::MakeTlsDir(other, "IP:127.0.0.1", -3600, 86400));
  Config c = MakeConfig();
  c.http.tls.ca_file = other + "/ca.pem";
  const auto start = Clock::now();
  auto r = Backend::Open(c);
  ExpectFault("TLS unknown CA", r.status(), {Code::kFailedPrecondition}, {"tls.ca_file"}, Clock::now() - start,
              kTotal + kSlack);
}

TEST_F(FaultMatrixTest, WrongKeyMaterialIsRefused) {
  auto b = OpenWithKeys(MakeConfig());
  ASSERT_NE(b, nullptr);
  {  // the document says 32 bytes, Transit gives back 16
    PutDocument("short", Document("short", 32, Encrypt("keyring_locker", 16)));
    const auto start = Clock::now();
    auto r = b->keys().Get("short", 1);
    ExpectFault("wrong key length", r.status(), {Code::kDataLoss}, {"unwrapped length 16 != 32"},
                Clock::now() - start, kTotal);
  }
  {  // wrapped by a different Transit key (a document copied from elsewhere)
    ASSERT_LT(locker_->Call("POST", "transit/keys/other", json{{"type", "aes256-gcm96"}}).status, 300);
    PutDocument("foreign", Document("foreign", 32, Encrypt("other", 32)));
    const auto start = Clock::now();
    auto r = b->keys().Get("foreign", 1);
    ExpectFault("ciphertext of another key", r.status(), {Code::kInvalidArgument, Code::kDataLoss},
                {"unwrapping key foreign"}, Clock::now() - start, kTotal);
  }
  {  // a document with a field of the wrong type (edited by hand)
    json doc = Document("typed", 32, Encrypt("keyring_locker", 32));
    doc["format"] = 1;
    PutDocument("typed", doc);
    const auto start = Clock::now();
    auto r = b->keys().Get("typed", 1);
    ExpectFault("document field of wrong type", r.status(), {Code::kDataLoss},
                {"typed", "format"}, Clock::now() - start, kTotal);
  }
  {  // Transit answers 200 with plaintext that is not base64
    fault_matrix::TamperingHttpClient tamper(&b->http(), "/transit/decrypt/", [](HttpResponse* resp) {
      resp->body = R"({"data":{"plaintext":"!!not*base64!!"}})";
    });
    const auto start = Clock::now();
    auto r = FreshKeys(*b, &tamper)->Get("1", 2);
    ExpectFault("invalid base64 plaintext", r.status(), {Code::kDataLoss}, {"invalid base64"},
                Clock::now() - start, kTotal);
  }
  ExpectCachedStillServed(*b, "wrong key material");
}

TEST_F(FaultMatrixTest, TokenExpiringMidRun) {
  auto pol = locker_->Call("PUT", "sys/policies/acl/klk",
                           json{{"policy", "path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", "
                                           "\"list\"] }\npath \"transit/*\" { capabilities = [\"read\", "
                                           "\"update\"] }"}});
  // The KEK exists before the server's token is used, as docs/locker-setup.md
  // sets it up: the policy grants no "create" on transit/keys (Vault's, and
  // now the dev locker's, existence check tells create from update).
  ASSERT_LT(locker_->Call("POST", "transit/keys/keyring_locker", json{{"type", "aes256-gcm96"}}).status, 300);
  ASSERT_LT(pol.status, 300) << pol.body.dump();
  {  // a static token: no way to get another one, so a clear error
    auto t = locker_->Call("POST", "auth/token/create", json{{"policies", {"klk"}}, {"ttl", "1h"}});
    ASSERT_EQ(t.status, 200) << t.body.dump();
    const std::string token = t.body["auth"]["client_token"].get<std::string>();
    Config c = MakeConfig(token);
    c.vault.kv_version = 2;  // sys/ is root-only on the dev locker
    auto b = OpenWithKeys(c);
    ASSERT_NE(b, nullptr);
    locker_->InjectFault({{"action", "expire_tokens"}});
    const auto start = Clock::now();
    auto r = FreshKeys(*b)->Get("1", 2);
    ExpectFault("static token expired", r.status(), {Code::kPermissionDenied, Code::kUnauthenticated},
                {"token"}, Clock::now() - start, kTotal + kSlack, {token});
    ExpectCachedStillServed(*b, "static token expired");
  }
  {  // AppRole: logs in again by itself and carries on
    ASSERT_LT(locker_->Call("POST", "auth/approle/role/db1", {{"token_ttl", 600}, {"token_policies", {"klk"}}}).status,
              300);
    auto rid = locker_->Call("GET", "auth/approle/role/db1/role-id");
    auto sid = locker_->Call("POST", "auth/approle/role/db1/secret-id");
    ASSERT_EQ(sid.status, 200);
    Config c = MakeConfig();
    c.vault.kv_version = 2;
    c.auth.method = AuthOptions::Method::kAppRole;
    c.auth.token_file.clear();
    c.auth.role_id = rid.body["data"].value("role_id", "");
    c.auth.secret_id_file = SecretFile("secret_id", sid.body["data"].value("secret_id", ""));
    c.keys.scope = "fm/approle";
    auto b = OpenWithKeys(c);
    ASSERT_NE(b, nullptr);
    const uint64_t logins = b->status().auth.logins;
    locker_->InjectFault({{"action", "expire_tokens"}});
    const auto start = Clock::now();
    auto r = FreshKeys(*b)->Get("1", 2);
    std::printf("fault-matrix %-28s -> %s\n", "AppRole token expired", r.status().ToString().c_str());
    ASSERT_TRUE(r.ok()) << "AppRole re-login: " << r.status().ToString();
    EXPECT_LT(Clock::now() - start, kTotal + kSlack);
    EXPECT_GT(b->status().auth.logins, logins);
    auto v3 = b->keys().Rotate("1");
    EXPECT_TRUE(v3.ok()) << v3.status().ToString();
  }
}

TEST_F(FaultMatrixTest, LockerRestartAndFailover) {
  const int second_port = fault_matrix::UnusedPort();
  Config c = MakeConfig();
  c.http.endpoints = {locker_->url(), "https://127.0.0.1:" + std::to_string(second_port)};
  auto b = OpenWithKeys(c);
  ASSERT_NE(b, nullptr);
  {  // restart: every pooled connection is dead; the next request reconnects
    ASSERT_TRUE(locker_->Restart());
    const auto start = Clock::now();
    auto r = FreshKeys(*b)->Get("1", 2);
    std::printf("fault-matrix %-28s -> %s\n", "locker restart", r.status().ToString().c_str());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_LT(Clock::now() - start, kTotal);
    EXPECT_TRUE(b->keys().Rotate("1").ok());
  }
  {  // failover: a second node on the same state takes over mid-run
    DevLocker::Options o;
    o.data_file = dir_ + "/state.json";
    o.tls_dir = locker_->tls_dir();
    o.port = second_port;
    auto second = DevLocker::Start(o);
    ASSERT_NE(second, nullptr);
    locker_->Stop();
    const auto start = Clock::now();
    auto r = FreshKeys(*b)->Get("1", 3);
    std::printf("fault-matrix %-28s -> %s\n", "failover to second locker", r.status().ToString().c_str());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_LT(Clock::now() - start, kTotal);
    EXPECT_EQ(b->status().http.active_endpoint, second->url());
    ExpectCachedStillServed(*b, "failover");
  }
}

}  // namespace
}  // namespace keyring_locker
