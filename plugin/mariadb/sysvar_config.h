// Turns the plugin's keyring_locker_* system variables into a Config. Two
// ways to configure, never both: keyring_locker_config_file names the shared
// JSON file every adapter reads, or the individual variables are set. The
// individual variables are turned into the same JSON document and fed to
// ParseConfig, so validation and messages are identical; messages then name
// the variable the user actually set instead of the JSON field.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/config/config.h"

namespace keyring_locker::mariadb {

enum class SettingKind {
  kString,      // JSON string
  kList,        // comma-separated -> JSON array of strings
  kInteger,     // JSON number (ParseConfig checks the range)
  kIntOrWord,   // digits -> number, anything else -> string ("auto")
};

// One keyring_locker_<suffix> variable and the JSON field it fills.
struct SettingSpec {
  const char* suffix;     // "kv_mount" -> keyring_locker_kv_mount
  const char* json_path;  // "locker.kv_mount"
  SettingKind kind;
};

// Every connection setting the plugin offers as a system variable.
const std::vector<SettingSpec>& SettingSpecs();

// suffix -> value, only for the variables the user set.
using SettingValues = std::map<std::string, std::string>;

// The JSON document for `values`; unknown suffixes are an error (a bug in the
// caller, but reported rather than ignored).
StatusOr<std::string> SettingsToJson(const SettingValues& values);

// `config_file` empty: build from `values`. Otherwise `values` must be empty
// and the file is loaded.
StatusOr<Config> BuildConfig(const std::string& config_file, const SettingValues& values);

// Replaces JSON field names in a ParseConfig message by variable names.
std::string RenameFieldsToVariables(const std::string& message);

}  // namespace keyring_locker::mariadb
