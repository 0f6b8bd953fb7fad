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
// otherwise block a server thread for the whole request budget. A pause
// ends early when the locker has answered again since the failure
// (KeyService::LockerRecoveries), so a retry after an outage is not refused
// for the rest of the window (issue #16).
//
// A key id the locker lacks is created only when create_policy allows it
// and the scope is under create_max (create_policy.h); a refusal tells the
// client (a warning on its statement) and the log why, and how to create it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "keyring_backend/key_service.h"
#include "plugin/mariadb/create_policy.h"

namespace keyring_locker::mariadb {

// Same values as ENCRYPTION_KEY_VERSION_INVALID / ENCRYPTION_KEY_BUFFER_TOO_SMALL
// in plugin_encryption.h (checked with static_assert in the plugin).
constexpr unsigned kKeyVersionInvalid = ~0u;
constexpr unsigned kKeyBufferTooSmall = 100;

struct KeyGateOptions {
  bool create_missing = true;  // may create an id the locker lacks at all (false in mariadb-backup)
  // Which missing ids may be created (keyring_locker_create_keys), and the
  // number of keys the scope may hold beyond which none is (0 = no cap;
  // counted from the names the KeyService knows, no extra listing).
  CreatePolicy create_policy = CreatePolicy::On();
  size_t create_max = 0;
  // Every key the gate creates is reported here (the log), once.
  std::function<void(const std::string& message)> log_created;
  // Why a key id is not available, as a warning on the statement that
  // asked (SHOW WARNINGS), and in the log when `also_log`; called without
  // the lock, on the asking thread. Unset: the message goes to the logger.
  // (The server logs a warning raised outside any statement, so repeats
  // during a pause are limited to one a second.)
  std::function<void(const std::string& message, bool also_log)> client_warning;
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
    uint64_t recoveries = 0;   // KeyService::LockerRecoveries() at the failure
    bool unreachable = false;  // the locker did not answer: its recovery ends the pause
    std::string why;           // the failure, repeated to clients during the pause
    std::chrono::steady_clock::time_point warned{};  // last repeat of `why`
  };
  struct FailedGet {
    std::chrono::steady_clock::time_point retry_at{};
    uint64_t recoveries = 0;
    bool unreachable = false;
  };
  unsigned LockedLatest(unsigned key_id);
  unsigned SlowLatest(unsigned key_id, unsigned wanted);
  // OK when the gate may create `key_id` (the locker has no version of it).
  Status CreateAllowed(unsigned key_id) const;
  bool Paused(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::time_point until,
              uint64_t recoveries_then, bool unreachable) const;
  void Report(const std::string& message) const {
    if (options_.client_warning) {
      options_.client_warning(message, true);
    } else {
      log_error_(message);
    }
  }

  KeyService* keys_;
  KeyGateOptions options_;
  Logger log_error_;
  std::shared_mutex mu_;
  std::unordered_map<unsigned, Slot> slots_;
  // get_latest_key_version's answer without a lock, for key ids below
  // kFastIds (InnoDB's are small: 1 by default, 2 for temporary files):
  // (KeyService::LatestVersionEpoch() << 32 | version), 0 = none. Written
  // after the locked path answered `version` with its bytes in hand; good
  // while the epoch has not moved (no latest version raised or forgotten
  // since), because a slot's ready version only ever grows. Only the low 32
  // bits of the epoch are kept: an answer would be wrongly reused only if
  // exactly 2^32 version changes happened between two calls.
  static constexpr unsigned kFastIds = 1024;
  std::array<std::atomic<uint64_t>, kFastIds> fast_latest_{};
  // (key id << 32 | version) -> when get_key may ask the locker again.
  std::unordered_map<uint64_t, FailedGet> failed_gets_;
  // Set once the first entry goes into failed_gets_: until then get_key
  // reads neither the clock nor the lock.
  std::atomic<bool> any_failed_get_{false};
};

}  // namespace keyring_locker::mariadb
