// Redo log headers, read without any key:
// - MariaDB 10.8+ ib_logfile0 (storage/innobase/log/log0log.cc
//   log_t::header_write, log0crypt.cc log_crypt_write_header): format
//   0x50687973 at 0, first LSN at 8, creator at 16..48, and when
//   innodb_encrypt_log=ON: key id (always 1) at 48, key version at 52, then
//   the 16-byte message and the nonce; CRC-32C of bytes 0..507 at 508.
//   MariaDB 10.11.15 / 11.4.9 / 11.8.4 (MDEV-36024) write encrypted logs with
//   their own format id 0xf09f979d and the same header fields (seen in the
//   files Debian's 10.11 writes; older 10.11 write 0x50687973 for both).
// - MySQL 8.0 redo (#innodb_redo/#ib_redoN since 8.0.30, ib_logfile0 before;
//   log0constants.h / log0files_io.cc): format (small integer) at 0, creator
//   "MySQL ..." at 16, encryption information block at 1024 + 48.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "datafile/bytes.h"
#include "datafile/mysql_encryption.h"

namespace keyring_locker::datafile {

constexpr uint32_t kMariaRedoFormat108 = 0x50687973;  // log_t::FORMAT_10_8 ("Phys")
constexpr uint32_t kMariaRedoFormatEncrypted = 0xf09f979d;  // MDEV-36024 (10.11.15+)
constexpr uint32_t kMariaRedoFormat105 = 0x50485953;  // log_t::FORMAT_10_5 ("PHYS")
constexpr uint32_t kMariaRedoEncryptedBit = 1u << 31; // log_t::FORMAT_ENCRYPTED
constexpr uint32_t kMariaRedoKeyId = 1;               // LOG_DEFAULT_ENCRYPTION_KEY
constexpr size_t kMariaRedoHeaderSize = 512;
constexpr size_t kMySqlRedoHeaderSize = 2048;         // LOG_FILE_HDR_SIZE

struct RedoHeader {
  bool mysql = false;
  uint32_t format = 0;
  uint64_t start_lsn = 0;
  std::string creator;
  bool encrypted = false;
  uint32_t key_id = 0;       // MariaDB: 1 when encrypted
  uint32_t key_version = 0;  // MariaDB: the version of key 1 the log needs
  std::optional<MySqlEncryptionInfo> mysql_info;
};

// `start` holds the first bytes of the file (at least 512 for MariaDB, 2048
// for MySQL). NOT_FOUND when it is no redo log; DATA_LOSS when it is one
// but damaged, truncated or of a format this reader does not know.
StatusOr<RedoHeader> ParseRedoHeader(ByteView start);

}  // namespace keyring_locker::datafile
