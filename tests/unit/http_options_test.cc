// HttpClient::Create validation: every bad option is named with its JSON
// name and a fix, before any connection is made.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>

#include "keyring_backend/http/curl_http_client.h"
#include "keyring_backend/http/retry_policy.h"

namespace keyring_locker {
namespace {

using std::chrono::milliseconds;

HttpOptions Valid() {
  HttpOptions o;
  o.endpoints = {"https://vault1.example.com:8200", "https://vault2.example.com:8200/"};
  return o;
}

void ExpectInvalid(const HttpOptions& o, const std::string& option, const std::string& fix) {
  auto c = HttpClient::Create(o);
  ASSERT_FALSE(c.ok()) << "accepted, expected an error about " << option;
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(option), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find(fix), std::string::npos) << c.status().message();
}

TEST(HttpOptions, ValidOptionsCreateAClient) {
  auto c = HttpClient::Create(Valid());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->stats().active_endpoint, "https://vault1.example.com:8200");
}

TEST(HttpOptions, EndpointsAreChecked) {
  HttpOptions o = Valid();
  o.endpoints.clear();
  ExpectInvalid(o, "locker.urls", "at least one");
  o = Valid();
  o.endpoints[1] = "http://vault2.example.com:8200";
  ExpectInvalid(o, "locker.urls[1]", "only https");
  o.endpoints[1] = "vault2.example.com:8200";
  ExpectInvalid(o, "locker.urls[1]", "https://host:port");
  o.endpoints[1] = "https://vault2.example.com:8200/v1/secret";
  ExpectInvalid(o, "locker.urls[1]", "give only the base");
  o.endpoints[1] = "https://vault2.example.com:8200?x=1";
  ExpectInvalid(o, "locker.urls[1]", "give only the base");
  o.endpoints[1] = "https://user:pw@vault2.example.com:8200";
  ExpectInvalid(o, "locker.urls[1]", "auth.");
  o.endpoints[1] = "https://VAULT1.example.com:8200";
  ExpectInvalid(o, "locker.urls[1]", "once");
  o.endpoints[1] = "https://[::1";
  ExpectInvalid(o, "locker.urls[1]", "not a valid URL");
}

TEST(HttpOptions, TlsFilesAndVersionAreChecked) {
  HttpOptions o = Valid();
  o.tls.ca_file = "/nonexistent/ca.pem";
  ExpectInvalid(o, "tls.ca_file", "fix the path");
  o = Valid();
  o.tls.ca_file = "/tmp";
  ExpectInvalid(o, "tls.ca_file", "regular file");
  o = Valid();
  o.tls.ca_dir = "/etc/hostname";
  ExpectInvalid(o, "tls.ca_dir", "directory");
  o = Valid();
  o.tls.client_key = "/etc/hostname";
  ExpectInvalid(o, "tls.client_key", "tls.client_cert");
  o = Valid();
  o.tls.client_cert = "/nonexistent/client.pem";
  ExpectInvalid(o, "tls.client_cert", "fix the path");
  o = Valid();
  o.tls.pinned_public_key = "/nonexistent/pin.pem";
  ExpectInvalid(o, "tls.pinned_public_key", "fix the path");
  o = Valid();
  o.tls.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_TRUE(HttpClient::Create(o).ok());
  o.tls.min_version = "1.1";
  ExpectInvalid(o, "tls.min_version", "\"1.2\" or \"1.3\"");
}

TEST(HttpOptions, TimeoutsRetriesAndLimitsAreChecked) {
  HttpOptions o = Valid();
  o.connect_timeout = milliseconds(0);
  ExpectInvalid(o, "timeouts.connect_ms", "> 0");
  o = Valid();
  o.total_timeout = milliseconds(-1);
  ExpectInvalid(o, "timeouts.total_ms", "> 0");
  o = Valid();
  o.connect_timeout = milliseconds(5000);
  o.total_timeout = milliseconds(1000);
  ExpectInvalid(o, "timeouts.connect_ms", "at least one connect");
  o = Valid();
  o.max_retries = 11;
  ExpectInvalid(o, "retries.max", "between 0 and 10");
  o.max_retries = -1;
  ExpectInvalid(o, "retries.max", "between 0 and 10");
  o = Valid();
  o.backoff_initial = milliseconds(500);
  o.backoff_max = milliseconds(100);
  ExpectInvalid(o, "retries.backoff_initial_ms", "smaller");
  o = Valid();
  o.max_response_bytes = 0;
  ExpectInvalid(o, "limits.max_response_bytes", "> 0");
}

TEST(HttpOptions, DescribeNamesTlsOffAndHidesSecrets) {
  HttpOptions o = Valid();
  o.tls.verify = false;
  o.tls.client_key_password = "hunter2-secret";
  auto c = http::CurlHttpClient::Create(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE((*c)->Describe().find("tls.verify=OFF"), std::string::npos);
  EXPECT_EQ((*c)->Describe().find("hunter2"), std::string::npos);
  EXPECT_NE((*c)->Warning().find("never use this in production"), std::string::npos);
  o.tls.verify = true;
  auto safe = http::CurlHttpClient::Create(o);
  ASSERT_TRUE(safe.ok());
  EXPECT_EQ((*safe)->Warning(), "");
}

TEST(RetryPolicy, BackoffIsCappedFullJitter) {
  for (int retry = 0; retry < 30; ++retry) {
    for (int i = 0; i < 50; ++i) {
      auto d = http::Backoff(retry, milliseconds(100), milliseconds(2000));
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), std::min<long long>(2000, 100LL << std::min(retry, 20)));
    }
  }
  // Jitter: 200 draws of a 2 s window are not all the same value.
  std::set<long long> seen;
  for (int i = 0; i < 200; ++i) seen.insert(http::Backoff(10, milliseconds(100), milliseconds(2000)).count());
  EXPECT_GT(seen.size(), 10u);
}

TEST(RetryPolicy, RetryAfterParsing) {
  EXPECT_EQ(http::ParseRetryAfter(" 3 ")->count(), 3000);
  EXPECT_EQ(http::ParseRetryAfter("0")->count(), 0);
  EXPECT_FALSE(http::ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(http::ParseRetryAfter("").has_value());
  EXPECT_FALSE(http::ParseRetryAfter("-1").has_value());
  EXPECT_FALSE(http::ParseRetryAfter("99999999999").has_value());
}

TEST(RetryPolicy, Classification) {
  using http::Disposition;
  EXPECT_EQ(http::Classify(429), Disposition::kRetrySame);
  EXPECT_EQ(http::Classify(412), Disposition::kRetrySame);
  EXPECT_EQ(http::Classify(503), Disposition::kFailover);
  EXPECT_EQ(http::Classify(502), Disposition::kFailover);
  EXPECT_EQ(http::Classify(500), Disposition::kFailover);
  EXPECT_EQ(http::Classify(307), Disposition::kRedirect);
  EXPECT_EQ(http::Classify(308), Disposition::kRedirect);
  for (long s : {200L, 204L, 400L, 403L, 404L, 405L, 501L, 301L})
    EXPECT_EQ(http::Classify(s), Disposition::kReturn) << s;
}

}  // namespace
}  // namespace keyring_locker
