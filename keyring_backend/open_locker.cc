#include "keyring_backend/open_locker.h"

#include "keyring_backend/store/document_key_store.h"
#include "keyring_backend/vault/transit_wrapper.h"
#include "keyring_backend/vault/vault_locker.h"

namespace keyring_locker {

StatusOr<KeyLocker> OpenKeyLocker(const Config& config, HttpClient* http, Authenticator* auth) {
  if (config.locker_type != "vault") {
    return InvalidArgument("locker.type \"" + config.locker_type + "\" is not supported; use \"vault\"");
  }
  if (http == nullptr || auth == nullptr) return Internal("the Vault locker needs an HTTP client and a login");
  // One session (HTTP client, token) serves both roles.
  auto vault = std::make_shared<VaultLocker>(config.vault, http, auth);
  KeyLocker pair;
  pair.store = std::make_unique<DocumentKeyStore>(vault, config.keys.prefix, config.keys.scope);
  pair.wrapper = std::make_unique<TransitWrapper>(vault);
  return pair;
}

}  // namespace keyring_locker
