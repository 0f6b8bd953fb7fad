// SigV4 as keyring_locker sends it: libcurl signs (CURLOPT_AWS_SIGV4), our
// HTTP client wires it. moto checks no signature, so these cases send
// requests of AWS's published Signature Version 4 test suite through the
// client to a loopback listener and compare the Authorization header with
// the suite's. The date is the suite's: libcurl 7.88 signs with an
// X-Amz-Date header the caller gives (and then sends it twice, which AWS
// would not see in production: there the clock's date is used, sent once).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "keyring_backend/http/curl_http_client.h"
#include "tests/unit/http_test_server.h"

namespace keyring_locker {
namespace {

using ::testing::HasSubstr;

constexpr char kSuiteCredentials[] = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kSuiteDate[] = "20150830T123600Z";

struct Captured {
  std::mutex mu;
  std::string authorization, content_type, target, token;
  int requests = 0;
};

class SigV4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto capture = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(captured_.mu);
      captured_.authorization = req.get_header_value("Authorization");
      captured_.content_type = req.get_header_value("Content-Type");
      captured_.target = req.get_header_value("X-Amz-Target");
      captured_.token = req.get_header_value("X-Amz-Security-Token");
      ++captured_.requests;
      res.set_content("{}", "application/json");
    };
    server_.server().Get("/", capture);
    server_.server().Post("/", capture);
    server_.Start();
  }

  // A client for the suite's host, example.amazonaws.com on port 80 as the
  // URL says (so the signed Host header is the suite's), connected to the
  // loopback listener underneath.
  std::unique_ptr<http::CurlHttpClient> Client(const std::string& service, const std::string& region) {
    HttpOptions o;
    o.endpoints = {"http://example.amazonaws.com"};
    o.allow_plain_http = true;
    o.aws_sigv4_service = service;
    o.aws_sigv4_regions = {region};
    o.max_retries = 0;
    http::CurlHttpClient::TestHooks hooks;
    hooks.connect_to = {"example.amazonaws.com:80:127.0.0.1:" + std::to_string(server_.port())};
    auto c = http::CurlHttpClient::Create(std::move(o), hooks);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Sends `r` as the suite's request (service "service", us-east-1, its
  // credentials and date) and returns the Authorization header received.
  std::string SignedAsTheSuite(HttpRequest r) {
    auto client = Client("service", "us-east-1");
    if (client == nullptr) return "no client";
    r.headers.push_back({"X-Amz-Date", kSuiteDate});
    r.aws_credentials = kSuiteCredentials;
    auto resp = client->Send(r);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    std::lock_guard<std::mutex> lock(captured_.mu);
    return captured_.authorization;
  }

  testing::TestServer server_;
  Captured captured_;
};

TEST_F(SigV4Test, GetVanillaMatchesTheSuite) {
  HttpRequest r;
  r.path = "/";
  EXPECT_EQ(SignedAsTheSuite(std::move(r)),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_F(SigV4Test, PostFormUrlencodedMatchesTheSuite) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "Param1=value1";
  r.content_type = "application/x-www-form-urlencoded";
  // No "Expect:" header line on a signed request: libcurl would sign the
  // empty header without sending it (the signature would differ from AWS's).
  EXPECT_EQ(SignedAsTheSuite(std::move(r)),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST_F(SigV4Test, KmsRequestsSignTheTargetAndTheSessionToken) {
  auto client = Client("kms", "eu-west-1");
  ASSERT_NE(client, nullptr);
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = "{}";
  r.content_type = "application/x-amz-json-1.1";
  r.headers = {{"X-Amz-Target", "TrentService.Encrypt"}, {"X-Amz-Security-Token", "session-token"}};
  r.aws_credentials = kSuiteCredentials;
  ASSERT_TRUE(client->Send(r).ok());
  EXPECT_THAT(captured_.authorization, HasSubstr("/eu-west-1/kms/aws4_request, "));
  EXPECT_THAT(captured_.authorization,
              HasSubstr("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "));
  EXPECT_EQ(captured_.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(captured_.target, "TrentService.Encrypt");
  EXPECT_EQ(captured_.token, "session-token");
}

TEST_F(SigV4Test, UnsignedRequestsCarryNoAuthorization) {
  auto client = Client("kms", "eu-west-1");
  ASSERT_NE(client, nullptr);
  HttpRequest r;
  r.path = "/";
  ASSERT_TRUE(client->Send(r).ok());
  EXPECT_EQ(captured_.authorization, "");
}

TEST(SigV4OptionsTest, ASignedRequestNeedsARegionPerEndpoint) {
  HttpOptions o;
  o.endpoints = {"http://127.0.0.1:1", "http://127.0.0.1:2"};
  o.allow_plain_http = true;
  o.aws_sigv4_service = "kms";
  o.aws_sigv4_regions = {"eu-west-1"};
  auto client = http::CurlHttpClient::Create(std::move(o));
  ASSERT_TRUE(client.ok());
  HttpRequest r;
  r.aws_credentials = kSuiteCredentials;
  auto resp = (*client)->Send(r);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(resp.status().message(), ::testing::Not(HasSubstr("wJalr")));
}

}  // namespace
}  // namespace keyring_locker
