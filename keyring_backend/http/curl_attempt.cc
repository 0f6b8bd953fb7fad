#include "keyring_backend/http/curl_attempt.h"

#include <curl/header.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>

#include "keyring_backend/http/retry_policy.h"

namespace keyring_locker::http {
namespace {

// A trickling locker (bytes arriving slower than this for kLowSpeedTime) is
// cut off early instead of pinning a server thread for the whole budget.
constexpr long kLowSpeedLimitBytes = 64;
constexpr long kLowSpeedTimeSeconds = 5;
constexpr size_t kInitialBodyReserve = 16 * 1024;

struct BodySink {
  std::string* body;
  size_t cap;
  bool over_cap = false;
};

// Grows the body by hand so that no reallocation leaves an unwiped copy of
// earlier bytes on the heap (std::string growth would free it as is).
size_t WriteBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* sink = static_cast<BodySink*>(userp);
  const size_t n = size * nmemb;
  std::string& body = *sink->body;
  if (n > sink->cap || body.size() > sink->cap - n) {
    sink->over_cap = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  if (body.size() + n > body.capacity()) {
    std::string bigger;
    bigger.reserve(std::max({body.size() + n, body.capacity() * 2, kInitialBodyReserve}));
    bigger.append(body);
    WipeString(&body);
    body.swap(bigger);
  }
  body.append(data, n);
  return n;
}

#define KLK_SETOPT(opt, val)                                                              \
  do {                                                                                    \
    CURLcode klk_rc_ = curl_easy_setopt(h, opt, val);                                     \
    if (klk_rc_ != CURLE_OK)                                                              \
      return Internal(std::string("libcurl rejected option " #opt ": ") +                 \
                      curl_easy_strerror(klk_rc_) +                                       \
                      "; this libcurl build lacks a feature keyring_locker needs");       \
  } while (0)

Status SetMethod(CURL* h, const HttpRequest& req) {
  const bool has_body = !req.body.empty();
  // CURLOPT_POSTFIELDS points at the caller's buffer instead of copying it
  // (COPYPOSTFIELDS), so the only copy of the body is the one the caller
  // owns and wipes.
  auto set_body = [&]() -> Status {
    KLK_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    KLK_SETOPT(CURLOPT_POSTFIELDS, req.body.data());
    return Status::Ok();
  };
  if (req.method == "GET" || req.method == "LIST") {
    // LIST goes out as GET ?list=true (the URL carries it, see Send()):
    // Vault accepts both, and proxies/servers that only know standard verbs
    // (cpp-httplib answers 400 to LIST) do not break it.
    KLK_SETOPT(CURLOPT_HTTPGET, 1L);
  } else if (req.method == "POST" || req.method == "PUT") {
    RETURN_IF_ERROR(set_body());
    if (req.method == "PUT") KLK_SETOPT(CURLOPT_CUSTOMREQUEST, "PUT");
  } else if (req.method == "DELETE") {
    if (has_body) RETURN_IF_ERROR(set_body());
    KLK_SETOPT(CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else {
    return InvalidArgument("HTTP method '" + req.method +
                           "' is not supported; use GET, POST, PUT, DELETE or LIST");
  }
  return Status::Ok();
}

// OpenSSL keeps the last received TLS record's plaintext (a Transit reply
// holds base64 key bytes) in its read buffer until the next record
// overwrites it; this option wipes it once handed over, and on SSL_free.
CURLcode CleansePlaintext(CURL*, void* ssl_ctx, void*) {
  SSL_CTX_set_options(static_cast<SSL_CTX*>(ssl_ctx), SSL_OP_CLEANSE_PLAINTEXT);
  return CURLE_OK;
}

Status SetTls(CURL* h, const TlsOptions& tls) {
  // Only libcurl built on OpenSSL offers the hook: elsewhere, best effort.
  curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, &CleansePlaintext);
  KLK_SETOPT(CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  KLK_SETOPT(CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty()) KLK_SETOPT(CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.ca_dir.empty()) KLK_SETOPT(CURLOPT_CAPATH, tls.ca_dir.c_str());
  if (!tls.client_cert.empty()) {
    KLK_SETOPT(CURLOPT_SSLCERT, tls.client_cert.c_str());
    KLK_SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!tls.client_key.empty()) {
    KLK_SETOPT(CURLOPT_SSLKEY, tls.client_key.c_str());
    KLK_SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (!tls.client_key_password.empty())
    KLK_SETOPT(CURLOPT_KEYPASSWD, tls.client_key_password.c_str());
  if (!tls.pinned_public_key.empty())
    KLK_SETOPT(CURLOPT_PINNEDPUBLICKEY, tls.pinned_public_key.c_str());
  KLK_SETOPT(CURLOPT_SSLVERSION,
             tls.min_version == "1.3" ? CURL_SSLVERSION_TLSv1_3 : CURL_SSLVERSION_TLSv1_2);
  return Status::Ok();
}

Status Configure(CURL* h, const AttemptSpec& s, BodySink* sink, char* errbuf) {
  // Reset drops the previous request's options but keeps the live
  // connection and TLS session, which is the point of pooling handles.
  curl_easy_reset(h);
  const HttpOptions& o = *s.options;
  KLK_SETOPT(CURLOPT_NOSIGNAL, 1L);
  KLK_SETOPT(CURLOPT_ERRORBUFFER, errbuf);
  KLK_SETOPT(CURLOPT_SHARE, s.share);
  KLK_SETOPT(CURLOPT_URL, s.url.c_str());
  KLK_SETOPT(CURLOPT_PROTOCOLS_STR, o.allow_plain_http ? "http,https" : "https");
  // HTTP/1.1 only: over HTTP/2 the token would pass through nghttp2, which
  // allocates outside libcurl's (wiping) allocator, and would sit in the HPACK
  // table of the pooled connection for its whole life. A handful of small
  // requests gains nothing from HTTP/2.
  KLK_SETOPT(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // Redirects are handled by Send(): libcurl would re-send X-Vault-Token to
  // whatever host the Location names.
  KLK_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  KLK_SETOPT(CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, s.timeout.count())));
  KLK_SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
             static_cast<long>(std::max<long long>(1, s.connect_timeout.count())));
  KLK_SETOPT(CURLOPT_LOW_SPEED_LIMIT, kLowSpeedLimitBytes);
  KLK_SETOPT(CURLOPT_LOW_SPEED_TIME, kLowSpeedTimeSeconds);
  KLK_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  KLK_SETOPT(CURLOPT_HTTPHEADER, s.headers);
  if (s.resolve != nullptr) KLK_SETOPT(CURLOPT_RESOLVE, s.resolve);
  if (s.connect_to != nullptr) KLK_SETOPT(CURLOPT_CONNECT_TO, s.connect_to);
  if (!s.request->aws_credentials.empty()) {
    // libcurl signs (host, x-amz-date, content-type and every header we
    // add) with the credentials given as user:password; it keeps its own
    // copy of them, in memory from the wiping allocator.
    KLK_SETOPT(CURLOPT_AWS_SIGV4, s.aws_sigv4.c_str());
    KLK_SETOPT(CURLOPT_USERPWD, s.request->aws_credentials.c_str());
  }
  KLK_SETOPT(CURLOPT_WRITEFUNCTION, &WriteBody);
  KLK_SETOPT(CURLOPT_WRITEDATA, sink);
  RETURN_IF_ERROR(SetTls(h, o.tls));
  return SetMethod(h, *s.request);
}

// True when the failure happened before any byte of the request could have
// reached the locker, so re-sending cannot duplicate a side effect.
bool SurelyNotReceived(CURL* h, CURLcode code) {
  if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT ||
      code == CURLE_SSL_CONNECT_ERROR)
    return true;
  long request_bytes = 0;
  curl_off_t pretransfer_us = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  return code == CURLE_OPERATION_TIMEDOUT && request_bytes == 0 && pretransfer_us == 0;
}

}  // namespace

Status PerformAttempt(CURL* h, const AttemptSpec& spec, AttemptResult* r) {
  *r = AttemptResult();
  BodySink sink{&r->body, spec.options->max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  Status configured = Configure(h, spec, &sink, errbuf);
  if (!configured.ok()) {
    curl_easy_reset(h);  // errbuf is on this stack frame: detach it
    return configured;
  }
  r->code = curl_easy_perform(h);
  r->over_cap = sink.over_cap;
  if (r->code != CURLE_OK) {
    r->error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(r->code);
    r->maybe_received = !SurelyNotReceived(h, r->code);
  } else {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_header* header = nullptr;
    if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &header) == CURLHE_OK &&
        header != nullptr && header->value != nullptr)
      r->retry_after = ParseRetryAfter(header->value);
    char* location = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr)
      r->redirect_url = location;
  }
  // The handle outlives this frame in the pool: drop pointers into it.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
  return Status::Ok();
}

}  // namespace keyring_locker::http
