// DocumentLayout: how the document-shaped stores (Vault KV, a local
// directory) lay out one scope, one document per key version (never KV
// versions, which max_versions prunes):
//   <prefix>/<scope>/keys/<encoded name>/<version>           the key
//   <prefix>/<scope>/keys/<encoded name>/<version>.deleted   its soft-delete marker
// and what the documents hold. Plain functions of the scope: no I/O.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

class DocumentLayout {
 public:
  DocumentLayout(std::string prefix, std::string scope) : root_(prefix + "/" + scope + "/keys") {}

  const std::string& KeysRoot() const { return root_; }  // "<prefix>/<scope>/keys"
  std::string NameFolder(const std::string& name) const { return root_ + "/" + EncodeName(name); }
  std::string DocumentPath(const std::string& name, uint32_t version) const;
  std::string MarkerPath(const std::string& name, uint32_t version) const;

  // Key names become one path segment: [A-Za-z0-9_.-] kept, others %XX
  // (and a name of dots only is escaped whole: "." and ".." are not names).
  static std::string EncodeName(const std::string& name);
  static StatusOr<std::string> DecodeName(const std::string& segment);
  // A version entry: decimal 1..0xFFFFFFFE (~0u means "invalid" to MariaDB).
  static bool ParseVersion(const std::string& s, uint32_t* out);
  // "<version>.deleted".
  static bool ParseMarker(const std::string& s, uint32_t* out);

  // Documents. FromDocument checks the shape only (types of fields, and
  // that a key is there); the envelope checks that it is the key asked for.
  static nlohmann::json ToDocument(const KeyRecord& record);
  static StatusOr<KeyRecord> FromDocument(const nlohmann::json& doc, const std::string& path);
  static nlohmann::json ToMarker(const DeletionMarker& marker);
  static DeletionMarker FromMarker(const nlohmann::json& doc);

 private:
  std::string root_;
};

}  // namespace keyring_locker
