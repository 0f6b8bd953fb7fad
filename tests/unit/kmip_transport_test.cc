// KmipTransport against an in-process TLS server on 127.0.0.1: framing,
// connection reuse, mutual TLS, certificate and host name errors, time
// limits, size limits, failover, reconnects, delivery reporting, threads.
#include "keyring_backend/kmip/kmip_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "keyring_backend/http/operation_deadline.h"
#include "tests/unit/kmip_test_server.h"

namespace keyring_locker::kmip {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using keyring_locker::testing::RefusingPort;
using keyring_locker::testing::ServerBehavior;
using keyring_locker::testing::TestPki;
using keyring_locker::testing::TestServerOptions;
using keyring_locker::testing::TlsTestServer;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A framed message: a RequestMessage header and `body` bytes (a multiple
// of 8) of a pattern that depends on `seed`.
crypto::SecureBuffer Message(size_t body, uint32_t seed) {
  crypto::SecureBuffer m(8 + body);
  uint8_t* p = m.data();
  p[0] = 0x42, p[1] = 0x00, p[2] = 0x78, p[3] = 0x01;
  p[4] = static_cast<uint8_t>(body >> 24), p[5] = static_cast<uint8_t>(body >> 16);
  p[6] = static_cast<uint8_t>(body >> 8), p[7] = static_cast<uint8_t>(body);
  for (size_t i = 0; i < body; ++i) p[8 + i] = static_cast<uint8_t>(seed * 131 + i * 7);
  return m;
}

long long MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

class KmipTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/klk_kmip_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    pki_ = new TestPki();
    ASSERT_TRUE(pki_->Make(tmpl)) << "could not make test certificates";
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf " + pki_->dir).c_str());
    delete pki_;
    pki_ = nullptr;
  }

  static TestServerOptions Server(std::vector<ServerBehavior> script = {ServerBehavior::kEcho}) {
    TestServerOptions o;
    o.cert = pki_->server_cert;
    o.key = pki_->server_key;
    o.client_ca = pki_->ca;
    o.script = std::move(script);
    return o;
  }

  static KmipTransportOptions Client(std::vector<std::string> servers) {
    KmipTransportOptions o;
    o.servers = std::move(servers);
    o.ca_file = pki_->ca;
    o.cert_file = pki_->client_cert;
    o.key_file = pki_->client_key;
    o.connect_timeout = milliseconds(2000);
    o.io_timeout = milliseconds(5000);
    return o;
  }

  static std::unique_ptr<KmipTransport> MustCreate(const KmipTransportOptions& o) {
    auto t = KmipTransport::Create(o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(t).value() : nullptr;
  }

  static TestPki* pki_;
};
TestPki* KmipTransportTest::pki_ = nullptr;

TEST_F(KmipTransportTest, EchoesFramedMessagesOfEverySize) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  const size_t sizes[] = {0, 8, 4096, 16384, 100000, 1024 * 1024 - 8};
  for (size_t body : sizes) {
    crypto::SecureBuffer request = Message(body, static_cast<uint32_t>(body));
    Delivery delivery = Delivery::kNotSent;
    auto response = t->RoundTrip(request, &delivery);
    ASSERT_TRUE(response.ok()) << body << ": " << response.status().ToString();
    EXPECT_TRUE(response->Equals(request)) << body;
    EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
  }
  const KmipTransportStats s = t->stats();
  EXPECT_EQ(s.requests, std::size(sizes));
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.connects, 1u);
  EXPECT_EQ(s.active_server, server.address());
  EXPECT_EQ(server.requests(), static_cast<int>(std::size(sizes)));
}

TEST_F(KmipTransportTest, ReusesOneConnectionAcrossHundredCalls) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  for (uint32_t i = 0; i < 100; ++i) {
    crypto::SecureBuffer request = Message(64, i);
    auto response = t->RoundTrip(request, nullptr);
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
    ASSERT_TRUE(response->Equals(request));
  }
  EXPECT_EQ(server.accepts(), 1);
  EXPECT_EQ(server.handshakes(), 1);
  EXPECT_EQ(t->stats().connects, 1u);
  EXPECT_EQ(t->stats().reconnects, 0u);
}

TEST_F(KmipTransportTest, ServerRequiringClientCertificateRefusesClientWithoutOne) {
  // TLS 1.3 (the server's refusal arrives after our side of the handshake)
  // and TLS 1.2 (it ends the handshake itself).
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
    TestServerOptions so = Server();
    so.max_tls_version = version;
    TlsTestServer server(so);
    ASSERT_TRUE(server.ok());
    KmipTransportOptions o = Client({server.address()});
    o.cert_file.clear();
    o.key_file.clear();
    auto t = MustCreate(o);
    ASSERT_NE(t, nullptr);
    Delivery delivery = Delivery::kMaybeDelivered;
    auto response = t->RoundTrip(Message(16, 1), &delivery);
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
    EXPECT_THAT(response.status().message(), HasSubstr("kmip.cert_file"));
    EXPECT_THAT(response.status().message(), HasSubstr(server.address()));
    if (version == TLS1_3_VERSION) {
      EXPECT_THAT(response.status().message(), HasSubstr("certificate required"));
    } else {
      EXPECT_THAT(response.status().message(), HasSubstr("handshake failure"));
    }
    EXPECT_EQ(delivery, Delivery::kNotSent);
    EXPECT_EQ(server.handshakes(), 0);
    EXPECT_EQ(server.requests(), 0);
  }
}

TEST_F(KmipTransportTest, UnknownCaIsAClearError) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.ca_file = pki_->other_ca;
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  Delivery delivery = Delivery::kMaybeDelivered;
  auto response = t->RoundTrip(Message(16, 1), &delivery);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  const std::string& m = response.status().message();
  // "unable to get local issuer certificate" when the server sends its
  // certificate alone, "self-signed certificate in certificate chain" when
  // it adds its CA (OpenSSL servers do when the CA is in their store).
  EXPECT_THAT(m, HasSubstr("certificate verify failed: "));
  EXPECT_THAT(m, HasSubstr("unknown CA"));
  EXPECT_THAT(m, HasSubstr("kmip.ca_file"));
  EXPECT_THAT(m, HasSubstr(server.address()));
  EXPECT_THAT(m, HasSubstr("not sent"));
  EXPECT_EQ(delivery, Delivery::kNotSent);
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(t->stats().errors, 1u);
}

TEST_F(KmipTransportTest, HostNameMismatchIsAClearError) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.server_name = "kmip.example.com";
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  auto response = t->RoundTrip(Message(16, 1), nullptr);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("hostname mismatch"));
  EXPECT_THAT(response.status().message(), HasSubstr("'kmip.example.com'"));
  EXPECT_THAT(response.status().message(), HasSubstr("kmip.server_name"));
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(KmipTransportTest, IpAddressNotInCertificateIsAClearError) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.server_name = "127.0.0.2";  // the certificate names 127.0.0.1
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  auto response = t->RoundTrip(Message(16, 1), nullptr);
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("IP address mismatch"));
  EXPECT_THAT(response.status().message(), HasSubstr("IP address '127.0.0.2'"));
}

TEST_F(KmipTransportTest, ExpiredServerCertificateIsAClearError) {
  TestServerOptions so = Server();
  so.cert = pki_->expired_cert;
  TlsTestServer server(so);
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  auto response = t->RoundTrip(Message(16, 1), nullptr);
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("certificate has expired"));
  EXPECT_THAT(response.status().message(), HasSubstr("renew"));
}

TEST_F(KmipTransportTest, NamesAndSniFollowServerName) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  {  // a host name: looked up, verified, sent as SNI
    auto t = MustCreate(Client({"localhost:" + std::to_string(server.port())}));
    ASSERT_NE(t, nullptr);
    auto response = t->RoundTrip(Message(8, 1), nullptr);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(server.last_sni(), "localhost");
  }
  {  // an IP address: verified as an IP, no SNI (RFC 6066 forbids addresses)
    auto t = MustCreate(Client({server.address()}));
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->RoundTrip(Message(8, 1), nullptr).ok());
    EXPECT_EQ(server.last_sni(), "");
  }
  {  // an IP address with server_name: the name is verified and sent
    KmipTransportOptions o = Client({server.address()});
    o.server_name = "localhost";
    auto t = MustCreate(o);
    ASSERT_NE(t, nullptr);
    auto response = t->RoundTrip(Message(8, 1), nullptr);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(server.last_sni(), "localhost");
  }
}

TEST_F(KmipTransportTest, VerifyOffConnectsToAnyCertificateAndWarns) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  EXPECT_EQ(MustCreate(o)->warning(), "");
  o.ca_file = pki_->other_ca;
  o.server_name = "kmip.example.com";
  o.verify_peer = false;
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->warning(), HasSubstr("kmip.verify_peer is false"));
  EXPECT_THAT(t->warning(), HasSubstr("never use this in production"));
  EXPECT_THAT(t->Describe(), HasSubstr("kmip.verify_peer=OFF"));
  crypto::SecureBuffer request = Message(32, 9);
  auto response = t->RoundTrip(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(response->Equals(request));
}

TEST_F(KmipTransportTest, HungServerEndsAtTheCallDeadline) {
  TlsTestServer server(Server({ServerBehavior::kHang}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.io_timeout = milliseconds(30000);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  const auto start = Clock::now();
  Delivery delivery = Delivery::kNotSent;
  StatusOr<crypto::SecureBuffer> response = Status(Code::kInternal, "not run");
  {
    OperationDeadline budget(milliseconds(500));
    response = t->RoundTrip(Message(16, 1), &delivery);
  }
  const long long elapsed = MsSince(start);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kDeadlineExceeded) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("may have reached the server"));
  EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
  EXPECT_GE(elapsed, 480);
  EXPECT_LT(elapsed, 500 + 400);
}

TEST_F(KmipTransportTest, HungServerWithoutCallDeadlineEndsAtIoTimeout) {
  TlsTestServer server(Server({ServerBehavior::kHang}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.io_timeout = milliseconds(300);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  const auto start = Clock::now();
  Delivery delivery = Delivery::kNotSent;
  auto response = t->RoundTrip(Message(16, 1), &delivery);
  const long long elapsed = MsSince(start);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("kmip.io_timeout=300ms"));
  EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
  EXPECT_LT(elapsed, 300 + 400);
}

TEST_F(KmipTransportTest, ServerThatNeverSpeaksTlsEndsAtTheCallDeadline) {
  TlsTestServer server(Server({ServerBehavior::kSilent}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.connect_timeout = milliseconds(20000);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  const auto start = Clock::now();
  Delivery delivery = Delivery::kMaybeDelivered;
  StatusOr<crypto::SecureBuffer> response = Status(Code::kInternal, "not run");
  {
    OperationDeadline budget(milliseconds(400));
    response = t->RoundTrip(Message(16, 1), &delivery);
  }
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kDeadlineExceeded) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("TLS handshake"));
  EXPECT_EQ(delivery, Delivery::kNotSent);
  EXPECT_LT(MsSince(start), 400 + 400);
}

TEST_F(KmipTransportTest, SilentServerIsSkippedAfterConnectTimeout) {
  TlsTestServer silent(Server({ServerBehavior::kSilent}));
  TlsTestServer good(Server());
  ASSERT_TRUE(silent.ok() && good.ok());
  KmipTransportOptions o = Client({silent.address(), good.address()});
  o.connect_timeout = milliseconds(300);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  crypto::SecureBuffer request = Message(24, 3);
  auto response = t->RoundTrip(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(response->Equals(request));
  EXPECT_EQ(t->stats().failovers, 1u);
  EXPECT_EQ(t->stats().active_server, good.address());
}

TEST_F(KmipTransportTest, OversizedAnnouncedLengthIsRefusedWithoutReading) {
  TlsTestServer server(Server({ServerBehavior::kOversized}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.io_timeout = milliseconds(20000);  // reading the body would hang until this
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  const auto start = Clock::now();
  Delivery delivery = Delivery::kNotSent;
  auto response = t->RoundTrip(Message(16, 1), &delivery);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kResourceExhausted) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("2097160 bytes"));
  EXPECT_THAT(response.status().message(), HasSubstr("kmip.max_message_bytes=1048576"));
  EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
  EXPECT_LT(MsSince(start), 2000);
}

TEST_F(KmipTransportTest, TruncatedResponseIsReportedAsMaybeDelivered) {
  TlsTestServer server(Server({ServerBehavior::kTruncated}));
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  Delivery delivery = Delivery::kNotSent;
  auto response = t->RoundTrip(Message(16, 1), &delivery);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("after 24 of the 72 bytes"));
  EXPECT_THAT(response.status().message(), HasSubstr("truncated"));
  EXPECT_THAT(response.status().message(), HasSubstr("may have reached the server"));
  EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
}

TEST_F(KmipTransportTest, ResponseWithoutAKmipHeaderIsDataLoss) {
  TlsTestServer server(Server({ServerBehavior::kNotKmip}));
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  for (uint32_t i = 0; i < 2; ++i) {  // the second call needs a new connection
    Delivery delivery = Delivery::kNotSent;
    auto response = t->RoundTrip(Message(16, i), &delivery);
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), Code::kDataLoss) << response.status().ToString();
    EXPECT_THAT(response.status().message(), HasSubstr("is this port a KMIP server?"));
    EXPECT_EQ(delivery, Delivery::kMaybeDelivered);
  }
  EXPECT_EQ(server.accepts(), 2);
}

TEST_F(KmipTransportTest, FailsOverToTheNextServerWhenTheFirstRefuses) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  const std::string dead = "127.0.0.1:" + std::to_string(RefusingPort());
  auto t = MustCreate(Client({dead, server.address()}));
  ASSERT_NE(t, nullptr);
  for (uint32_t i = 0; i < 3; ++i) {
    crypto::SecureBuffer request = Message(40, i);
    auto response = t->RoundTrip(request, nullptr);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_TRUE(response->Equals(request));
  }
  const KmipTransportStats s = t->stats();
  EXPECT_EQ(s.failovers, 1u);
  EXPECT_EQ(s.connects, 1u);
  EXPECT_EQ(s.active_server, server.address());
  EXPECT_EQ(server.accepts(), 1);
}

TEST_F(KmipTransportTest, NoServerReachableNamesEveryServer) {
  const std::string a = "127.0.0.1:" + std::to_string(RefusingPort());
  const std::string b = "127.0.0.1:" + std::to_string(RefusingPort());
  auto t = MustCreate(Client({a, b}));
  ASSERT_NE(t, nullptr);
  Delivery delivery = Delivery::kMaybeDelivered;
  auto response = t->RoundTrip(Message(8, 1), &delivery);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable);
  EXPECT_THAT(response.status().message(),
              HasSubstr("KMIP server " + a + ": TCP connect failed (Connection refused)"));
  EXPECT_THAT(response.status().message(), HasSubstr("KMIP server " + b));
  EXPECT_EQ(delivery, Delivery::kNotSent);
}

TEST_F(KmipTransportTest, ReconnectsQuietlyAfterTheServerClosedAnIdleConnection) {
  TlsTestServer server(Server({ServerBehavior::kCloseAfterReply}));
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  for (uint32_t i = 0; i < 3; ++i) {
    crypto::SecureBuffer request = Message(16, i);
    Delivery delivery = Delivery::kNotSent;
    auto response = t->RoundTrip(request, &delivery);
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
    EXPECT_TRUE(response->Equals(request));
    // Let the server's close arrive, as it would during idle time.
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(server.accepts(), 3);
  EXPECT_EQ(t->stats().reconnects, 2u);
  EXPECT_EQ(t->stats().errors, 0u);
}

TEST_F(KmipTransportTest, ReplacesAConnectionIdleLongerThanIdleReconnect) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.idle_reconnect = milliseconds(80);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->RoundTrip(Message(8, 1), nullptr).ok());
  ASSERT_TRUE(t->RoundTrip(Message(8, 2), nullptr).ok());
  EXPECT_EQ(server.accepts(), 1);
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_TRUE(t->RoundTrip(Message(8, 3), nullptr).ok());
  EXPECT_EQ(server.accepts(), 2);
  EXPECT_EQ(t->stats().reconnects, 1u);
}

TEST_F(KmipTransportTest, ConnectionDroppedMidRequestIsNotSentAndRaisesNoSigpipe) {
  // 16 MiB cannot all sit in socket buffers: the write is still going when
  // the server resets the connection. SIGPIPE is not ignored on this thread.
  TlsTestServer server(Server({ServerBehavior::kDropMidRequest}));
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  Delivery delivery = Delivery::kMaybeDelivered;
  auto response = t->RoundTrip(Message(16 * 1024 * 1024, 5), &delivery);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
  EXPECT_THAT(response.status().message(), HasSubstr("while the request was being sent"));
  EXPECT_THAT(response.status().message(), HasSubstr("did not reach the server"));
  EXPECT_EQ(delivery, Delivery::kNotSent);
}

TEST_F(KmipTransportTest, WriteFailureOnAReusedConnectionIsSentOnceMoreOnAFreshOne) {
  TlsTestServer server(Server({ServerBehavior::kEchoOnceThenDropMidRequest, ServerBehavior::kEcho}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.max_message_bytes = 32 * 1024 * 1024;
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->RoundTrip(Message(8, 1), nullptr).ok());
  crypto::SecureBuffer big = Message(16 * 1024 * 1024, 6);
  Delivery delivery = Delivery::kNotSent;
  auto response = t->RoundTrip(big, &delivery);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(response->Equals(big));
  EXPECT_EQ(server.accepts(), 2);
  EXPECT_EQ(server.requests(), 2);  // the broken copy never counted as a request
  EXPECT_EQ(t->stats().reconnects, 1u);
}

TEST_F(KmipTransportTest, EightThreadsShareOneConnection) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (uint32_t n = 0; n < 8; ++n) {
    threads.emplace_back([&, n] {
      for (uint32_t i = 0; i < 50; ++i) {
        crypto::SecureBuffer request = Message(8 * (1 + (i % 40)), n * 1000 + i);
        auto response = t->RoundTrip(request, nullptr);
        if (!response.ok()) ++failures;
        else if (!response->Equals(request)) ++mismatches;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(server.accepts(), 1);
  EXPECT_EQ(t->stats().requests, 400u);
  EXPECT_EQ(server.requests(), 400);
}

TEST_F(KmipTransportTest, WaitingForABusyConnectionEndsAtTheCallDeadline) {
  TlsTestServer server(Server({ServerBehavior::kHang}));
  ASSERT_TRUE(server.ok());
  KmipTransportOptions o = Client({server.address()});
  o.io_timeout = milliseconds(1000);
  auto t = MustCreate(o);
  ASSERT_NE(t, nullptr);
  std::thread holder([&] { (void)t->RoundTrip(Message(8, 1), nullptr); });
  while (server.requests() == 0) std::this_thread::sleep_for(milliseconds(5));
  const auto start = Clock::now();
  Delivery delivery = Delivery::kMaybeDelivered;
  StatusOr<crypto::SecureBuffer> response = Status(Code::kInternal, "not run");
  {
    OperationDeadline budget(milliseconds(300));
    response = t->RoundTrip(Message(8, 2), &delivery);
  }
  EXPECT_LT(MsSince(start), 300 + 400);
  holder.join();
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::kDeadlineExceeded);
  EXPECT_THAT(response.status().message(), HasSubstr("waiting for the KMIP connection to KMIP server 127.0.0.1:"));
  EXPECT_EQ(delivery, Delivery::kNotSent);
}

TEST_F(KmipTransportTest, RequestThatIsNotOneFramedMessageIsRefused) {
  TlsTestServer server(Server());
  ASSERT_TRUE(server.ok());
  auto t = MustCreate(Client({server.address()}));
  ASSERT_NE(t, nullptr);
  crypto::SecureBuffer two = Message(8, 1);
  crypto::SecureBuffer longer(two.size() + 8);
  std::memcpy(longer.data(), two.data(), two.size());
  for (const crypto::SecureBuffer* bad : {&longer}) {
    auto r = t->RoundTrip(*bad, nullptr);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(t->RoundTrip(crypto::SecureBuffer(4), nullptr).status().code(), Code::kInvalidArgument);
  crypto::SecureBuffer not_structure = Message(8, 1);
  not_structure.data()[3] = 0x02;
  EXPECT_EQ(t->RoundTrip(not_structure, nullptr).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(server.accepts(), 0);
}

// ---- Create: options and files --------------------------------------------

class KmipTransportOptionsTest : public KmipTransportTest {};

// A file under the suite's temporary directory, with `mode`.
std::string WriteFile(const std::string& dir, const std::string& name, const std::string& content,
                      mode_t mode) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  return path;
}

Status CreateStatus(const KmipTransportOptions& o) {
  auto t = KmipTransport::Create(o);
  return t.ok() ? Status::Ok() : t.status();
}

TEST_F(KmipTransportOptionsTest, ServerAddressesAreChecked) {
  struct Case {
    std::vector<std::string> servers;
    const char* expected;
  } cases[] = {
      {{}, "kmip.servers is empty"},
      {{"https://kmip.example.com:5696"}, "has a scheme"},
      {{"2001:db8::1"}, "[2001:db8::1]:5696"},
      {{"kmip.example.com:70000"}, "not a number from 1 to 65535"},
      {{"kmip.example.com:"}, "port ''"},
      {{"[kmip.example.com]:5696"}, "not an IPv6 address"},
      {{"kmip one:5696"}, "no usable host name"},
      {{"a:5696", "A:5696"}, "kmip.servers[1] \"A:5696\" is listed twice"},
  };
  for (const Case& c : cases) {
    Status s = CreateStatus(Client(c.servers));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.expected;
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
  }
  // Accepted forms: the default port, bracketed IPv6.
  EXPECT_TRUE(CreateStatus(Client({"kmip.example.com", "[::1]:5696", "[::2]", "10.0.0.1:15696"})).ok());
}

TEST_F(KmipTransportOptionsTest, OtherSettingsAreChecked) {
  KmipTransportOptions o = Client({"127.0.0.1:5696"});
  o.min_tls_version = "1.1";
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("kmip.min_tls_version \"1.1\" is not supported"));
  o = Client({"127.0.0.1:5696"});
  o.key_file.clear();
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("kmip.cert_file is set without kmip.key_file"));
  o = Client({"127.0.0.1:5696"});
  o.io_timeout = milliseconds(0);
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("kmip.io_timeout must be > 0"));
  o = Client({"127.0.0.1:5696"});
  o.max_message_bytes = 8;
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("kmip.max_message_bytes 8 is outside"));
  o = Client({"127.0.0.1:5696"});
  o.server_name = "kmip.example.com:5696";
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("without a port"));
  o = Client({"127.0.0.1:5696"});
  o.option_prefix = "locker.kmip.";
  o.connect_timeout = milliseconds(-1);
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("locker.kmip.connect_timeout must be > 0"));
}

TEST_F(KmipTransportOptionsTest, TlsFilesAreChecked) {
  const std::string dir = pki_->dir + "/options";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  KmipTransportOptions o = Client({"127.0.0.1:5696"});
  o.ca_file = dir + "/missing.pem";
  Status s = CreateStatus(o);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("kmip.ca_file '" + o.ca_file + "' cannot be opened"));

  o.ca_file = dir;
  EXPECT_THAT(CreateStatus(o).message(), HasSubstr("is a directory, not a regular file"));

  o.ca_file = WriteFile(dir, "not-pem.pem", "hello\n", 0644);
  EXPECT_THAT(CreateStatus(o).message(),
              HasSubstr("kmip.ca_file '" + o.ca_file + "' holds no PEM certificate"));

  o = Client({"127.0.0.1:5696"});
  o.cert_file = WriteFile(dir, "not-cert.pem", "hello\n", 0644);
  EXPECT_THAT(CreateStatus(o).message(),
              HasSubstr("kmip.cert_file '" + o.cert_file + "' holds no PEM certificate"));

  o.cert_file = pki_->expired_client_cert;
  s = CreateStatus(o);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("kmip.cert_file '" + o.cert_file + "' expired on "));
  EXPECT_THAT(s.message(), HasSubstr("renewed client certificate"));

  // The key: group-readable, another certificate's, encrypted, garbage.
  o = Client({"127.0.0.1:5696"});
  std::string key_text;
  {
    std::ifstream in(pki_->client_key);
    key_text.assign(std::istreambuf_iterator<char>(in), {});
  }
  o.key_file = WriteFile(dir, "open-key.pem", key_text, 0640);
  s = CreateStatus(o);
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("chmod 600 " + o.key_file));

  o.key_file = pki_->server_key;
  s = CreateStatus(o);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("does not match the certificate in kmip.cert_file"));

  o.key_file = pki_->encrypted_client_key;
  s = CreateStatus(o);
  EXPECT_THAT(s.message(), HasSubstr("is encrypted (password-protected)"));

  const std::string secret = "Q0FOQVJZLWtleS1ieXRlcy1uZXZlci1pbi1tZXNzYWdlcw";
  o.key_file = WriteFile(dir, "garbage-key.pem",
                           "-----BEGIN PRIVATE KEY-----\n" + secret + "\n-----END PRIVATE KEY-----\n", 0600);
  s = CreateStatus(o);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("holds no PEM private key"));
  EXPECT_THAT(s.message(), Not(HasSubstr(secret)));

  o.key_file = pki_->client_key;
  EXPECT_TRUE(CreateStatus(o).ok());
  EXPECT_THAT(MustCreate(o)->Describe(), HasSubstr("kmip.key_file=(set)"));
}

}  // namespace
}  // namespace keyring_locker::kmip
