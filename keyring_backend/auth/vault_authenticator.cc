#include "keyring_backend/auth/vault_authenticator.h"

#include <algorithm>

#include "keyring_backend/auth/secret_source.h"
#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker {

StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options,
                                                               HttpClient* http) {
  ASSIGN_OR_RETURN(std::unique_ptr<auth::VaultAuthenticator> a,
                   auth::VaultAuthenticator::Create(std::move(options), http));
  return std::unique_ptr<Authenticator>(std::move(a));
}

namespace auth {
namespace {

constexpr std::chrono::minutes kMaxRetryInterval{5};

}  // namespace

// The lock is taken before the budget opens: a background renewal that
// queues behind a login should wait its turn, not spend its budget waiting.
// A server call's own deadline still bounds its wait (the outer scope).
class VaultAuthenticator::LoginTurn {
 public:
  explicit LoginTurn(VaultAuthenticator* a)
      : lock_(LockWithinDeadline(a->login_mu_)),
        budget_(lock_.owns_lock() ? a->http_->options().total_timeout : std::chrono::milliseconds(0)) {}
  bool ok() const { return lock_.owns_lock(); }
  static Status QueueTimeout(const HttpClient* http) {
    return DeadlineExceeded("another thread's login to the locker did not finish within this call's "
                            "timeouts.total_ms=" + std::to_string(http->options().total_timeout.count()) +
                            "; check the locker's health or raise timeouts.total_ms");
  }

 private:
  std::unique_lock<std::timed_mutex> lock_;
  OperationDeadline budget_;
};

StatusOr<std::unique_ptr<VaultAuthenticator>> VaultAuthenticator::Create(AuthOptions o,
                                                                         HttpClient* http) {
  using M = AuthOptions::Method;
  if (http == nullptr) return InvalidArgument("Authenticator needs an HttpClient (caller bug)");
  if (!(o.renew_fraction >= 0.1 && o.renew_fraction <= 0.9))
    return InvalidArgument("auth.renew_fraction must be between 0.1 and 0.9; 0.67 renews at "
                           "two thirds of the token's TTL");
  if (o.min_retry_interval.count() <= 0)
    return InvalidArgument("auth min_retry_interval must be > 0 seconds");
  if (o.renew_increment.count() < 0)
    return InvalidArgument("auth renew_increment must be >= 0 seconds (0 = token default)");
  switch (o.method) {
    case M::kToken:
      if (o.token_file.empty() && o.token_env.empty())
        return InvalidArgument("auth.method is \"token\" but neither auth.token_file nor "
                               "auth.token_env is set; set one (a file with mode 0600 is best)");
      break;
    case M::kAppRole:
      if (o.approle_mount.empty())
        return InvalidArgument("auth.approle.mount is empty; the default is \"approle\"");
      if (o.role_id.empty())
        return InvalidArgument("auth.approle.role_id is empty; set the role ID of the AppRole");
      if (o.secret_id_file.empty() && o.secret_id_env.empty())
        return InvalidArgument("auth.method is \"approle\" but neither auth.approle.secret_id_file "
                               "nor auth.approle.secret_id_env is set; set one");
      break;
    case M::kCert:
      if (o.cert_mount.empty())
        return InvalidArgument("auth.cert.mount is empty; the default is \"cert\"");
      if (http->options().tls.client_cert.empty())
        return InvalidArgument("auth.method is \"cert\" but tls.client_cert is not set; set "
                               "tls.client_cert and tls.client_key to the client certificate "
                               "registered with the locker");
      break;
  }
  return std::unique_ptr<VaultAuthenticator>(new VaultAuthenticator(std::move(o), http));
}

VaultAuthenticator::VaultAuthenticator(AuthOptions options, HttpClient* http)
    : options_(std::move(options)), http_(http) {}

VaultAuthenticator::~VaultAuthenticator() {
  StopRenewal();
  std::lock_guard<std::mutex> lock(mu_);
  token_ = crypto::SecureBuffer();
}

std::string VaultAuthenticator::SourceDescription() const {
  switch (options_.method) {
    case AuthOptions::Method::kToken:
      return options_.token_file.empty() ? "environment variable " + options_.token_env
                                         : options_.token_file;
    case AuthOptions::Method::kAppRole:
      return "AppRole role_id " + options_.role_id;
    case AuthOptions::Method::kCert:
      return "certificate login at auth/" + options_.cert_mount;
  }
  return "?";
}

std::string VaultAuthenticator::RejectionFix() const {
  if (options_.method != AuthOptions::Method::kToken) return "check the auth.* settings";
  return options_.token_file.empty()
             ? "set " + options_.token_env + " to a valid token and restart"
             : "write a valid token to " + options_.token_file;
}

StatusOr<TokenGrant> VaultAuthenticator::Obtain() {
  switch (options_.method) {
    case AuthOptions::Method::kToken: {
      StatusOr<std::string> token = options_.token_file.empty()
                                        ? ReadSecretEnv(options_.token_env, "auth.token_env")
                                        : ReadSecretFile(options_.token_file, "auth.token_file");
      if (!token.ok()) return token.status();
      StatusOr<TokenGrant> g = LookupSelf(http_, *token, SourceDescription(), RejectionFix());
      Wipe(&*token);
      return g;
    }
    case AuthOptions::Method::kAppRole: {
      const bool from_file = !options_.secret_id_file.empty();
      StatusOr<std::string> secret =
          from_file ? ReadSecretFile(options_.secret_id_file, "auth.approle.secret_id_file")
                    : ReadSecretEnv(options_.secret_id_env, "auth.approle.secret_id_env");
      if (!secret.ok()) return secret.status();
      StatusOr<TokenGrant> g = LoginAppRole(
          http_, options_.approle_mount, options_.role_id, *secret,
          from_file ? options_.secret_id_file : "environment variable " + options_.secret_id_env);
      Wipe(&*secret);
      return g;
    }
    case AuthOptions::Method::kCert:
      return LoginCert(http_, options_.cert_mount, options_.cert_role);
  }
  return Internal("unknown auth method");
}

void VaultAuthenticator::Install(TokenGrant grant, bool is_login) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = crypto::SecureBuffer::CopyOf(grant.token);
  Wipe(&grant.token);
  renewable_ = grant.renewable;
  ttl_ = grant.ttl;
  if (is_login) granted_ttl_ = grant.ttl;
  obtained_ = Clock::now();
  expires_ = std::chrono::system_clock::now() + grant.ttl;
  ++(is_login ? logins_ : renewals_);
  failure_streak_ = 0;
  ++generation_;
  cv_.notify_all();
}

void VaultAuthenticator::RecordFailure(const Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
  last_error_ = s.message();
  // Without a token the renewal loop has nothing scheduled: make it retry
  // the login with backoff, so a server started while the locker was down
  // gets its token once the locker is back.
  if (token_.empty()) {
    ++failure_streak_;
    ++generation_;
    cv_.notify_all();
  }
}

Status VaultAuthenticator::Login() {
  try {
    LoginTurn turn(this);
    if (!turn.ok()) return LoginTurn::QueueTimeout(http_);
    StatusOr<TokenGrant> g = Obtain();
    if (!g.ok()) {
      RecordFailure(g.status());
      return g.status();
    }
    Install(std::move(g).value(), /*is_login=*/true);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Internal(std::string("login failed unexpectedly: ") + e.what());
  }
}

std::string VaultAuthenticator::TokenLocked() const {
  return std::string(reinterpret_cast<const char*>(token_.data()), token_.size());
}

std::string VaultAuthenticator::Token() const {
  std::lock_guard<std::mutex> lock(mu_);
  return TokenLocked();
}

Status VaultAuthenticator::Refresh(const std::string& rejected_token) {
  try {
    LoginTurn turn(this);
    if (!turn.ok()) return LoginTurn::QueueTimeout(http_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!token_.empty() && !token_.Equals(rejected_token.data(), rejected_token.size()))
        return Status::Ok();  // already replaced
    }
    // A 403 with a token that is still valid is a policy problem: logging in
    // again would not help and would spend a (possibly limited-use) secret ID.
    if (options_.method != AuthOptions::Method::kToken && !rejected_token.empty() &&
        LookupSelf(http_, rejected_token, SourceDescription(), RejectionFix()).ok()) {
      return Unauthenticated("the locker refused a valid token from " + SourceDescription() +
                             ": its policy lacks that path; grant it");
    }
    StatusOr<TokenGrant> g = Obtain();
    if (!g.ok()) {
      RecordFailure(g.status());
      return g.status();
    }
    if (g->token == rejected_token) {
      // kToken: nobody asked the locker whether the token is still valid.
      Status s = Unauthenticated("the locker refused the token from " + SourceDescription() +
                                 " and it holds no newer one: the token expired (at its max TTL, say), "
                                 "was revoked, or lacks a policy for that path; grant the policy or " +
                                 RejectionFix());
      RecordFailure(s);
      return s;
    }
    Install(std::move(g).value(), /*is_login=*/true);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Internal(std::string("token refresh failed unexpectedly: ") + e.what());
  }
}

Status VaultAuthenticator::RenewOnce() {
  LoginTurn turn(this);
  if (!turn.ok()) return LoginTurn::QueueTimeout(http_);
  std::string token;
  bool renewable;
  std::chrono::seconds wanted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = TokenLocked();
    renewable = renewable_;
    wanted = options_.renew_increment.count() > 0 ? options_.renew_increment : granted_ttl_;
  }
  if (renewable && !token.empty()) {
    StatusOr<TokenGrant> renewed = RenewSelf(http_, token, options_.renew_increment);
    Wipe(&token);
    if (renewed.ok()) {
      // A grant well short of what was asked means the token is near its
      // max TTL: renewing again will not help, a new login will.
      const bool capped = renewed->ttl.count() + 1 < wanted.count();
      Install(std::move(renewed).value(), /*is_login=*/false);
      if (!capped) return Status::Ok();
    } else if (renewed.status().code() != Code::kUnauthenticated) {
      return renewed.status();  // transient: retried while the token lasts
    }
  }
  Wipe(&token);
  StatusOr<TokenGrant> g = Obtain();
  if (!g.ok()) return g.status();
  Install(std::move(g).value(), /*is_login=*/true);
  return Status::Ok();
}

VaultAuthenticator::Clock::time_point VaultAuthenticator::NextWakeLocked() const {
  const auto now = Clock::now();
  if (failure_streak_ > 0) {
    auto delay = options_.min_retry_interval * (1LL << std::min(failure_streak_ - 1, 10));
    return now + std::min<std::chrono::seconds>(delay, kMaxRetryInterval);
  }
  if (ttl_.count() == 0) return Clock::time_point::max();  // never expires: nothing to do
  const auto after = std::chrono::duration_cast<Clock::duration>(ttl_ * options_.renew_fraction);
  return obtained_ + after;
}

void VaultAuthenticator::RenewLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    const uint64_t gen = generation_;
    const auto wake = NextWakeLocked();
    auto replan = [&] { return stop_ || generation_ != gen; };
    if (wake == Clock::time_point::max()) {
      cv_.wait(lk, replan);
    } else if (cv_.wait_until(lk, wake, replan)) {
      continue;  // stopped, or a login/refresh changed the schedule
    }
    if (stop_ || generation_ != gen) continue;
    lk.unlock();
    Status s;
    try {
      s = RenewOnce();
    } catch (const std::exception& e) {
      s = Internal(std::string("token renewal failed unexpectedly: ") + e.what());
    }
    lk.lock();
    if (!s.ok()) {
      ++failures_;
      ++failure_streak_;
      last_error_ = s.message();
    }
  }
}

void VaultAuthenticator::StartRenewal() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  try {
    thread_ = std::thread(&VaultAuthenticator::RenewLoop, this);
  } catch (const std::system_error& e) {
    ++failures_;
    last_error_ = std::string("could not start the token renewal thread: ") + e.what();
  }
}

void VaultAuthenticator::StopRenewal() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

AuthInfo VaultAuthenticator::info() const {
  std::lock_guard<std::mutex> lock(mu_);
  AuthInfo i;
  i.renewable = renewable_;
  i.ttl = ttl_;
  i.expires = expires_;
  i.renewals = renewals_;
  i.logins = logins_;
  i.failures = failures_;
  i.last_error = last_error_;
  return i;
}

}  // namespace auth
}  // namespace keyring_locker
