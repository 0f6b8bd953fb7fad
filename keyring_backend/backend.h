// Backend: everything one loaded adapter needs, built from a Config in the
// right order: the locker's session (Vault: HTTP client, authenticator with
// login and renewal; KMIP: one client) -> the store and wrapper the config pairs
// (open_locker.h; their Connect checks mounts and keys) -> key service
// (version refresh) -> audit log. Adapters hold one Backend and translate
// the server's calls into backend().keys() calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/kmip/kmip_client.h"

namespace keyring_locker {

// One flat view for status variables and the CLI; never secrets.
struct BackendStatus {
  KeyServiceStats keys;
  // The connection to the store's locker: Vault's HTTP client, or with a
  // KMIP store the KMIP client's (requests, retries, failovers, the server).
  HttpStats http;
  AuthInfo auth;
  std::string locker;  // KeyService::Describe()
  // False while any locker in use is reached without verifying its
  // certificate (tls.verify or kmip.verify false).
  bool tls_verify = true;
};

class Backend {
 public:
  // Logs in, checks the mounts, loads the scope's key versions and starts
  // token renewal and version refresh. With `require_locker` false a locker
  // that cannot be reached is not fatal (the caller serves what it can and
  // the background threads keep trying); bad config always is. With
  // `read_versions` false the caller reads the scope's versions itself, after
  // the steps its start cannot do without (MariaDB: the scope-wide read must
  // not use up the budget of keys 1 and 2).
  static StatusOr<std::unique_ptr<Backend>> Open(const Config& config, bool require_locker = true,
                                                 bool read_versions = true);
  ~Backend();

  KeyService& keys() { return *keys_; }
  KeyStore& store() { return keys_->store(); }
  KeyWrapper& wrapper() { return keys_->wrapper(); }
  std::string Describe() const { return keys_->Describe(); }
  // The Vault session's, when a role uses Vault (config.roles); adapters
  // read status() instead, which works for every locker.
  Authenticator& auth() { return *auth_; }
  HttpClient& http() { return *http_; }
  bool has_vault_session() const { return auth_ != nullptr; }
  const Config& config() const { return config_; }
  BackendStatus status() const;
  // Problems that do not stop the backend but weaken what docs/security.md
  // promises (e.g. no wiping allocator for libcurl): the adapter logs each.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  Backend() = default;
  Config config_;
  std::vector<std::string> warnings_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Authenticator> auth_;
  // The KMIP client both roles share, when a role uses KMIP: its status.
  std::shared_ptr<kmip::KmipClient> kmip_;
  std::unique_ptr<KeyService> keys_;
};

}  // namespace keyring_locker
