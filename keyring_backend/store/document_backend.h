// DocumentBackend: a locker that keeps JSON documents at paths, create-only
// (Vault KV; a local directory). DocumentKeyStore turns it into a KeyStore
// with one path layout (document_layout.h), so every document-shaped locker
// lays out keys, versions and deletion markers the same way.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

class DocumentBackend {
 public:
  virtual ~DocumentBackend() = default;

  // "vault https://host:8200 ns=a/ kv=secret(v2)"
  virtual std::string Describe() const = 0;
  virtual Status Connect() { return Status::Ok(); }

  // Create-only write. kAlreadyExists when anything is at `path` already: a
  // document once written is never overwritten.
  virtual Status Store(const std::string& path, const nlohmann::json& document) = 0;
  // kNotFound when nothing is at `path`.
  virtual StatusOr<nlohmann::json> Fetch(const std::string& path) = 0;
  // Names directly below `prefix` (folders end in '/'); empty when none.
  virtual StatusOr<std::vector<std::string>> List(const std::string& prefix) = 0;
  // Removes a document: only an undelete (its marker) or an operator's purge.
  virtual Status Remove(const std::string& path) = 0;

  virtual StatusOr<LockerHealth> Health() = 0;
  // The backend's part of where keys live (Vault: namespace and KV mount).
  virtual KeyHomeIdentity Identity() const = 0;
};

}  // namespace keyring_locker
