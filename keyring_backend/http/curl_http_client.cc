#include "keyring_backend/http/curl_http_client.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "keyring_backend/http/http_options_check.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/http/retry_policy.h"

namespace keyring_locker {

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<http::CurlHttpClient> client,
                   http::CurlHttpClient::Create(std::move(options)));
  return std::unique_ptr<HttpClient>(std::move(client));
}

namespace http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Idle handles kept warm; more concurrent Sends than this still work, their
// extra handles are just freed afterwards.
constexpr size_t kMaxIdleHandles = 16;
constexpr milliseconds kDeadlineSlack{10};

milliseconds Remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

bool IsTlsVerifyFailure(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE;
}

bool IsClientCertFailure(CURLcode c) {
  return c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_ENGINE_NOTFOUND ||
         c == CURLE_SSL_ENGINE_SETFAILED;
}

}  // namespace

StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(HttpOptions options,
                                                                 TestHooks hooks) {
  std::vector<Endpoint> endpoints;
  RETURN_IF_ERROR(ValidateHttpOptions(options, &endpoints));
  RETURN_IF_ERROR(EnsureCurlGlobalInit());
  ASSIGN_OR_RETURN(std::unique_ptr<SharedCache> shared, SharedCache::Create());
  Slist resolve, connect_to;
  for (auto [entries, list] : {std::pair{&hooks.resolve, &resolve}, std::pair{&hooks.connect_to, &connect_to}}) {
    for (const std::string& entry : *entries) {
      curl_slist* grown = curl_slist_append(list->get(), entry.c_str());
      if (grown == nullptr) return Internal("out of memory building the resolve list");
      list->release();
      list->reset(grown);
    }
  }
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(options), std::move(endpoints),
                                                            std::move(resolve), std::move(connect_to),
                                                            std::move(shared)));
}

CurlHttpClient::CurlHttpClient(HttpOptions options, std::vector<Endpoint> endpoints,
                               Slist resolve, Slist connect_to, std::unique_ptr<SharedCache> shared)
    : options_(std::move(options)),
      endpoints_(std::move(endpoints)),
      resolve_(std::move(resolve)),
      connect_to_(std::move(connect_to)),
      shared_(std::move(shared)),
      pool_(std::make_unique<EasyHandlePool>(kMaxIdleHandles)) {}

HttpStats CurlHttpClient::stats() const {
  HttpStats s;
  s.requests = requests_.load();
  s.retries = retries_.load();
  s.failovers = failovers_.load();
  s.errors = errors_.load();
  s.active_endpoint = endpoints_[active_.load() % endpoints_.size()].base;
  return s;
}

std::string CurlHttpClient::Describe() const { return DescribeHttpOptions(options_); }
std::string CurlHttpClient::Warning() const { return HttpOptionsWarning(options_); }

StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  ++requests_;
  // Nothing below is expected to throw, but an allocation failure must not
  // unwind into the database server.
  try {
    StatusOr<HttpResponse> result = SendOnce(request);
    if (!result.ok()) ++errors_;
    return result;
  } catch (const std::exception& e) {
    ++errors_;
    return Internal(std::string("HTTP client failed unexpectedly: ") + e.what());
  }
}

StatusOr<Slist> CurlHttpClient::BuildHeaders(const HttpRequest& request) const {
  std::vector<std::string> lines;
  // An empty "Expect:" stops libcurl from waiting for 100-continue on big
  // bodies. Not on a signed request: libcurl 7.88 signs the empty header
  // but never sends it, so AWS would compute another signature (signed
  // bodies here are a few KiB, far below libcurl's 1 MiB Expect threshold).
  if (request.aws_credentials.empty()) lines.push_back("Expect:");
  if (!request.body.empty()) lines.push_back("Content-Type: " + request.content_type);
  // Fixed headers first (options), then the request's own (e.g. the token).
  for (const auto* headers : {&options_.fixed_headers, &request.headers}) {
    for (const auto& [name, value] : *headers) {
      // The value may be a token: name only in the message.
      if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos)
        return InvalidArgument("request header '" + name.substr(0, 64) +
                               "' has an empty name or a CR/LF/colon in it; this is a bug in "
                               "the caller");
      lines.push_back(name + ": " + value);
    }
  }
  Slist list;
  for (std::string& line : lines) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    WipeString(&line);  // header lines may carry X-Vault-Token
    if (grown == nullptr) return Internal("out of memory building request headers");
    list.release();
    list.reset(grown);
  }
  return list;
}

int CurlHttpClient::FindEndpoint(const Endpoint& origin) const {
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (endpoints_[i].SameOrigin(origin)) return static_cast<int>(i);
  return -1;
}

Status CurlHttpClient::TransportError(const AttemptResult& r, const Endpoint& ep) const {
  const HttpNaming& name = options_.naming;
  if (IsTlsVerifyFailure(r.code))
    return FailedPrecondition("TLS verification of " + ep.base + " failed (" + r.error +
                              "); make " + name.tls + ".ca_file or " + name.tls + ".ca_dir hold the CA that signed "
                              + name.service + "'s certificate and check the certificate names host '" +
                              ep.host + "'");
  if (r.code == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
    return FailedPrecondition("public key of " + ep.base +
                              " does not match " + name.tls + ".pinned_public_key; update the pin if "
                              + name.service + "'s key was replaced, otherwise the connection is being "
                              "intercepted");
  if (IsClientCertFailure(r.code))
    return FailedPrecondition("client certificate could not be used (" + r.error +
                              "); check " + name.tls + ".client_cert and " + name.tls + ".client_key are PEM files that "
                              "match and " + name.tls + ".client_key_password is right");
  if (r.code == CURLE_COULDNT_CONNECT || r.code == CURLE_COULDNT_RESOLVE_HOST ||
      !r.maybe_received)
    return Unavailable("cannot connect to " + ep.base + ": " + r.error +
                       "; is " + name.service + " running and " + name.urls + " right?");
  if (r.code == CURLE_OPERATION_TIMEDOUT)
    return Unavailable("request to " + ep.base + " timed out: " + r.error +
                       "; " + name.service + " took the request but did not answer in time (overloaded, "
                       "hung or a slow network)");
  return Unavailable("request to " + ep.base + " failed: " + r.error +
                     "; " + name.service + " or the network dropped the exchange");
}

StatusOr<HttpResponse> CurlHttpClient::SendOnce(const HttpRequest& request) {
  const auto start = Clock::now();
  auto deadline = start + options_.total_timeout;
  // The server call this request belongs to may already have spent part of
  // its budget on earlier requests (operation_deadline.h).
  if (auto call = OperationDeadline::Current(); call && *call < deadline) deadline = *call;
  if (!request.aws_credentials.empty() &&
      (options_.aws_sigv4_service.empty() || options_.aws_sigv4_regions.size() != endpoints_.size()))
    return InvalidArgument("a request to sign with AWS SigV4 needs a service and one region per endpoint in "
                           "the HTTP options; this is a bug in the caller");
  ASSIGN_OR_RETURN(Slist headers, BuildHeaders(request));
  std::string path = request.path;
  if (request.method == "LIST")
    path += (path.find('?') == std::string::npos ? "?list=true" : "&list=true");
  PooledHandle handle(pool_.get());
  if (handle.get() == nullptr) return Internal("curl_easy_init failed (out of memory?)");

  const size_t n = endpoints_.size();
  size_t ep = active_.load() % n;
  std::vector<bool> tried(n, false);
  int attempts = 0, retries = 0, backoff_step = 0;
  Status last_error = Unavailable("no attempt was made");
  std::optional<HttpResponse> last_response;  // the last retryable HTTP answer
  const std::string total_ms = std::to_string(options_.total_timeout.count());
  auto deadline_error = [&](const std::string& why) {
    return DeadlineExceeded("no answer from " + options_.naming.service + " within timeouts.total_ms=" + total_ms +
                            " (" + std::to_string(attempts) + (attempts == 1 ? " attempt; " : " attempts; ") + why +
                            "); check " + options_.naming.service + "'s health or raise timeouts.total_ms");
  };
  auto finish = [&](AttemptResult* r) {
    HttpResponse resp;
    resp.status = r->status;
    resp.body.swap(r->body);
    resp.endpoint = endpoints_[ep].base;
    resp.attempts = attempts;
    resp.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    return resp;
  };

  // A node that accepts the connection and then hangs must not eat the whole
  // budget when there is a retry left to fail over with: one attempt gets at
  // most half the budget (never less than the connect timeout).
  const milliseconds attempt_cap =
      options_.max_retries > 0 ? std::max(options_.total_timeout / 2, options_.connect_timeout)
                               : options_.total_timeout;

  AttemptResult r;
  for (;;) {
    const milliseconds remaining = Remaining(deadline);
    if (remaining.count() <= 0) return deadline_error("last: " + last_error.message());
    AttemptSpec spec;
    spec.options = &options_;
    spec.share = shared_->get();
    spec.headers = headers.get();
    spec.resolve = resolve_.get();
    spec.connect_to = connect_to_.get();
    if (!request.aws_credentials.empty()) {
      spec.aws_sigv4 = "aws:amz:" + options_.aws_sigv4_regions[ep] + ":" + options_.aws_sigv4_service;
    }
    spec.request = &request;
    spec.url = endpoints_[ep].base + path;
    spec.timeout = std::min(remaining, attempt_cap);
    spec.connect_timeout = std::min(options_.connect_timeout, remaining);
    tried[ep] = true;
    ++attempts;
    RETURN_IF_ERROR(PerformAttempt(handle.get(), spec, &r));

    if (r.over_cap) {
      WipeString(&r.body);
      return ResourceExhausted("response from " + endpoints_[ep].base +
                               " exceeded limits.max_response_bytes=" +
                               std::to_string(options_.max_response_bytes) +
                               "; raise limits.max_response_bytes in the config file if the locker "
                               "legitimately returns more");
    }
    size_t next = ep;
    std::optional<milliseconds> wait;
    if (r.code != CURLE_OK) {
      Status err = TransportError(r, endpoints_[ep]);
      if (err.code() == Code::kFailedPrecondition) return err;
      // libcurl's own timer may fire a few ms before ours: that is still the budget.
      if (r.code == CURLE_OPERATION_TIMEDOUT && Remaining(deadline) < kDeadlineSlack)
        return deadline_error("last: " + err.message());
      if (r.maybe_received && !request.idempotent)
        return Unavailable(err.message() + "; the request may have reached " + options_.naming.service + ", so it "
                           "was not re-sent (not idempotent): check whether it took effect");
      last_error = std::move(err);
      // An HTTP answer seen earlier in this call (a sealed node, say) stays
      // the one reported: it says more than a dead standby's connect error.
      next = (ep + 1) % n;
    } else {
      const Disposition disposition = request.throttled && request.throttled(r.status, r.body)
                                          ? Disposition::kRetrySame
                                          : Classify(r.status);
      switch (disposition) {
        case Disposition::kReturn:
          active_.store(ep);
          return finish(&r);
        case Disposition::kRedirect: {
          if (r.redirect_url.empty()) return finish(&r);  // nothing to follow
          StatusOr<Endpoint> origin = ParseOrigin(r.redirect_url);
          const int j = origin.ok() ? FindEndpoint(*origin) : -1;
          if (j < 0) {
            WipeString(&r.body);
            return FailedPrecondition(
                "locker redirected to " + (origin.ok() ? origin->base : std::string("'?'")) +
                " which is not in " + options_.naming.urls + "; add it or fix the HA setup (the request was "
                "not re-sent there)");
          }
          next = static_cast<size_t>(j);
          wait = milliseconds(0);  // the active node is known: go now
          break;
        }
        case Disposition::kRetrySame:
          wait = r.retry_after;
          break;
        case Disposition::kFailover:
          // 503 means the node did not serve the request; a 500/502 may
          // have happened after a side effect.
          if (!request.idempotent && r.status != 503) return finish(&r);
          next = (ep + 1) % n;
          break;
      }
      if (last_response) WipeString(&last_response->body);
      last_response = finish(&r);
      last_error = Unavailable(endpoints_[ep].base + " answered HTTP " +
                               std::to_string(r.status));
    }

    // Trying each configured endpoint once is failover, not a retry: a dead
    // URL in locker.urls must not use up the retries of the live ones.
    const bool fresh_endpoint = !tried[next];
    if (!fresh_endpoint && retries >= options_.max_retries) {
      if (last_response) return std::move(*last_response);
      return last_error;
    }
    if (!wait) {
      // A fresh endpoint is tried at once; coming back to one already tried
      // in this call waits first, so a flapping cluster is not hammered.
      wait = tried[next] ? Backoff(backoff_step++, options_.backoff_initial, options_.backoff_max)
                         : milliseconds(0);
    }
    if (*wait >= Remaining(deadline)) {
      if (last_response) WipeString(&last_response->body);
      return deadline_error("the next retry would start after the budget ends; last: " +
                            last_error.message());
    }
    if (!fresh_endpoint) {
      ++retries;
      ++retries_;
    }
    if (next != ep) ++failovers_;
    if (wait->count() > 0) std::this_thread::sleep_for(*wait);
    ep = next;
  }
}

}  // namespace http
}  // namespace keyring_locker
