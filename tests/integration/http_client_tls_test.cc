// HttpClient over real TLS against the dev locker: verification, wrong CA,
// hostname mismatch, mTLS, public-key pinning, and connection/TLS reuse.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "keyring_backend/http/curl_http_client.h"
#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker {
namespace {

using testing::DevLocker;
using Clock = std::chrono::steady_clock;

// "sha256//<base64 of SHA-256 of the DER SubjectPublicKeyInfo>" of a PEM
// certificate: the pin format libcurl's CURLOPT_PINNEDPUBLICKEY takes.
std::string PinOf(const std::string& cert_pem_path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(cert_pem_path.c_str(), "r"), &std::fclose);
  if (!f) return "";
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                              &X509_free);
  if (!cert) return "";
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  if (len <= 0) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  EVP_Digest(der, static_cast<size_t>(len), digest, &dlen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char b64[128];
  const int blen = EVP_EncodeBlock(b64, digest, static_cast<int>(dlen));
  return "sha256//" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(blen));
}

class HttpClientTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { locker_ = DevLocker::Start().release(); }
  static void TearDownTestSuite() {
    delete locker_;
    locker_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(locker_, nullptr) << "devlocker did not start"; }

  HttpOptions Options() const {
    HttpOptions o;
    o.endpoints = {locker_->url()};
    o.tls.ca_file = locker_->ca_file();
    o.total_timeout = std::chrono::milliseconds(5000);
    return o;
  }
  static StatusOr<HttpResponse> Health(HttpClient* c) {
    HttpRequest r;
    r.path = "/v1/sys/health";
    return c->Send(r);
  }
  static DevLocker* locker_;
};
DevLocker* HttpClientTls::locker_ = nullptr;

// The protocols the last client offered in its TLS ALPN extension, in the
// wire format (length-prefixed names), for the test below.
std::string g_offered_alpn;

int RecordAlpnAndPickHttp11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                            unsigned int inlen, void*) {
  g_offered_alpn.assign(reinterpret_cast<const char*>(in), inlen);
  static const unsigned char kHttp11[] = "\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kHttp11, sizeof(kHttp11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Vault and OpenBao speak HTTP/2 when offered it. Over HTTP/2 the token would
// go through nghttp2, which libcurl gives no allocator (so our wiping one
// never sees those copies), and into the HPACK table of a pooled connection
// for its whole life. The client therefore offers HTTP/1.1 only.
TEST_F(HttpClientTls, OffersHttp11OnlySoTheTokenNeverEntersAnHpackTable) {
  const std::string dir = locker_->tls_dir();
  httplib::SSLServer server([&](SSL_CTX& ctx) {
    SSL_CTX_set_alpn_select_cb(&ctx, &RecordAlpnAndPickHttp11, nullptr);
    return SSL_CTX_use_certificate_chain_file(&ctx, (dir + "/server.pem").c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, (dir + "/server-key.pem").c_str(), SSL_FILETYPE_PEM) == 1;
  });
  ASSERT_TRUE(server.is_valid());
  server.set_keep_alive_max_count(1);  // closes after the reply: stop() need not wait out keep-alive
  server.Get("/v1/sys/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  HttpOptions o = Options();
  o.endpoints = {"https://127.0.0.1:" + std::to_string(port)};
  auto c = HttpClient::Create(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = Health(c->get());
  server.stop();
  serving.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(g_offered_alpn.find("http/1.1"), std::string::npos);
  EXPECT_EQ(g_offered_alpn.find("h2"), std::string::npos) << "the client offered HTTP/2";
}

TEST_F(HttpClientTls, VerifiedTlsWorks) {
  auto c = HttpClient::Create(Options());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = Health(c->get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  EXPECT_EQ(body.value("sealed", true), false) << r->body;
}

TEST_F(HttpClientTls, WrongCaIsRefused) {
  // Another devlocker's CA: a valid CA that did not sign this server.
  auto other = DevLocker::Start();
  ASSERT_NE(other, nullptr);
  HttpOptions o = Options();
  o.tls.ca_file = other->ca_file();
  auto c = HttpClient::Create(o);
  ASSERT_TRUE(c.ok());
  auto r = Health(c->get());
  ASSERT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("tls.ca_file"), std::string::npos);
}

TEST_F(HttpClientTls, HostnameMismatchIsRefused) {
  // The certificate names 127.0.0.1 and localhost; reach the same server as
  // "wronghost" through CURLOPT_RESOLVE.
  HttpOptions o = Options();
  const std::string port = std::to_string(locker_->port());
  o.endpoints = {"https://wronghost:" + port};
  http::CurlHttpClient::TestHooks hooks;
  hooks.resolve = {"wronghost:" + port + ":127.0.0.1"};
  auto c = http::CurlHttpClient::Create(o, hooks);
  ASSERT_TRUE(c.ok());
  auto r = Health(c->get());
  ASSERT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("wronghost"), std::string::npos);
}

TEST_F(HttpClientTls, PinnedKeyMatchesAndMismatchIsRefused) {
  HttpOptions o = Options();
  o.tls.pinned_public_key = PinOf(locker_->tls_dir() + "/server.pem");
  ASSERT_EQ(o.tls.pinned_public_key.size(), 8u + 44u);
  auto good = HttpClient::Create(o);
  ASSERT_TRUE(good.ok());
  auto ok = Health(good->get());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);

  o.tls.pinned_public_key = PinOf(locker_->client_cert());  // some other key
  auto bad = HttpClient::Create(o);
  ASSERT_TRUE(bad.ok());
  auto refused = Health(bad->get());
  ASSERT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("tls.pinned_public_key"), std::string::npos);
}

TEST_F(HttpClientTls, ClientCertificateIsPresented) {
  // Register the client certificate with cert auth; a login succeeds only if
  // the TLS connection carried it.
  std::string pem;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(locker_->client_cert().c_str(), "r"), &std::fclose);
    ASSERT_TRUE(f);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) pem.append(buf, n);
  }
  auto reg = locker_->Call("POST", "auth/cert/certs/tls-test",
                           {{"certificate", pem}, {"token_policies", {"default"}}});
  ASSERT_LT(reg.status, 300) << reg.body.dump();
  HttpRequest login;
  login.method = "POST";
  login.path = "/v1/auth/cert/login";
  login.body = R"({"name":"tls-test"})";

  auto anonymous = HttpClient::Create(Options());
  ASSERT_TRUE(anonymous.ok());
  auto refused = (*anonymous)->Send(login);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_GE(refused->status, 400);

  HttpOptions o = Options();
  o.tls.client_cert = locker_->client_cert();
  o.tls.client_key = locker_->client_key();
  auto mtls = HttpClient::Create(o);
  ASSERT_TRUE(mtls.ok()) << mtls.status().ToString();
  auto r = (*mtls)->Send(login);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
}

// TLS handshakes the devlocker has completed so far.
int64_t Handshakes(DevLocker* locker) {
  nlohmann::json st = locker->Stats();
  if (st.contains("data")) st = st["data"];
  return st.value("tls_handshakes", int64_t{-1});
}

TEST_F(HttpClientTls, ReusesConnectionsAndTlsSessions) {
  constexpr int kReused = 100, kFresh = 20;
  auto c = HttpClient::Create(Options());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Health(c->get()).ok());  // warm up: first handshake
  const int64_t h0 = Handshakes(locker_);
  auto t0 = Clock::now();
  for (int i = 0; i < kReused; ++i) ASSERT_EQ(Health(c->get())->status, 200);
  const double reused_us =
      std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kReused;
  const int64_t h1 = Handshakes(locker_);

  t0 = Clock::now();
  for (int i = 0; i < kFresh; ++i) {
    auto fresh = HttpClient::Create(Options());  // new pool + session cache: full handshake
    ASSERT_EQ(Health(fresh->get())->status, 200);
  }
  const double fresh_us =
      std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kFresh;
  const int64_t h2 = Handshakes(locker_);
  std::printf("[ MEASURE  ] GET sys/health, one client: %.0f us/round trip, %lld TLS handshakes "
              "for %d requests; new client per request: %.0f us, %lld handshakes for %d\n",
              reused_us, static_cast<long long>(h1 - h0), kReused, fresh_us,
              static_cast<long long>(h2 - h1), kFresh);
  ASSERT_GE(h0, 0) << "devlocker stats have no tls_handshakes";
  // Reuse: far fewer handshakes than requests (cpp-httplib servers close a
  // keep-alive connection after 5 requests by default, so up to one per 5).
  EXPECT_LE(h1 - h0, kReused / 4);
  EXPECT_GE(h2 - h1, kFresh);  // the control: no reuse across clients
}

}  // namespace
}  // namespace keyring_locker
