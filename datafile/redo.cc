#include "datafile/redo.h"

#include "crypto/crypto.h"

namespace keyring_locker::datafile {

namespace {
constexpr size_t kCreator = 16;
constexpr size_t kCreatorEnd = 48;
constexpr size_t kChecksum = 508;
constexpr uint32_t kMySqlNewestKnownFormat = 6;  // Log_format::VERSION_8_0_30

std::string Hex32(uint32_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s.push_back(kDigits[(v >> shift) & 0xF]);
  return s;
}

StatusOr<RedoHeader> ParseMaria(ByteView b, RedoHeader h) {
  if (!b.Has(0, kMariaRedoHeaderSize)) {
    return DataLoss("MariaDB redo log shorter than its 512-byte header: truncated file");
  }
  uint32_t stored = 0;
  (void)b.Be32(kChecksum, stored);
  if (crypto::Crc32c(b.data, kChecksum) != stored) {
    return DataLoss("MariaDB redo log header checksum mismatch: damaged ib_logfile0 (do not start a server on it; "
                    "restore the file from the same backup as the data files)");
  }
  (void)b.Be64(8, h.start_lsn);
  uint32_t key_id = 0;
  (void)b.Be32(kCreatorEnd, key_id);
  if (key_id == 0 && h.format == kMariaRedoFormatEncrypted) {
    return DataLoss("MariaDB redo log in the encrypted format without encryption information: damaged header");
  }
  if (key_id == 0) return h;  // not encrypted: header_write leaves the bytes zero
  if (key_id != kMariaRedoKeyId) {
    return DataLoss("MariaDB redo log names encryption key " + std::to_string(key_id) +
                    "; MariaDB only writes key 1 here: damaged header");
  }
  h.encrypted = true;
  h.key_id = key_id;
  (void)b.Be32(kCreatorEnd + 4, h.key_version);
  if (h.key_version == 0) return DataLoss("encrypted MariaDB redo log with key version 0: damaged header");
  return h;
}
}  // namespace

StatusOr<RedoHeader> ParseRedoHeader(ByteView b) {
  RedoHeader h;
  if (!b.Be32(0, h.format) || !b.Has(0, kCreatorEnd)) {
    return NotFound("too short for a redo log header (" + std::to_string(b.size) + " bytes)");
  }
  h.creator = b.Text(kCreator, kCreatorEnd - kCreator);
  const uint32_t base = h.format & ~kMariaRedoEncryptedBit;
  if (base == kMariaRedoFormat108 || h.format == kMariaRedoFormatEncrypted) return ParseMaria(b, std::move(h));
  if (base == kMariaRedoFormat105 || ((base == 103 || base == 104) && h.creator.rfind("MariaDB", 0) == 0)) {
    return DataLoss("MariaDB redo log format " + Hex32(h.format) +
                    " is older than 10.8 (key information is in its checkpoint blocks, not read here): "
                    "inspect it after a clean shutdown and an upgrade to 10.11");
  }
  const bool mysql_creator = h.creator.rfind("MySQL", 0) == 0 || h.creator.rfind("MEB", 0) == 0;
  if (!mysql_creator || h.format == 0 || h.format > 0xFF) {
    return NotFound("no redo log format this reader knows (format " + Hex32(h.format) + ")");
  }
  if (h.format > kMySqlNewestKnownFormat) {
    return DataLoss("MySQL redo log format " + std::to_string(h.format) + " is newer than 8.0.30's (6): upgrade "
                    "keyring-locker");
  }
  h.mysql = true;
  (void)b.Be64(8, h.start_lsn);
  if (!b.Has(0, kMySqlRedoHeaderSize)) {
    return DataLoss("MySQL redo log shorter than its 2048-byte header: truncated file");
  }
  auto info = ParseMySqlEncryptionInfo(b, kMySqlRedoEncryptionOffset);
  if (info.ok()) {
    h.encrypted = true;
    h.mysql_info = std::move(info).value();
  } else if (info.status().code() != Code::kNotFound) {
    return info.status().Annotate("MySQL redo log header");
  }
  return h;
}

}  // namespace keyring_locker::datafile
