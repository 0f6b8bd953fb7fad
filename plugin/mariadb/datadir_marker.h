// The datadir marker: a small JSON file in the server's data directory naming
// the locker scope whose keys encrypt this datadir (no secrets). It turns two
// silent disasters into a refusal to start:
//   - the plugin points at another scope (typo in prefix/scope/mount/namespace):
//     without the marker the plugin would create fresh keys 1 and 2 and the
//     server would write new data under keys nobody can pair with the old data;
//   - the scope is empty although this datadir was encrypted with its keys
//     (wrong locker, keys deleted, restored locker snapshot).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker::mariadb {

constexpr const char* kMarkerFileName = "keyring_locker.marker";

// What identifies the keys, as the backend names them (KeyService::Identity:
// for Vault namespace, kv_mount, prefix and scope). The same scope on another
// URL (a failover or a migrated locker) is the same keys, so URLs are
// recorded but not compared. The adapter knows no locker's fields.
struct ScopeIdentity {
  std::vector<std::pair<std::string, std::string>> fields;  // compared, in any order
  std::string urls;                                         // informational
  // The keyring_locker_create_keys default this datadir was set up with
  // (written only when it was a new installation; create_policy.h). Not
  // compared. A plugin older than this field refuses a marker that has it.
  std::string create_keys_default;
  static ScopeIdentity From(const KeyHomeIdentity& home);
  bool SameKeys(const ScopeIdentity& other) const;
  std::string Describe() const;  // namespace="..." kv_mount="..." prefix="..." scope="..."
};

// kNotFound when there is no marker; kDataLoss when it cannot be parsed.
StatusOr<ScopeIdentity> ReadMarker(const std::string& path);
// Written to a temporary file and renamed, so a crash never leaves half a marker.
Status WriteMarker(const std::string& path, const ScopeIdentity& id);

// The startup decision. `scope_has_keys`: the locker lists at least one key
// in the configured scope. OK means: go on (create keys 1 and 2 if needed,
// then write the marker if `*write_marker`).
// `recorded_create_keys`, when given, receives the marker's create_keys_default.
Status CheckMarker(const std::string& path, const ScopeIdentity& configured, bool scope_has_keys,
                   bool* write_marker, std::string* recorded_create_keys = nullptr);

}  // namespace keyring_locker::mariadb
