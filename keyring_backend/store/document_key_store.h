// DocumentKeyStore: a KeyStore over any DocumentBackend (Vault KV, a local
// directory, the tests' memory documents), laid out by DocumentLayout.
// Create-only comes from the backend (KV v2 cas=0, link() in a directory); the listing of
// one name's folder tells every version and marker in one request.
#pragma once

#include <memory>
#include <string>

#include "keyring_backend/store/document_backend.h"
#include "keyring_backend/store/document_layout.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

class DocumentKeyStore : public KeyStore {
 public:
  DocumentKeyStore(std::shared_ptr<DocumentBackend> backend, std::string prefix, std::string scope);

  std::string Describe() const override { return backend_->Describe(); }
  std::string RecordName(const std::string& name, uint32_t version) const override;
  KeyHomeIdentity Identity() const override;
  Status Connect() override { return backend_->Connect(); }

  Status Create(const KeyRecord& record) override;
  StatusOr<KeyRecord> Read(const std::string& name, uint32_t version) override;
  StatusOr<std::vector<std::string>> ListNames() override;
  StatusOr<std::vector<VersionEntry>> ListVersions(const std::string& name) override;
  Status MarkDeleted(const DeletionMarker& marker) override;
  StatusOr<DeletionMarker> ReadMarker(const std::string& name, uint32_t version) override;
  Status Undelete(const std::string& name, uint32_t version) override;
  Status Purge(const std::string& name, uint32_t version) override;
  StatusOr<LockerHealth> Health() override { return backend_->Health(); }

  DocumentBackend& backend() { return *backend_; }
  const DocumentLayout& layout() const { return layout_; }

 private:
  std::shared_ptr<DocumentBackend> backend_;
  std::string prefix_, scope_;
  DocumentLayout layout_;
};

}  // namespace keyring_locker
