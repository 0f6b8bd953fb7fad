// KmipObjectLayout: how one scope's key versions map onto KMIP managed
// objects, and the metadata they carry. Plain functions of the scope, no I/O.
//
//   Object Group  <prefix>/<scope>                               every object of the scope
//   Name          <prefix>/<scope>/<encoded name>/<version>          a key version
//   Name          <prefix>/<scope>/<encoded name>/<version>.deleted  its soft-delete marker
//
// The key name is encoded as one printable segment (DocumentLayout's
// rules: [A-Za-z0-9_.-] kept, others %XX), so a Name is printable ASCII and
// has exactly one parse. Object types: AES keys held bare (wrapper "none")
// are Symmetric Key objects the server can use; every other record (MySQL's
// RSA/DSA/SECRET bytes, a key wrapped by another wrapper) and the markers
// are Secret Data.
//
// Metadata rides in Application Specific Information, namespace
// "keyring_locker" (standard KMIP servers keep no custom attributes):
//   klk1;f=<format>;t=<type>;l=<length>;w=<wrapper>;s=<held>;c=<created>;b=<creator>;o=<origin>;a=<attempt>
//   klk-del1;d=<deleted_at>;u=<deleted_unix>;b=<deleted_by>;a=<attempt>
// Fields in exactly this order, each once; values are printable ASCII with
// '%', ';', '=' and anything outside 0x21..0x7E written %XX (upper-case
// hex, and only those bytes), so every value has exactly one encoding.
// `held` says what the object's bytes are: "key" (the key itself) or
// "wrapped" (a wrapper's ciphertext, as text).
// `attempt` names the create call that wrote the object (the create
// protocol recognises the store's own abandoned objects by it). Parsing
// is strict: anything else is DATA_LOSS naming the object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker::kmip {

inline constexpr char kMetadataNamespace[] = "keyring_locker";

// What the key's Application Specific Information says (the bytes come
// from the object itself).
struct RecordMetadata {
  std::string format, type, wrapper, created, creator, origin, attempt;
  uint64_t length = 0;
  bool wrapped = false;  // the object holds the wrapped text, not the key
};

struct MarkerMetadata {
  std::string deleted_at, deleted_by, attempt;
  int64_t deleted_unix = 0;
};

class KmipObjectLayout {
 public:
  KmipObjectLayout(const std::string& prefix, const std::string& scope) : group_(prefix + "/" + scope) {}
  // Prefix and scope must be non-empty printable ASCII without spaces
  // (they are part of every Name and of the Object Group).
  static Status CheckScope(const std::string& prefix, const std::string& scope);

  const std::string& Group() const { return group_; }
  std::string KeyName(const std::string& name, uint32_t version) const;
  std::string MarkerName(const std::string& name, uint32_t version) const;

  struct Parsed {
    std::string name;
    uint32_t version = 0;
    bool marker = false;
  };
  // A Name of this scope's layout, or nullopt for any other text.
  std::optional<Parsed> Parse(const std::string& object_name) const;

  static std::string EncodeRecord(const RecordMetadata& m);
  static std::string EncodeMarker(const MarkerMetadata& m);
  // `object` names the object in errors ("KMIP object <Name> (uid 7)").
  static StatusOr<RecordMetadata> DecodeRecord(const std::string& data, const std::string& object);
  static StatusOr<MarkerMetadata> DecodeMarker(const std::string& data, const std::string& object);

  // One metadata value (exposed for tests).
  static std::string EncodeValue(const std::string& value);
  static StatusOr<std::string> DecodeValue(const std::string& text);

 private:
  std::string group_;
};

}  // namespace keyring_locker::kmip
