// One HTTP exchange on one easy handle: option setup, the capped body sink,
// and what Send() needs to decide about retries. No retry logic here.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::http {

struct AttemptSpec {
  const HttpOptions* options = nullptr;
  CURLSH* share = nullptr;
  curl_slist* headers = nullptr;  // owned by the caller, alive for the attempt
  curl_slist* resolve = nullptr;  // test hook (CURLOPT_RESOLVE); usually null
  const HttpRequest* request = nullptr;
  std::string url;  // endpoint base + request path
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds connect_timeout{0};
  std::string aws_sigv4;         // "aws:amz:<region>:<service>" when the request is signed
  curl_slist* connect_to = nullptr;  // test hook (CURLOPT_CONNECT_TO); usually null
};

struct AttemptResult {
  CURLcode code = CURLE_OK;
  std::string error;  // libcurl's description; names hosts, never headers
  long status = 0;
  std::string body;
  bool over_cap = false;      // body exceeded max_response_bytes
  bool maybe_received = true; // false only when the request surely never left
  std::optional<std::chrono::milliseconds> retry_after;
  std::string redirect_url;   // absolute Location of a 3xx, resolved by libcurl
};

// Runs one attempt. Returns a non-OK Status only when the handle cannot be
// configured (a libcurl build missing a required feature).
Status PerformAttempt(CURL* handle, const AttemptSpec& spec, AttemptResult* result);

// Response bodies may hold base64 key material (Transit decrypt, KV reads):
// wipe them before release.
using crypto::WipeString;

}  // namespace keyring_locker::http
