#include "tests/mysql_harness/innodb_page0.h"

#include <cstring>

#include "crypto/crypto.h"

namespace mysqlh::innodb {

using keyring_locker::DataLoss;
using keyring_locker::InvalidArgument;
using keyring_locker::Status;
using keyring_locker::StatusOr;
namespace crypto = keyring_locker::crypto;

namespace {
constexpr char kMagic[] = "lCC";
constexpr size_t kFspHeaderEnd = 150;  // FIL_PAGE_DATA (38) + FSP header (112)

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
uint32_t GetBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
}  // namespace

size_t EncryptionInfoOffset(size_t page_size) {
  if (page_size != 4096 && page_size != 8192 && page_size != 16384 && page_size != 32768 && page_size != 65536) {
    return 0;
  }
  // Extents are 1 MiB for pages up to 16K, and 64 pages above.
  const size_t pages_per_extent = page_size <= 16384 ? (1u << 20) / page_size : 64;
  const size_t xdes_size = 24 + pages_per_extent * 2 / 8;
  return kFspHeaderEnd + xdes_size * (page_size / pages_per_extent);
}

std::string MasterKeyName(const std::string& server_uuid, uint32_t master_key_id) {
  return "INNODBKey-" + server_uuid + "-" + std::to_string(master_key_id);
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
  const uint8_t* p = page + offset;
  if (std::memcmp(p, kMagic, 3) != 0) return DataLoss("no \"lCC\" encryption information at its page-0 offset");
  EncryptionHeader h;
  h.master_key_id = GetBe32(p + 3);
  h.server_uuid.assign(reinterpret_cast<const char*>(p + 7), kUuidLength);
  for (char c : h.server_uuid) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-')) {
      return DataLoss("server_uuid in the encryption information is not a UUID");
    }
  }
  std::memcpy(h.wrapped.data(), p + 43, 64);
  h.crc = GetBe32(p + 107);
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
