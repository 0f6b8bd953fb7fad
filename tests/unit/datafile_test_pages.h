// Synthetic InnoDB pages and redo headers for the datafile tests, laid out
// from the server sources cited in datafile/*.h (written independently of
// the parsers so a wrong offset in either shows up as a failing test).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace datafile_test {

inline void Be32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>(v >> 24);
  b[off + 1] = static_cast<uint8_t>(v >> 16);
  b[off + 2] = static_cast<uint8_t>(v >> 8);
  b[off + 3] = static_cast<uint8_t>(v);
}

constexpr uint32_t kFcrc32_16k = 0x10 | 5;  // full_crc32 marker + page ssize 5
constexpr uint32_t kClassic16k = 0x21;      // POST_ANTELOPE + ATOMIC_BLOBS, ssize 0 = 16K
constexpr uint32_t kClassicZip8k = 0x21 | (4u << 1);
constexpr uint32_t kMySqlEncrypted16k = 0x21 | (1u << 13) | (1u << 14);  // ENCRYPTION + SDI

// Page 0 of `physical` bytes: FIL header (page 0, FSP_HDR), FSP header.
inline std::vector<uint8_t> MakePage0(size_t physical, uint32_t flags, uint32_t space_id) {
  std::vector<uint8_t> p(physical, 0);
  p[24] = 0;
  p[25] = 8;  // FIL_PAGE_TYPE_FSP_HDR
  Be32(p, 34, space_id);
  Be32(p, 38, space_id);
  Be32(p, 54, flags);
  return p;
}

// MariaDB crypt_data at `off` (fil_space_crypt_t::write_page0).
inline void PutCryptData(std::vector<uint8_t>& p, size_t off, uint8_t type, uint32_t min_version, uint32_t key_id,
                         uint8_t mode) {
  const uint8_t magic[6] = {'s', 0xE, 0xC, 'R', 'E', 't'};
  std::memcpy(p.data() + off, magic, 6);
  p[off + 6] = type;
  p[off + 7] = 16;
  for (int i = 0; i < 16; ++i) p[off + 8 + i] = static_cast<uint8_t>(0xA0 + i);
  Be32(p, off + 24, min_version);
  Be32(p, off + 28, key_id);
  p[off + 32] = mode;
}

// MySQL encryption info v3 ("lCC") at `off` with a fake wrapped key.
inline void PutMySqlInfo(std::vector<uint8_t>& p, size_t off, const char* magic, uint32_t id, const std::string& uuid) {
  std::memcpy(p.data() + off, magic, 3);
  Be32(p, off + 3, id);
  size_t q = off + 7;
  if (!uuid.empty()) {
    std::memcpy(p.data() + q, uuid.data(), uuid.size());
    q += uuid.size();
  }
  for (int i = 0; i < 64; ++i) p[q + i] = static_cast<uint8_t>(i * 7);
  Be32(p, q + 64, 0x12345678);
}

// MariaDB 10.8 ib_logfile0 header block (log_t::header_write).
inline std::vector<uint8_t> MariaRedo(uint32_t key_version, size_t size = 4096) {
  std::vector<uint8_t> b(size, 0);
  Be32(b, 0, 0x50687973);
  Be32(b, 12, 12288);
  const char creator[] = "MariaDB 10.11.6";
  std::memcpy(b.data() + 16, creator, sizeof creator - 1);
  if (key_version != 0) {
    Be32(b, 48, 1);
    Be32(b, 52, key_version);
  }
  Be32(b, 508, keyring_locker::crypto::Crc32c(b.data(), 508));
  return b;
}

inline std::vector<uint8_t> MySqlRedo(uint32_t format, bool encrypted, size_t size = 4096) {
  std::vector<uint8_t> b(size, 0);
  Be32(b, 0, format);
  const char creator[] = "MySQL 8.0.36";
  std::memcpy(b.data() + 16, creator, sizeof creator - 1);
  if (encrypted) PutMySqlInfo(b, 1024 + 48, "lCC", 3, "3e11fa47-71ca-11e1-9e33-c80aa9429562");
  return b;
}

}  // namespace datafile_test
