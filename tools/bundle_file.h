// The export bundle: one scope's key records exactly as its store holds them
// (wrapped ciphertext, never a key), their deletion markers, and a manifest
// with one fingerprint per key so a restore can prove it got the same keys
// back. docs/cli.md, "export / restore", describes the format for operators.
//
// Why one JSON file and not a folder: it is created in one step (O_EXCL,
// fsync'd, linked into place so a half-written bundle never carries the
// final name), it is copied, backed up and checksummed as a unit, and a
// partial copy is caught by the checksum instead of looking like a scope
// that had fewer keys. Records are a few hundred bytes each: 100,000 key
// versions make ~50 MB.
//
//   {"format": "keyring_locker-bundle/1",
//    "manifest": {"scope", "store", "store_identity", "wrapper", "wrapper_describe",
//                 "exported_at", "exported_by",
//                 "records": [{"name", "version", "generation", "state", "created", "fingerprint"}]},
//    "records": [{"name", "version",
//                 "record": {"format", "type", "length", "wrapper", "wrapped", "created",
//                            "creator", "origin"} | null,
//                 "marker": {"deleted_at", "deleted_unix", "deleted_by"} | null}],
//    "checksum": "sha256:<hex>"}
//
// checksum = SHA-256 of the compact JSON text of {"manifest": ..., "records": ...}
// with keys sorted (nlohmann's dump(); Python's json.dumps(x, sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) gives the same text).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

inline constexpr const char* kBundleFormat = "keyring_locker-bundle/1";

// One (name, version) of the scope: its record (absent when purged), its
// deletion marker (present when soft-deleted or purged), and the
// fingerprint of the unwrapped key taken at export (empty when purged).
struct BundleEntry {
  std::string name;
  uint32_t version = 0;
  bool has_record = false;
  KeyRecord record;  // wrapped; plaintext always empty
  bool deleted = false;
  DeletionMarker marker;
  std::string fingerprint;

  // "live", "deleted" (record and marker), "purged" (marker only).
  std::string State() const;
};

struct Bundle {
  std::string scope;  // "<keys.prefix>/<keys.scope>": what every bound record names
  std::string store;  // KeyStore::Describe() of the exporting locker
  std::vector<std::pair<std::string, std::string>> store_identity;
  std::string wrapper;           // KeyWrapper::Id(): who can unwrap the records
  std::string wrapper_describe;  // KeyWrapper::Describe()
  std::string exported_at;
  std::string exported_by;
  std::vector<BundleEntry> entries;  // sorted by name, then version
};

// The file's text (indented: operators read manifests). Fails only for a
// name or field that is not UTF-8 (JSON cannot carry it unchanged).
StatusOr<std::string> EncodeBundle(const Bundle& bundle);
// Parses and checks a bundle's text: the format, the checksum, every field
// (types, ranges, key names), the manifest agreeing with the records, no
// (name, version) twice. `shown` names the file in errors.
StatusOr<Bundle> DecodeBundle(const std::string& text, const std::string& shown);

// Creates `path` with mode 0600 and `text`, never replacing anything: the
// text goes to a temporary file created with O_EXCL beside it, fsync'd, then
// link(2)ed to `path` (which fails when `path` exists) and the folder
// fsync'd. A crash leaves either no bundle or the whole one.
Status WriteNewFile(const std::string& path, const std::string& text);
// kAlreadyExists when `path` exists (checked before a long export starts).
Status CheckNewFile(const std::string& path);
// The bundle file, at most kMaxBundleBytes, a regular file.
StatusOr<std::string> ReadBundleText(const std::string& path);
inline constexpr size_t kMaxBundleBytes = size_t{1} << 30;

}  // namespace keyring_locker
