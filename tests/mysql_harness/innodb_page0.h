// InnoDB's tablespace encryption information (page 0, version 3 "lCC"),
// written and parsed the way storage/innobase/os/os0enc.cc lays it out:
//   0  "lCC" | 3  master key id (BE u32) | 7  server_uuid (36 ASCII)
//   43 AES-256-ECB(master key, tablespace key32 || iv32), no padding
//   107 CRC-32C of the plaintext key || iv (BE u32)       = 111 bytes
// The harness plays mysqld and keeps the writer; parsing is the product's
// (datafile/mysql_encryption.h, also fuzzed), wrapped here in the harness's types.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace mysqlh::innodb {

constexpr size_t kInfoSize = 111;
constexpr size_t kUuidLength = 36;

// Byte offset of the info block in page 0 for a page size (4K..64K);
// 0 for sizes InnoDB does not support.
size_t EncryptionInfoOffset(size_t page_size);

struct EncryptionHeader {  // what can be read without the master key
  uint32_t master_key_id = 0;
  std::string server_uuid;
  std::array<uint8_t, 64> wrapped{};
  uint32_t crc = 0;
};

struct TablespaceKey {
  keyring_locker::crypto::SecureBuffer key;  // 32 bytes
  keyring_locker::crypto::SecureBuffer iv;   // 32 bytes (InnoDB keeps 32; CBC uses the first 16)
};

// "INNODBKey-<uuid>-<id>": the keyring id InnoDB asks for.
std::string MasterKeyName(const std::string& server_uuid, uint32_t master_key_id);

keyring_locker::Status WriteEncryptionInfo(uint8_t* page, size_t page_size, uint32_t master_key_id,
                                           const std::string& server_uuid, const TablespaceKey& key,
                                           const keyring_locker::crypto::SecureBuffer& master_key);
keyring_locker::StatusOr<EncryptionHeader> ParseEncryptionHeader(const uint8_t* page, size_t page_size);
// Decrypts with the master key and checks the CRC-32C.
keyring_locker::StatusOr<TablespaceKey> UnwrapTablespaceKey(const EncryptionHeader& header,
                                                            const keyring_locker::crypto::SecureBuffer& master_key);

}  // namespace mysqlh::innodb
