#include "keyring_backend/store/document_key_store.h"

#include <map>

namespace keyring_locker {

DocumentKeyStore::DocumentKeyStore(std::shared_ptr<DocumentBackend> backend, std::string prefix, std::string scope)
    : backend_(std::move(backend)), prefix_(std::move(prefix)), scope_(std::move(scope)), layout_(prefix_, scope_) {}

std::string DocumentKeyStore::RecordName(const std::string& name, uint32_t version) const {
  return "key document " + layout_.DocumentPath(name, version);
}

KeyHomeIdentity DocumentKeyStore::Identity() const {
  KeyHomeIdentity id = backend_->Identity();
  id.fields.emplace_back("prefix", prefix_);
  id.fields.emplace_back("scope", scope_);
  return id;
}

Status DocumentKeyStore::Create(const KeyRecord& record) {
  if (!record.plaintext.empty()) {
    return Internal("a document store keeps wrapped keys only; " + RecordName(record.name, record.version) +
                    " came unwrapped");
  }
  return backend_->Store(layout_.DocumentPath(record.name, record.version), DocumentLayout::ToDocument(record));
}

StatusOr<KeyRecord> DocumentKeyStore::Read(const std::string& name, uint32_t version) {
  const std::string path = layout_.DocumentPath(name, version);
  ASSIGN_OR_RETURN(nlohmann::json doc, backend_->Fetch(path));
  return DocumentLayout::FromDocument(doc, path);
}

StatusOr<std::vector<std::string>> DocumentKeyStore::ListNames() {
  ASSIGN_OR_RETURN(std::vector<std::string> entries, backend_->List(layout_.KeysRoot()));
  std::vector<std::string> names;
  for (const auto& e : entries) {
    if (e.empty() || e.back() != '/') continue;
    auto decoded = DocumentLayout::DecodeName(e.substr(0, e.size() - 1));
    if (decoded.ok()) names.push_back(std::move(decoded).value());
  }
  return names;
}

StatusOr<std::vector<VersionEntry>> DocumentKeyStore::ListVersions(const std::string& name) {
  ASSIGN_OR_RETURN(std::vector<std::string> entries, backend_->List(layout_.NameFolder(name)));
  std::map<uint32_t, VersionEntry> by_version;
  for (const auto& e : entries) {
    uint32_t v = 0;
    if (DocumentLayout::ParseVersion(e, &v)) {
      by_version[v].version = v;
      by_version[v].has_record = true;
    } else if (DocumentLayout::ParseMarker(e, &v)) {
      by_version[v].version = v;
      by_version[v].deleted = true;
    }
  }
  std::vector<VersionEntry> out;
  out.reserve(by_version.size());
  for (auto& [v, entry] : by_version) out.push_back(entry);
  return out;
}

Status DocumentKeyStore::MarkDeleted(const DeletionMarker& marker) {
  return backend_->Store(layout_.MarkerPath(marker.name, marker.version), DocumentLayout::ToMarker(marker));
}

StatusOr<DeletionMarker> DocumentKeyStore::ReadMarker(const std::string& name, uint32_t version) {
  ASSIGN_OR_RETURN(nlohmann::json doc, backend_->Fetch(layout_.MarkerPath(name, version)));
  DeletionMarker m = DocumentLayout::FromMarker(doc);
  m.name = name;  // where it was found is what it marks
  m.version = version;
  return m;
}

Status DocumentKeyStore::Undelete(const std::string& name, uint32_t version) {
  return backend_->Remove(layout_.MarkerPath(name, version));
}

Status DocumentKeyStore::Purge(const std::string& name, uint32_t version) {
  return backend_->Remove(layout_.DocumentPath(name, version));
}

}  // namespace keyring_locker
