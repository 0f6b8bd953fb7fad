// AwsKmsClient: AWS KMS's JSON API (POST / with X-Amz-Target:
// TrentService.<Action>, application/x-amz-json-1.1) through the project's
// HTTP client: connection reuse, one budget per server call, backoff on
// throttling (KMS answers 400 ThrottlingException), the configured regions'
// endpoints tried in order, TLS verified. libcurl signs every request with
// SigV4 (CURLOPT_AWS_SIGV4) for the region of the endpoint it goes to,
// with credentials from the CredentialProvider.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "keyring_backend/aws/aws_credentials.h"
#include "keyring_backend/http/curl_http_client.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::aws {

struct KmsClientOptions {
  std::vector<std::string> regions;    // in order of preference
  std::vector<std::string> endpoints;  // one per region; empty: https://kms.<region>.amazonaws.com
  HttpOptions http;                    // timeouts, retries, limits, tls (endpoints are filled here)
  CredentialOptions credentials;
  http::CurlHttpClient::TestHooks hooks;  // tests only
};

// A reply's JSON, wiped when it goes (Decrypt answers carry key bytes).
struct KmsReply {
  nlohmann::json body;
  std::string endpoint;
  KmsReply() = default;
  KmsReply(KmsReply&&) = default;
  KmsReply& operator=(KmsReply&&) = default;
  ~KmsReply();
};

class AwsKmsClient {
 public:
  static StatusOr<std::unique_ptr<AwsKmsClient>> Open(KmsClientOptions options);

  // One KMS action ("Encrypt") with its JSON request; `body` is wiped once
  // sent. A KMS error becomes a Status naming the action, the error type and
  // the fix; `key` names the key in those messages.
  StatusOr<KmsReply> Call(const std::string& action, std::string body, const std::string& key);

  // "us-east-1 https://kms.us-east-1.amazonaws.com, ..." for messages and logs.
  std::string Describe() const;
  const std::vector<std::string>& regions() const { return regions_; }
  HttpClient& http() { return *http_; }
  CredentialProvider& credentials() { return *credentials_; }

 private:
  AwsKmsClient(std::vector<std::string> regions, std::unique_ptr<HttpClient> http,
               std::unique_ptr<CredentialProvider> credentials);
  Status ErrorFor(const std::string& action, long status, const nlohmann::json& body, const std::string& key,
                  const std::string& endpoint) const;

  const std::vector<std::string> regions_;
  const std::unique_ptr<HttpClient> http_;
  const std::unique_ptr<CredentialProvider> credentials_;
};

// The error type of a KMS reply ("ThrottlingException"), without the
// "namespace#" some services put before it; empty when there is none.
std::string KmsErrorType(const nlohmann::json& body);

}  // namespace keyring_locker::aws
