// HttpClient: every byte keyring_locker sends to a locker goes through here.
// libcurl underneath, with the rules a client inside a database server needs:
// TLS verification always on unless explicitly disabled, one easy handle per
// thread (connection + TLS session reuse), a shared DNS/TLS-session cache,
// wall-time connect and total timeouts, bounded retries with backoff+jitter
// that honour Retry-After, failover across several endpoints, redirects only to
// configured https endpoints, and a response size cap.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace keyring_locker {

struct TlsOptions {
  bool verify = true;              // false only when the user says so; logged loudly
  std::string ca_file;             // PEM bundle; empty = system default store
  std::string ca_dir;              // hashed CA directory
  std::string client_cert;         // PEM, for mTLS / cert auth
  std::string client_key;          // PEM
  std::string client_key_password; // optional
  std::string pinned_public_key;   // "sha256//base64;sha256//..." or a PEM/DER path
  std::string min_version = "1.2"; // "1.2" or "1.3"
};

// What the client's errors call the service and its settings: the one
// client serves Vault, AWS KMS and Azure Key Vault, and the operator must
// be told the setting of the service that failed, not Vault's.
struct HttpNaming {
  std::string service = "the locker";
  std::string urls = "locker.urls";  // the setting that lists the endpoints
  std::string tls = "tls";           // the group of ca_file, ca_dir, client_cert, ...
};

struct HttpOptions {
  std::vector<std::string> endpoints;  // "https://host:port", tried in order; first that answers wins
  // Sent with every request, before the request's own headers: what a
  // locker protocol needs on each call (Vault: X-Vault-Namespace). The
  // client itself knows no locker.
  std::vector<std::pair<std::string, std::string>> fixed_headers;
  TlsOptions tls;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{10000};  // wall-time budget per Send(), all retries included
  int max_retries = 3;  // extra attempts after each endpoint was tried once (failover is not a retry)
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{2000};
  size_t max_response_bytes = 4 * 1024 * 1024;
  bool allow_plain_http = false;  // only for tests; https required otherwise
  // AWS Signature Version 4, done by libcurl (CURLOPT_AWS_SIGV4): the
  // service ("kms") and, for each endpoint in order, the region its
  // signatures are scoped to. Requests that carry aws_credentials are
  // signed with the region of the endpoint they go to, so a failover to
  // another region's endpoint is signed for that region.
  std::string aws_sigv4_service;
  std::vector<std::string> aws_sigv4_regions;
  HttpNaming naming;
};

struct HttpRequest {
  std::string method = "GET";       // GET, POST, PUT, DELETE, LIST
  std::string path;                 // after the endpoint, e.g. "/v1/secret/data/x"
  std::string body;                 // JSON; wiped after sending (may hold base64 key bytes)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. X-Vault-Token
  bool idempotent = true;           // false: never re-sent after the request may have arrived
  std::string content_type = "application/json";  // sent when the body is not empty
  // "ACCESS_KEY_ID:SECRET_ACCESS_KEY": sign with AWS SigV4 (see HttpOptions).
  // A secret: the caller owns and wipes it. A session token goes in
  // `headers` as X-Amz-Security-Token, which libcurl then signs.
  std::string aws_credentials;
  // The locker's own "come back later" that is not an HTTP 429 (AWS answers
  // throttling with 400 and a ThrottlingException body): true retries the
  // same endpoint with backoff, like a 429.
  std::function<bool(long status, const std::string& body)> throttled;
};

struct HttpResponse {
  long status = 0;
  std::string body;                 // capped at max_response_bytes
  std::string endpoint;             // which endpoint answered
  int attempts = 0;
  std::chrono::microseconds elapsed{0};
};

// Counters for status variables.
struct HttpStats {
  uint64_t requests = 0, retries = 0, failovers = 0, errors = 0;
  std::string active_endpoint;
};

class HttpClient {
 public:
  // Validates options (https-only, readable CA/cert files, ...). Calls
  // curl_global_init once per process.
  static StatusOr<std::unique_ptr<HttpClient>> Create(HttpOptions options);
  virtual ~HttpClient() = default;

  // Sends one logical request. Transport errors, 412, 429, 500, 502, 503 and
  // 307/308 are handled here (retry / failover / redirect); when retries run
  // out the last such response is returned, and any other HTTP status is
  // returned at once, for the caller to interpret (403, 404, 400...). Error
  // statuses: kUnavailable (no endpoint answered), kDeadlineExceeded (budget),
  // kResourceExhausted (body over the cap), kFailedPrecondition (TLS verify
  // failure: message names the CA/hostname problem and the option to fix).
  virtual StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
  virtual HttpStats stats() const = 0;
  virtual const HttpOptions& options() const = 0;
};

}  // namespace keyring_locker
