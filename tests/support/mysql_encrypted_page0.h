// Page 0 of a MySQL 8 tablespace encrypted under a given master key, laid out
// from storage/innobase/os/os0enc.cc (Encryption::fill_encryption_info, info
// version 3 "lCC") and fsp0fsp.cc (where the block sits): written
// independently of datafile/ so a wrong offset or CRC in either shows up as a
// failing test. For inspect --verify's test and benchmark.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/secure_buffer.h"

namespace mysql_page0 {

constexpr size_t kPageSize = 16384;
constexpr size_t kInfoOffset = 10390;  // FSP header end + 256 extent descriptors of 40 bytes, 16K pages
constexpr size_t kWrappedOffset = kInfoOffset + 3 + 4 + 36;
constexpr uint32_t kFlags = 0x21 | (1u << 13) | (1u << 14);  // POST_ANTELOPE, ATOMIC_BLOBS, ENCRYPTION, SDI

inline void PutBe32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// A 16K page 0 whose tablespace key||iv (`key_iv`, 64 bytes) is wrapped
// under `master` (32 bytes) and named by master key id `id` of server `uuid`.
inline std::vector<uint8_t> EncryptedPage0(uint32_t space_id, uint32_t id, const std::string& uuid,
                                           const keyring_locker::crypto::SecureBuffer& master,
                                           const uint8_t key_iv[64]) {
  std::vector<uint8_t> p(kPageSize, 0);
  p[25] = 8;  // FIL_PAGE_TYPE_FSP_HDR
  PutBe32(p, 34, space_id);
  PutBe32(p, 38, space_id);
  PutBe32(p, 54, kFlags);
  std::memcpy(p.data() + kInfoOffset, "lCC", 3);
  PutBe32(p, kInfoOffset + 3, id);
  std::memcpy(p.data() + kInfoOffset + 7, uuid.data(), 36);
  auto wrapped = keyring_locker::crypto::Aes256EcbEncrypt(master, key_iv, 64);
  if (wrapped.ok()) std::memcpy(p.data() + kWrappedOffset, wrapped->data(), 64);
  PutBe32(p, kWrappedOffset + 64, keyring_locker::crypto::Crc32c(key_iv, 64));
  return p;
}

// InnoDB's master key for id 0: "DefaultMasterKey", zero-padded to 32 bytes.
inline keyring_locker::crypto::SecureBuffer DefaultMasterKey() {
  keyring_locker::crypto::SecureBuffer k(32);
  std::memcpy(k.data(), "DefaultMasterKey", 16);
  return k;
}

}  // namespace mysql_page0
