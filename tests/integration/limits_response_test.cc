// Limit: "bounded memory for responses". A reply larger than
// limits.max_response_bytes is cut off while it streams in: the client stops
// reading at the cap instead of buffering the body first, so neither memory
// nor time grows with what the locker sends. Peak RSS is the witness; the
// test runs first in its own process, so the high-water mark is ours.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>

#include "keyring_backend/http/http_client.h"
#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;

long PeakRssKib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

TEST(LimitsResponse, BodyOverTheCapIsCutOffWithoutBufferingIt) {
  auto locker = testing::DevLocker::Start();
  ASSERT_NE(locker, nullptr);
  HttpOptions o;
  o.endpoints = {locker->url()};
  o.tls.ca_file = locker->ca_file();
  o.total_timeout = 20000ms;
  o.max_retries = 0;
  o.max_response_bytes = 1024 * 1024;
  auto client = HttpClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  constexpr long kBody = 512L * 1024 * 1024;  // what a runaway locker sends
  locker->InjectFault({{"action", "oversized"}, {"size_bytes", kBody}});
  const long peak_before = PeakRssKib();
  HttpRequest req;
  req.path = "/v1/secret/data/anything";
  req.headers = {{"X-Vault-Token", locker->root_token()}};
  const auto start = std::chrono::steady_clock::now();
  auto r = (*client)->Send(req);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("limits.max_response_bytes=1048576"), std::string::npos)
      << r.status().ToString();
  // The cap plus libcurl's and the TLS layer's buffers, nowhere near 512 MiB.
  EXPECT_LT(PeakRssKib() - peak_before, 32L * 1024) << "the client buffered the oversized body";
  // Stopping at 1 MiB is quick; reading 512 MiB through TLS is not.
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace keyring_locker
