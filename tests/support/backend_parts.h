// What tests of the Vault path reach below the seam: the VaultLocker session
// behind a Backend's KV store, and where a key's document lives. Product
// code never does this (adapters see only KeyStore and KeyWrapper).
#pragma once

#include <string>

#include "keyring_backend/backend.h"
#include "keyring_backend/store/document_key_store.h"
#include "keyring_backend/vault/vault_locker.h"

namespace keyring_locker::testing {

inline DocumentKeyStore& DocumentStoreOf(Backend& b) { return dynamic_cast<DocumentKeyStore&>(b.store()); }
inline VaultLocker& VaultOf(Backend& b) { return dynamic_cast<VaultLocker&>(DocumentStoreOf(b).backend()); }
inline std::string DocumentPathOf(Backend& b, const std::string& name, uint32_t version) {
  return DocumentStoreOf(b).layout().DocumentPath(name, version);
}

}  // namespace keyring_locker::testing
