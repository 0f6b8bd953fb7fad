// KeyGate: MariaDB's two key questions (latest version of key id N; bytes of
// key id N version V) answered from a KeyService. Server-independent so it
// can be unit-tested; the plugin entry points only translate arguments.
//
// The rule InnoDB needs: never answer "latest = V" unless the bytes of V are
// in hand. A version the server was told about may be asked for at any page
// write, and an error for a version in use can crash InnoDB. So a newer
// version (another server rotated, the refresh saw it) is fetched once before
// it is handed out; while that fetch fails, the previous version keeps being
// served and the fetch is retried after `retry_after`, never on every call.
// The same pause applies to get_key of a version the locker could not
// deliver: InnoDB may ask for it on every page read, and each attempt would
// otherwise block a server thread for the whole request budget.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "keyring_backend/key_service.h"

namespace keyring_locker::mariadb {

// Same values as ENCRYPTION_KEY_VERSION_INVALID / ENCRYPTION_KEY_BUFFER_TOO_SMALL
// in plugin_encryption.h (checked with static_assert in the plugin).
constexpr unsigned kKeyVersionInvalid = ~0u;
constexpr unsigned kKeyBufferTooSmall = 100;

struct KeyGateOptions {
  bool create_missing = true;  // EnsureKey for an id the locker lacks (false in mariadb-backup)
  std::chrono::milliseconds retry_after{5000};
  // Called (without the gate's lock held) after the gate starts serving a
  // version it did not serve before: a key it created, or a newer version.
  // Must not block; the plugin uses it to ask for a key metadata snapshot.
  std::function<void()> on_new_version;
};

class KeyGate {
 public:
  using Logger = std::function<void(const std::string& message)>;
  KeyGate(KeyService* keys, KeyGateOptions options, Logger log_error);

  unsigned LatestVersion(unsigned key_id);
  unsigned GetKey(unsigned key_id, unsigned version, unsigned char* buf, unsigned* buflen);

  static std::string KeyName(unsigned key_id) { return std::to_string(key_id); }

 private:
  struct Slot {
    unsigned ready = 0;  // highest version whose bytes are cached
    std::chrono::steady_clock::time_point retry_at{};
  };
  unsigned SlowLatest(unsigned key_id, unsigned wanted);

  KeyService* keys_;
  KeyGateOptions options_;
  Logger log_error_;
  std::shared_mutex mu_;
  std::unordered_map<unsigned, Slot> slots_;
  // (key id << 32 | version) -> when get_key may ask the locker again.
  std::unordered_map<uint64_t, std::chrono::steady_clock::time_point> failed_gets_;
};

}  // namespace keyring_locker::mariadb
