// OpenKeyLocker: the one place where a configuration picks where keys live
// (a KeyStore) and who wraps them (a KeyWrapper). Adding a locker means a
// store and/or a wrapper in their own folder, a config section, and a case
// here; nothing above KeyService changes (docs/architecture.md).
#pragma once

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/key_service.h"

namespace keyring_locker::kmip {
class KmipClient;
}  // namespace keyring_locker::kmip

namespace keyring_locker {

// `http` and `auth` are the Vault session's (they must outlive the pair);
// null for a configuration without one. `kmip_session`, when given, receives
// the KMIP client the pair shares (null without a KMIP role): its counters
// and server are what status variables show for a KMIP store.
StatusOr<KeyLocker> OpenKeyLocker(const Config& config, HttpClient* http, Authenticator* auth,
                                  std::shared_ptr<kmip::KmipClient>* kmip_session = nullptr);

}  // namespace keyring_locker
