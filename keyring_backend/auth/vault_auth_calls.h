// The Vault/OpenBao auth endpoints keyring_locker uses, one function each:
// they send the request, map HTTP answers to Status with a fix, and parse the
// token grant. No state; VaultAuthenticator owns the token.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::auth {

// A token and what the locker says about its lifetime. The destructor wipes
// the token so grants dropped on error paths leave nothing behind.
struct TokenGrant {
  std::string token;
  std::chrono::seconds ttl{0};  // 0 = never expires
  bool renewable = false;
  TokenGrant() = default;
  TokenGrant(TokenGrant&&) = default;
  TokenGrant& operator=(TokenGrant&&) = default;
  ~TokenGrant();
};

// `source` describes where the token came from ("token file /etc/x") and
// `fix` what to do when the locker rejects it; both go into errors.
// On success the grant's token is `token`.
StatusOr<TokenGrant> LookupSelf(HttpClient* http, const std::string& token,
                                const std::string& source, const std::string& fix);

// POST auth/token/renew-self; increment 0 = the token's default.
StatusOr<TokenGrant> RenewSelf(HttpClient* http, const std::string& token,
                               std::chrono::seconds increment);

// POST auth/<mount>/login {role_id, secret_id}, no token.
StatusOr<TokenGrant> LoginAppRole(HttpClient* http, const std::string& mount,
                                  const std::string& role_id, const std::string& secret_id,
                                  const std::string& secret_source);

// POST auth/<mount>/login {"name": role} over the client's mTLS connection.
StatusOr<TokenGrant> LoginCert(HttpClient* http, const std::string& mount,
                               const std::string& role);

}  // namespace keyring_locker::auth
