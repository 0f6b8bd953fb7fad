#include "datafile/mysql_encryption.h"

#include <cstring>

namespace keyring_locker::datafile {

namespace {
constexpr size_t kFspHeaderEnd = 38 + 112;  // FIL_PAGE_DATA + FSP_HEADER_SIZE

bool IsUuidText(const std::string& s) {
  if (s.size() != kMySqlUuidLength) return false;
  for (char c : s) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != '-') return false;
  }
  return true;
}
}  // namespace

std::string MySqlMasterKeyName(const std::string& server_uuid, uint32_t master_key_id) {
  return "INNODBKey-" + server_uuid + "-" + std::to_string(master_key_id);
}

std::string MySqlMasterKeyName(const MySqlEncryptionInfo& info) {
  if (info.version == 3 && info.master_key_id == 0) return "";
  if (info.version == 1) return MySqlMasterKeyName("<server_id>", info.master_key_id);
  return MySqlMasterKeyName(info.server_uuid, info.master_key_id);
}

size_t Page0EncryptionOffset(size_t logical_size, size_t physical_size) {
  const bool logical_ok = logical_size == 4096 || logical_size == 8192 || logical_size == 16384 ||
                          logical_size == 32768 || logical_size == 65536;
  const bool physical_ok = physical_size >= 1024 && physical_size <= logical_size &&
                           (physical_size & (physical_size - 1)) == 0;
  if (!logical_ok || !physical_ok) return 0;
  // FSP_EXTENT_SIZE: 1 MiB of pages up to 16K, 64 pages above.
  const size_t extent_pages = logical_size <= 16384 ? (size_t{1} << 20) / logical_size : 64;
  const size_t xdes_size = 24 + (extent_pages * 2 + 7) / 8;  // XDES_BITMAP + 2 bits per page
  const size_t xdes_count = physical_size / extent_pages;
  return kFspHeaderEnd + xdes_size * xdes_count;
}

StatusOr<MySqlEncryptionInfo> ParseMySqlEncryptionInfo(ByteView bytes, size_t offset) {
  MySqlEncryptionInfo info;
  if (bytes.Equals(offset, "lCA", 3)) {
    info.version = 1;
  } else if (bytes.Equals(offset, "lCB", 3)) {
    info.version = 2;
  } else if (bytes.Equals(offset, "lCC", 3)) {
    info.version = 3;
  } else if (!bytes.Has(offset, 3)) {
    return DataLoss("file ends before the encryption information (offset " + std::to_string(offset) +
                    "): the file is truncated; restore it from a backup");
  } else {
    return NotFound("no encryption information (\"lCA\"/\"lCB\"/\"lCC\") at offset " + std::to_string(offset));
  }
  size_t p = offset + 3;
  if (!bytes.Be32(p, info.master_key_id)) return DataLoss("encryption information cut short after its magic");
  p += 4;
  // v1/v2: a zero word after the id means the id was written as 8 bytes.
  uint32_t pad = 1;
  if (info.version < 3 && bytes.Be32(p, pad) && pad == 0) p += 4;
  if (info.version >= 2) {
    if (!bytes.Has(p, kMySqlUuidLength)) return DataLoss("encryption information cut short in the server uuid");
    info.server_uuid.assign(reinterpret_cast<const char*>(bytes.data + p), kMySqlUuidLength);
    if (!IsUuidText(info.server_uuid)) {
      info.server_uuid.clear();
      return DataLoss("server uuid in the encryption information is not a UUID: damaged page or not InnoDB");
    }
    p += kMySqlUuidLength;
  }
  if (!bytes.Has(p, 64 + 4)) return DataLoss("encryption information cut short in the wrapped tablespace key");
  std::memcpy(info.wrapped.data(), bytes.data + p, 64);
  (void)bytes.Be32(p + 64, info.crc);
  return info;
}

}  // namespace keyring_locker::datafile
