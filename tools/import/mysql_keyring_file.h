// The data file of MySQL's keyring_file plugin (keyring_file_data, 5.7 and
// 8.0), by the layout of the plugin's buffered_file_io / keyring_key:
//   "Keyring file version:2.0"  (24 bytes; "...:1.0" from older servers)
//   keys, each: five 8-byte little-endian lengths (the key's whole size
//     padded to 8, key_id, key_type, user_id, key data), then key_id,
//     key_type, user_id and the key data, zero-padded to a multiple of 8;
//     the key data is XORed with the plugin's fixed 24-byte pattern
//   "EOF"
//   2.0 only: the SHA-256 of the keys part (between the header and "EOF").
// An empty file is an empty keyring. Files written by 32-bit or big-endian
// servers (which the plugin converts) are refused with a clear error.
// Each key becomes the name the keyring_locker MySQL adapters give
// (key_id, user_id) (plugin/mysql/mysql_key_model.h), as a new generation.
#pragma once

#include <string>

#include "tools/import/import_source.h"

namespace keyring_locker::import {

inline constexpr char kKeyringFileV2[] = "Keyring file version:2.0";
inline constexpr char kKeyringFileV1[] = "Keyring file version:1.0";

struct MysqlKeyringFileKey {
  std::string key_id, key_type, user_id;
  const crypto::SecureBuffer* bytes = nullptr;  // the key itself (not obfuscated)
};

// Whole-file problems (foreign header, missing "EOF", a digest that does not
// match, a length that is not a multiple of 8) are returned; a key whose
// fields do not add up ends the walk with one failed item naming its offset.
StatusOr<ImportSource> ParseMysqlKeyringFile(const std::string& content);

// Writes a 2.0 (or, with `v1`, 1.0) data file holding `keys`: for tests,
// which must be able to build the plugin's files without a MySQL server.
std::string BuildMysqlKeyringFile(const std::vector<MysqlKeyringFileKey>& keys, bool v1 = false);

}  // namespace keyring_locker::import
