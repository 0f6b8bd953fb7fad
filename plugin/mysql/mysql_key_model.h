// The MySQL key model on top of KeyService, shared by the keyring plugin and
// the keyring component: MySQL keys are (key_id, user_id) pairs that are
// stored once, never versioned, and may be removed and stored again.
//
// Naming in the locker (one KeyService name per MySQL key):
//   user_id NULL or ""         -> "<key_id>"  (or "/<key_id>" if key_id has a '/')
//   user_id "u"                -> "<u with % and / escaped as %25, %2F>/<key_id>"
// so the first '/' always ends the user part and InnoDB/binlog keys (no
// user) keep their plain names. Each (re)store is a new KeyService
// generation; removal is KeyService::SoftRemove.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "keyring_backend/key_service.h"

namespace keyring_locker::mysql {

// The daemon keyring proxy fetches this id to check that a keyring works.
constexpr const char* kHealthProbeId = "dummy_daemon_proxy_keyring_id";
// Longest key_id / user_id handed to the server's iterator buffers (the
// proxy's are 1025 bytes including the NUL).
constexpr size_t kMaxIdLength = 1024;

struct KeyIdentity {
  std::string key_id;
  std::string user_id;  // empty = the server's own key (NULL user)
};

std::string KeyName(const char* key_id, const char* user_id);
// kInvalidArgument for an empty key id or ids longer than kMaxIdLength.
Status CheckIds(const char* key_id, const char* user_id);
// Inverse of KeyName; false for names KeyName cannot produce.
bool SplitKeyName(const std::string& name, KeyIdentity* out);

class KeyringOps {
 public:
  explicit KeyringOps(KeyService& keys) : keys_(keys) {}

  // kAlreadyExists if the key exists: MySQL keys are never overwritten.
  Status Store(const char* key_id, const char* key_type, const char* user_id, const void* key, size_t len);
  Status Generate(const char* key_id, const char* key_type, const char* user_id, size_t len);
  // kNotFound if the key does not exist.
  StatusOr<KeyHandle> Fetch(const char* key_id, const char* user_id);
  // Fetch's hot path: a live key already in memory is handed to
  // fn(const KeyMaterial&) under the cache's shared lock (no handle copy, no
  // locker request) and true returned; false means "ask Fetch" (not cached,
  // absent, or ids Fetch will refuse with a clear error).
  template <typename Fn>
  bool WithCached(const char* key_id, const char* user_id, Fn&& fn) {
    return CheckIds(key_id, user_id).ok() && keys_.WithLiveCached(KeyName(key_id, user_id), std::forward<Fn>(fn));
  }
  // Soft removal; kNotFound if the key does not exist.
  Status Remove(const char* key_id, const char* user_id);
  // Every live key (for iterators and migration), ids no longer than kMaxIdLength.
  StatusOr<std::vector<KeyIdentity>> List();

 private:
  KeyService& keys_;
};

}  // namespace keyring_locker::mysql
