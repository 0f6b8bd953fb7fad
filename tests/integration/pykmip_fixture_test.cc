// The PyKMIP fixture works from C++: the server answers captured KMIP
// requests over verified TLS with our client certificate, refuses the
// wrong CA in the handshake, keeps registered keys across Restart, hangs
// while paused and refuses connections once stopped.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/pykmip_fixture.h"

namespace keyring_locker::testing {
namespace {

std::string Hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

// TTLV items as the server writes them (tag, type, length, padded value).
const std::string kResponseMessage = Hex("42007b01");
const std::string kResultSuccess = Hex("42007f050000000400000000");
const std::string kProtocolMinor4 = Hex("42006b02000000040000000400000000");
const std::string kReasonAuthenticationNotSuccessful = Hex("42007e050000000400000003");
const std::string kUniqueIdentifierTag = Hex("42009407");

class PyKmipFixtureTest : public PyKmipTest {};

TEST_F(PyKmipFixtureTest, AnswersCapturedDiscoverVersions) {
  EXPECT_GT(server().port(), 0);
  EXPECT_GT(server().start_seconds(), 0.0);
  PyKmipServer::Exchange ex = server().Send(ReadHexCapture("discover_versions.request.hex"));
  ASSERT_TRUE(ex.ok) << ex.error;
  EXPECT_EQ(ex.response.substr(0, 4), kResponseMessage);
  EXPECT_NE(ex.response.find(kResultSuccess), std::string::npos);
  EXPECT_NE(ex.response.find(kProtocolMinor4), std::string::npos) << "KMIP 1.4 not offered";
}

TEST_F(PyKmipFixtureTest, RefusesClientCertificateOfAnotherCa) {
  PyKmipServer::ExchangeOptions wrong;
  wrong.cert = server().wrong_client_cert();
  wrong.key = server().wrong_client_key();
  PyKmipServer::Exchange ex = server().Send(ReadHexCapture("discover_versions.request.hex"), wrong);
  EXPECT_FALSE(ex.ok);
  EXPECT_NE(ex.error.find("handshake"), std::string::npos) << ex.error;
  EXPECT_NE(ex.error.find("unknown ca"), std::string::npos) << ex.error;
}

TEST_F(PyKmipFixtureTest, ClientWithoutClientAuthUsageIsRefusedPerRequest) {
  PyKmipServer::ExchangeOptions noeku;
  noeku.cert = server().noeku_client_cert();
  noeku.key = server().noeku_client_key();
  PyKmipServer::Exchange ex = server().Send(ReadHexCapture("discover_versions.request.hex"), noeku);
  ASSERT_TRUE(ex.ok) << ex.error;  // the handshake passes...
  EXPECT_NE(ex.response.find(kReasonAuthenticationNotSuccessful), std::string::npos);
}

TEST_F(PyKmipFixtureTest, RegisteredKeySurvivesRestartOnSamePort) {
  PyKmipServer::Exchange reg = server().Send(ReadHexCapture("register.request.hex"));
  ASSERT_TRUE(reg.ok) << reg.error;
  ASSERT_NE(reg.response.find(kResultSuccess), std::string::npos);
  const int port = server().port();
  ASSERT_TRUE(server().Restart());
  EXPECT_EQ(server().port(), port);
  // Locate by the captured Name + Object Group finds it after the restart.
  PyKmipServer::Exchange found = server().Send(ReadHexCapture("locate.request.hex"));
  ASSERT_TRUE(found.ok) << found.error;
  EXPECT_NE(found.response.find(kResultSuccess), std::string::npos);
  EXPECT_NE(found.response.find(kUniqueIdentifierTag), std::string::npos) << "Locate found nothing";
}

TEST_F(PyKmipFixtureTest, PausedServerHangsUntilResumed) {
  ASSERT_TRUE(server().Pause());
  PyKmipServer::ExchangeOptions quick;
  quick.timeout_ms = 1000;
  const auto began = std::chrono::steady_clock::now();
  PyKmipServer::Exchange ex = server().Send(ReadHexCapture("discover_versions.request.hex"), quick);
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_FALSE(ex.ok);
  EXPECT_NE(ex.error.find("handshake"), std::string::npos) << ex.error;  // connect itself succeeds
  EXPECT_LT(took, std::chrono::seconds(3));
  ASSERT_TRUE(server().Resume());
  PyKmipServer::Exchange after = server().Send(ReadHexCapture("discover_versions.request.hex"));
  EXPECT_TRUE(after.ok) << after.error;
}

TEST_F(PyKmipFixtureTest, StoppedServerRefusesConnections) {
  ASSERT_TRUE(server().Stop());
  PyKmipServer::Exchange ex = server().Send(ReadHexCapture("discover_versions.request.hex"));
  EXPECT_FALSE(ex.ok);
  EXPECT_NE(ex.error.find("connect"), std::string::npos) << ex.error;
  // The next test's SetUp restarts it.
}

}  // namespace
}  // namespace keyring_locker::testing
