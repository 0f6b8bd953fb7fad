// MySQL InnoDB's encryption information block, as storage/innobase/os/os0enc.cc
// (mysql/mysql-server 8.0/8.4) writes it into tablespace page 0 and into the
// redo log header. What can be read without the master key:
//   "lCA" (v1, 5.7.11): magic | master key id (BE u32, sometimes padded to 8
//                       bytes with a zero word) | key+iv (64) | CRC-32C
//   "lCB" (v2):         magic | master key id (4 or 8 bytes) | server uuid (36) | ...
//   "lCC" (v3, 8.0.5+): magic | master key id (4) | server uuid (36) |
//                       AES-256-ECB(master, key32 || iv32) | CRC-32C of the plain 64
// The keyring id InnoDB asks for is "INNODBKey-<uuid>-<id>" (v2/v3) or
// "INNODBKey-<server_id>-<id>" (v1: the uuid is not stored). Master key id 0
// in v3 means InnoDB's built-in default key: no keyring key is needed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "datafile/bytes.h"

namespace keyring_locker::datafile {

constexpr size_t kMySqlInfoSize = 111;  // v3: 3 + 4 + 36 + 64 + 4
constexpr size_t kMySqlUuidLength = 36;

struct MySqlEncryptionInfo {
  int version = 0;  // 1, 2 or 3 ("lCA", "lCB", "lCC")
  uint32_t master_key_id = 0;
  std::string server_uuid;  // empty for v1
  std::array<uint8_t, 64> wrapped{};
  uint32_t crc = 0;
};

// The keyring id of the master key, or "" when none is needed (v3 id 0).
std::string MySqlMasterKeyName(const MySqlEncryptionInfo& info);
std::string MySqlMasterKeyName(const std::string& server_uuid, uint32_t master_key_id);

// Parses the block at `offset` in `bytes`. NOT_FOUND when there is no magic
// there (an unencrypted file), DATA_LOSS when the block is cut short or damaged.
StatusOr<MySqlEncryptionInfo> ParseMySqlEncryptionInfo(ByteView bytes, size_t offset);

// Offset of the block in page 0 (MariaDB keeps its crypt_data 38 bytes later):
// FSP_HEADER_OFFSET + FSP header + the extent descriptor array, whose length
// depends on the logical (server) page size and the physical (possibly
// ROW_FORMAT=COMPRESSED) size: fsp_header_get_encryption_offset() in fsp0fsp.cc.
// 0 when the sizes are not ones InnoDB uses.
size_t Page0EncryptionOffset(size_t logical_size, size_t physical_size);

// Redo log: 8.0.30+ #innodb_redo/#ib_redoN and older ib_logfile0 both keep the
// block in the LOG_ENCRYPTION header block (offset 1024) after the creator
// field (48): log0constants.h LOG_ENCRYPTION + LOG_HEADER_ENCRYPTION_INFO_OFFSET.
constexpr size_t kMySqlRedoEncryptionOffset = 1024 + 48;

}  // namespace keyring_locker::datafile
