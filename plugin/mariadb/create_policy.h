// CreatePolicy: which ENCRYPTION_KEY_IDs the plugin may create in the locker
// when the server asks for one the scope lacks (keyring_locker_create_keys,
// keyring_locker_create_keys_max; docs/mariadb.md "Creating keys").
//
// Why it exists (issue #16): creating on first use turns a mistyped
// ENCRYPTION_KEY_ID into a new permanent locker key, and lets any SQL user
// with CREATE add keys without bound; file_key_management and
// hashicorp_key_management refuse an unknown id instead.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace keyring_locker::mariadb {

// What MariaDB itself needs from any installation: key 1 (system data: redo
// log, binlog, Aria, the default of innodb_default_encryption_key_id) and
// key 2 (temporary data); include/mysql/service_encryption.h names both.
constexpr const char* kServerKeyIds = "1-2";

class CreatePolicy {
 public:
  enum class Mode { kOff, kOn, kRanges };

  // "off", "on", or id ranges "1-2,100-199" (an id alone is a range of one).
  // Errors name keyring_locker_create_keys and the fix.
  static StatusOr<CreatePolicy> Parse(const std::string& text);
  static CreatePolicy On() { return CreatePolicy(Mode::kOn); }
  static CreatePolicy Off() { return CreatePolicy(Mode::kOff); }

  bool Allows(unsigned key_id) const;
  Mode mode() const { return mode_; }
  // The canonical text ("off", "on", "1-2,100-199"), as SHOW VARIABLES and
  // messages show it.
  std::string Describe() const;

 private:
  explicit CreatePolicy(Mode mode) : mode_(mode) {}
  Mode mode_ = Mode::kOff;
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;  // inclusive, as written
};

// Where the policy in force came from, for the start's log line.
enum class CreatePolicySource {
  kConfigured,       // keyring_locker_create_keys set
  kNewInstallation,  // unset, and this datadir was set up with an empty scope (kServerKeyIds)
  kExisting,         // unset, and the scope had keys before: today's behaviour (on), with a warning
};

struct CreatePolicyChoice {
  CreatePolicy policy = CreatePolicy::On();
  CreatePolicySource source = CreatePolicySource::kExisting;
  std::string warning;  // non-empty: log it once at start
};

struct CreatePolicyInputs {
  std::string configured;           // keyring_locker_create_keys, empty = not set
  std::string marker_default;       // the datadir marker's create_keys_default, empty = none recorded
  bool first_start_of_datadir = false;  // no marker yet
  bool scope_had_keys = false;          // the locker listed keys before this start created any
};

// The rule for an unset keyring_locker_create_keys: a datadir first started
// on an empty scope is a new installation and gets kServerKeyIds (recorded
// in its marker, so later starts keep it); anything else was running before
// this option existed and keeps creating any id, with a warning.
StatusOr<CreatePolicyChoice> ChooseCreatePolicy(const CreatePolicyInputs& in);

}  // namespace keyring_locker::mariadb
