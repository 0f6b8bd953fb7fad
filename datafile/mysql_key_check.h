// Does this master key open this MySQL file? The check InnoDB itself makes
// when it opens a tablespace or redo log (storage/innobase/os/os0enc.cc,
// Encryption::decode_encryption_info, MySQL 8.0/8.4): the 64 bytes after the
// master key id (and, from "lCB" on, the server uuid) are AES-256-ECB, no
// padding, of the tablespace key (32) || IV (32) under the 32-byte master key;
// the 4 bytes after them are the CRC-32C (big-endian) of that plaintext. The
// same layout holds for every info version ("lCA", "lCB", "lCC"); only what
// precedes the 64 bytes differs (datafile/mysql_encryption.h).
//
// A matching CRC is what lets InnoDB open the file, so it is the proof that
// these key bytes are the ones the file was written under; nothing weaker
// ("a key of that name exists") is. The unwrapped tablespace key never leaves
// this function: it is held in a SecureBuffer and wiped.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "datafile/mysql_encryption.h"

namespace keyring_locker::datafile {

constexpr size_t kMySqlMasterKeySize = 32;  // InnoDB's master keys are AES-256

// The key InnoDB uses for master key id 0 (before the first rotation):
// os0enc.h's DEFAULT_MASTER_KEY "DefaultMasterKey", zero-padded to 32 bytes.
crypto::SecureBuffer MySqlDefaultMasterKey();

struct MySqlKeyCheck {
  bool match = false;       // the CRC-32C of the unwrapped key || IV equals the stored one
  uint32_t stored_crc = 0;  // from the file
  uint32_t computed_crc = 0;
};

// Unwraps `info.wrapped` with `master_key` and compares the CRC-32C.
// INVALID_ARGUMENT when the master key is not 32 bytes (not an InnoDB master
// key); a mismatch is a result (match false), not an error.
StatusOr<MySqlKeyCheck> CheckMySqlMasterKey(const MySqlEncryptionInfo& info, const crypto::SecureBuffer& master_key);

}  // namespace keyring_locker::datafile
