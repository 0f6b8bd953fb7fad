#include "tests/mysql_harness/innodb_page0.h"

#include <cstring>

#include "crypto/crypto.h"
#include "datafile/mysql_encryption.h"

namespace mysqlh::innodb {

using keyring_locker::DataLoss;
using keyring_locker::InvalidArgument;
using keyring_locker::Status;
using keyring_locker::StatusOr;
namespace crypto = keyring_locker::crypto;

namespace {
constexpr char kMagic[] = "lCC";

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
}  // namespace

// The offset and the keyring id come from the product's parser (datafile/),
// so the harness's mysqld and `keyring-locker inspect` agree by construction.
size_t EncryptionInfoOffset(size_t page_size) {
  return keyring_locker::datafile::Page0EncryptionOffset(page_size, page_size);
}

std::string MasterKeyName(const std::string& server_uuid, uint32_t master_key_id) {
  return keyring_locker::datafile::MySqlMasterKeyName(server_uuid, master_key_id);
}

Status WriteEncryptionInfo(uint8_t* page, size_t page_size, uint32_t master_key_id, const std::string& server_uuid,
                           const TablespaceKey& key, const crypto::SecureBuffer& master_key) {
  const size_t offset = EncryptionInfoOffset(page_size);
  if (offset == 0) return InvalidArgument("unsupported page size");
  if (server_uuid.size() != kUuidLength || key.key.size() != 32 || key.iv.size() != 32 || master_key.size() != 32) {
    return InvalidArgument("uuid must be 36 characters, key/iv/master key 32 bytes");
  }
  crypto::SecureBuffer plain(64);
  std::memcpy(plain.data(), key.key.data(), 32);
  std::memcpy(plain.data() + 32, key.iv.data(), 32);
  ASSIGN_OR_RETURN(crypto::SecureBuffer wrapped, crypto::Aes256EcbEncrypt(master_key, plain.data(), plain.size()));
  if (wrapped.size() != 64) return keyring_locker::Internal("ECB of 64 bytes must give 64 bytes (no padding)");
  uint8_t* p = page + offset;
  std::memcpy(p, kMagic, 3);
  PutBe32(p + 3, master_key_id);
  std::memcpy(p + 7, server_uuid.data(), kUuidLength);
  std::memcpy(p + 43, wrapped.data(), 64);
  PutBe32(p + 107, crypto::Crc32c(plain.data(), plain.size()));
  return Status::Ok();
}

StatusOr<EncryptionHeader> ParseEncryptionHeader(const uint8_t* page, size_t page_size) {
  const size_t offset = EncryptionInfoOffset(page_size);
  if (offset == 0 || page == nullptr) return InvalidArgument("unsupported page size");
  ASSIGN_OR_RETURN(keyring_locker::datafile::MySqlEncryptionInfo info,
                   keyring_locker::datafile::ParseMySqlEncryptionInfo({page, page_size}, offset));
  if (info.version != 3) return DataLoss("encryption information is not version 3 (\"lCC\")");
  EncryptionHeader h;
  h.master_key_id = info.master_key_id;
  h.server_uuid = info.server_uuid;
  h.wrapped = info.wrapped;
  h.crc = info.crc;
  return h;
}

StatusOr<TablespaceKey> UnwrapTablespaceKey(const EncryptionHeader& header, const crypto::SecureBuffer& master_key) {
  if (master_key.size() != 32) return InvalidArgument("master key must be 32 bytes");
  ASSIGN_OR_RETURN(crypto::SecureBuffer plain,
                   crypto::Aes256EcbDecrypt(master_key, header.wrapped.data(), header.wrapped.size()));
  if (plain.size() != 64 || crypto::Crc32c(plain.data(), 64) != header.crc) {
    return DataLoss("tablespace key checksum mismatch: wrong master key or damaged page 0");
  }
  TablespaceKey k{crypto::SecureBuffer(32), crypto::SecureBuffer(32)};
  std::memcpy(k.key.data(), plain.data(), 32);
  std::memcpy(k.iv.data(), plain.data() + 32, 32);
  return k;
}

}  // namespace mysqlh::innodb
