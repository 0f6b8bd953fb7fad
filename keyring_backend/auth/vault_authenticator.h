// VaultAuthenticator: Authenticator for Vault/OpenBao (token file/env,
// AppRole, TLS certificate) with a background renewal thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "crypto/secure_buffer.h"
#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/auth/vault_auth_calls.h"

namespace keyring_locker::auth {

class VaultAuthenticator final : public Authenticator {
 public:
  static StatusOr<std::unique_ptr<VaultAuthenticator>> Create(AuthOptions options, HttpClient* http);
  ~VaultAuthenticator() override;

  Status Login() override;
  std::string Token() const override;
  Status Refresh(const std::string& rejected_token) override;
  void StartRenewal() override;
  void StopRenewal() override;
  AuthInfo info() const override;

 private:
  using Clock = std::chrono::steady_clock;
  VaultAuthenticator(AuthOptions options, HttpClient* http);

  // Gets a fresh grant by the configured method (re-reads files each time:
  // the operator may have rotated the token or secret ID).
  StatusOr<TokenGrant> Obtain();
  void Install(TokenGrant grant, bool is_login);
  // One renewal step: renew-self, or a new login when renewal is impossible,
  // refused, or capped. Returns the status to record.
  Status RenewOnce();
  void RenewLoop();
  Clock::time_point NextWakeLocked() const;
  void RecordFailure(const Status& s);
  std::string SourceDescription() const;
  std::string RejectionFix() const;

  const AuthOptions options_;
  HttpClient* const http_;

  // Serialises Obtain+Install (Login, Refresh, renewal). Each holder's
  // requests share one timeouts.total_ms; a server call queues only until
  // its own deadline (LockWithinDeadline).
  std::timed_mutex login_mu_;
  // Takes login_mu_, then opens one budget for the holder's requests.
  class LoginTurn;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  // Off the heap (mlock, MADV_DONTDUMP) like keys: a core dump of the server
  // must not hand out the token. Copies made per request are wiped.
  crypto::SecureBuffer token_;
  std::string TokenLocked() const;
  bool renewable_ = false;
  std::chrono::seconds ttl_{0};
  std::chrono::seconds granted_ttl_{0};  // TTL of the last login: what renewals should reach
  Clock::time_point obtained_{};
  std::chrono::system_clock::time_point expires_{};
  uint64_t renewals_ = 0, logins_ = 0, failures_ = 0;
  int failure_streak_ = 0;
  std::string last_error_;
  uint64_t generation_ = 0;  // bumped on every Install: wakes the loop to replan
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace keyring_locker::auth
