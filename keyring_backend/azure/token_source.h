// TokenSource: bearer tokens for Key Vault from Microsoft Entra ID.
//  - client_secret / client_certificate: the OAuth 2.0 client credentials
//    grant at {authority_host}/{tenant}/oauth2/v2.0/token, scope
//    "<resource>/.default"; the secret file or the certificate (a signed
//    client assertion, client_assertion.h) is read again for each token, so
//    a rotated credential is picked up without a restart.
//  - managed_identity: the instance metadata service (IMDS), GET
//    /metadata/identity/oauth2/token with "Metadata: true". IMDS is plain
//    HTTP on a link-local address that never leaves the host, by Azure's
//    design; it is the one place plain HTTP is allowed (and it is refused
//    for any other address than a link-local or loopback one).
//
// A token is fetched on first use and again once two thirds of its lifetime
// have passed (as Vault tokens are renewed), under a lock with the caller's
// deadline; when that refresh fails, the old token serves until it expires.
// Key Vault answering 401 asks for a new token at once (Token(true)).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "keyring_backend/azure/azure_options.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::azure {

class TokenSource {
 public:
  using Clock = std::chrono::steady_clock;

  static StatusOr<std::unique_ptr<TokenSource>> Open(const AzureOptions& options);
  ~TokenSource();

  // A token to send as "Authorization: Bearer ...". The caller wipes its copy.
  // `renew`: the last one was refused (401), fetch a new one now.
  StatusOr<std::string> Token(bool renew);

  // The Key Vault resource the tokens are for ("https://vault.azure.net").
  const std::string& resource() const { return resource_; }
  std::string Describe() const;
  uint64_t fetches() const { return fetches_.load(); }

  // "https://vault.azure.net" for "https://x.vault.azure.net", and likewise
  // for the sovereign clouds' and Managed HSM's hosts; other hosts (a
  // private test server) get the public cloud's.
  static std::string ResourceFor(const std::string& vault_url);

 private:
  struct Fetched {
    std::string token;
    std::chrono::seconds lifetime{0};
  };
  TokenSource(AzureOptions options, std::unique_ptr<HttpClient> http, std::string resource);
  StatusOr<Fetched> Fetch();
  StatusOr<Fetched> FetchFromEntra();
  StatusOr<Fetched> FetchFromImds();
  // Wipes the reply's body (it holds the token) whatever the outcome.
  StatusOr<Fetched> ParseTokenReply(HttpResponse* response, const std::string& from);

  const AzureOptions options_;
  const std::unique_ptr<HttpClient> http_;  // the login endpoint, or IMDS
  const std::string resource_;
  std::timed_mutex mu_;
  std::string token_;  // guarded by mu_; wiped when replaced
  Clock::time_point refresh_at_{}, expires_at_{};
  std::atomic<uint64_t> fetches_{0};
};

}  // namespace keyring_locker::azure
