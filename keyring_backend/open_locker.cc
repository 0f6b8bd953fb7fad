#include "keyring_backend/open_locker.h"

#include "keyring_backend/store/directory_backend.h"
#include "keyring_backend/store/document_key_store.h"
#include "keyring_backend/vault/transit_wrapper.h"
#include "keyring_backend/vault/vault_locker.h"

namespace keyring_locker {

StatusOr<KeyLocker> OpenKeyLocker(const Config& config, HttpClient* http, Authenticator* auth) {
  const LockerRoles& roles = config.roles;
  // One Vault session (HTTP client, token) serves both roles when both are Vault's.
  std::shared_ptr<VaultLocker> vault;
  if (roles.UsesVault()) {
    if (http == nullptr || auth == nullptr) return Internal("the Vault locker needs an HTTP client and a login");
    vault = std::make_shared<VaultLocker>(config.vault, http, auth);
  }
  KeyLocker pair;
  if (roles.store == "vault") {
    pair.store = std::make_unique<DocumentKeyStore>(vault, config.keys.prefix, config.keys.scope);
  } else if (roles.store == "directory") {
    DirectoryBackendOptions options;
    options.root = roles.directory;
    ASSIGN_OR_RETURN(std::unique_ptr<DirectoryBackend> files, DirectoryBackend::Open(options));
    pair.store = std::make_unique<DocumentKeyStore>(std::shared_ptr<DocumentBackend>(std::move(files)),
                                                    config.keys.prefix, config.keys.scope);
  } else {
    return InvalidArgument("store.type \"" + roles.store + "\" is not available in this build; use \"vault\"");
  }
  if (roles.wrapper == "vault") {
    pair.wrapper = std::make_unique<TransitWrapper>(vault);
  } else {
    return InvalidArgument("wrapper.type \"" + roles.wrapper + "\" is not available in this build; use \"vault\"");
  }
  return pair;
}

}  // namespace keyring_locker
