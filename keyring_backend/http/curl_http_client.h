// CurlHttpClient: the libcurl implementation of HttpClient (http_client.h
// lists the rules it follows). HttpClient::Create returns one of these.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "keyring_backend/http/curl_attempt.h"
#include "keyring_backend/http/curl_resources.h"
#include "keyring_backend/http/endpoint.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::http {

class CurlHttpClient final : public HttpClient {
 public:
  struct TestHooks {
    // CURLOPT_RESOLVE entries ("host:port:address"), so tests can reach a
    // local server under a name its certificate does not carry.
    std::vector<std::string> resolve;
    // CURLOPT_CONNECT_TO entries ("host:port:address:port"): the URL (and
    // so the Host header a signature covers) stays as given, the
    // connection goes to a local server.
    std::vector<std::string> connect_to;
  };

  static StatusOr<std::unique_ptr<CurlHttpClient>> Create(HttpOptions options,
                                                          TestHooks hooks = {});
  ~CurlHttpClient() override = default;

  StatusOr<HttpResponse> Send(const HttpRequest& request) override;
  HttpStats stats() const override;
  const HttpOptions& options() const override { return options_; }

  // One line for the server log (no secrets) and, when non-empty, a warning
  // the caller must log (TLS verification off).
  std::string Describe() const;
  std::string Warning() const;
  size_t idle_handles() const { return pool_->idle(); }

 private:
  CurlHttpClient(HttpOptions options, std::vector<Endpoint> endpoints, Slist resolve, Slist connect_to,
                 std::unique_ptr<SharedCache> shared);
  StatusOr<HttpResponse> SendOnce(const HttpRequest& request);
  StatusOr<Slist> BuildHeaders(const HttpRequest& request) const;
  Status TransportError(const AttemptResult& r, const Endpoint& ep) const;
  int FindEndpoint(const Endpoint& origin) const;

  const HttpOptions options_;
  const std::vector<Endpoint> endpoints_;
  const Slist resolve_;
  const Slist connect_to_;
  // Declared before the pool: members die in reverse order, and the share
  // must outlive every easy handle attached to it.
  const std::unique_ptr<SharedCache> shared_;
  const std::unique_ptr<EasyHandlePool> pool_;

  std::atomic<size_t> active_{0};  // sticky: index of the last endpoint that answered
  std::atomic<uint64_t> requests_{0}, retries_{0}, failovers_{0}, errors_{0};
};

}  // namespace keyring_locker::http
