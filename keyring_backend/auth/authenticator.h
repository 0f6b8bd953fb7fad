// Authenticator: owns the locker token. Reads it from a file or the
// environment, or logs in with AppRole or a TLS client certificate; renews it
// in the background at ~2/3 of its TTL and logs in again when it cannot be
// renewed, so a server runs for months without a restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker {

struct AuthOptions {
  enum class Method { kToken, kAppRole, kCert };
  Method method = Method::kToken;
  // kToken: a file (refused if group/world readable) or an environment variable.
  std::string token_file;
  std::string token_env;  // e.g. "VAULT_TOKEN"; used when token_file is empty
  // kAppRole
  std::string approle_mount = "approle";
  std::string role_id;           // not secret
  std::string secret_id_file;    // same permission rule as token_file
  std::string secret_id_env;
  // kCert: login over the mTLS connection configured in TlsOptions.
  std::string cert_mount = "cert";
  std::string cert_role;         // optional "name"
  double renew_fraction = 2.0 / 3.0;  // renew when this much of the TTL has passed
  std::chrono::seconds renew_increment{0};  // 0 = ask for the token's default TTL
  std::chrono::seconds min_retry_interval{5};
};

struct AuthInfo {
  bool renewable = false;
  std::chrono::seconds ttl{0};                  // 0 = never expires (root/periodic-free)
  std::chrono::system_clock::time_point expires{};  // valid when ttl > 0
  uint64_t renewals = 0, logins = 0, failures = 0;
  std::string last_error;                       // never contains the token
};

class Authenticator {
 public:
  static StatusOr<std::unique_ptr<Authenticator>> Create(AuthOptions options, HttpClient* http);
  virtual ~Authenticator() = default;

  // Obtain a token and check it with lookup-self (clear error naming the file,
  // env var or role and the fix on failure).
  virtual Status Login() = 0;
  // The current token, for the X-Vault-Token header. Empty before Login().
  virtual std::string Token() const = 0;
  // A locker answered 403 with this token: re-login if the method allows it
  // (AppRole/cert), re-read the token file otherwise. Returns OK if a new
  // token differs from `rejected_token`.
  virtual Status Refresh(const std::string& rejected_token) = 0;
  // Background renewal thread; Stop() joins it (called by the destructor too).
  virtual void StartRenewal() = 0;
  virtual void StopRenewal() = 0;
  virtual AuthInfo info() const = 0;
};

}  // namespace keyring_locker
