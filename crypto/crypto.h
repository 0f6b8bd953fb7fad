// Thin, safe wrappers over OpenSSL 3 EVP. Nothing cryptographic is written by
// hand here: every function delegates to OpenSSL and only adds argument checks
// and Status results. Secret outputs are SecureBuffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::crypto {

using Bytes = std::vector<uint8_t>;

constexpr size_t kAes256KeySize = 32;
constexpr size_t kAesBlockSize = 16;
constexpr size_t kGcmIvSize = 12;
constexpr size_t kGcmTagSize = 16;

// AES-256-ECB without padding: exactly how InnoDB wraps a tablespace key||iv
// (64 bytes) under the master key. `in` must be a multiple of 16 bytes.
StatusOr<SecureBuffer> Aes256EcbEncrypt(const SecureBuffer& key, const uint8_t* in, size_t len);
StatusOr<SecureBuffer> Aes256EcbDecrypt(const SecureBuffer& key, const uint8_t* in, size_t len);

// AES-256-CBC without padding (InnoDB page and redo encryption). 16-byte IV;
// `len` must be a multiple of 16.
StatusOr<SecureBuffer> Aes256CbcEncrypt(const SecureBuffer& key, const uint8_t iv[16],
                                        const uint8_t* in, size_t len);
StatusOr<SecureBuffer> Aes256CbcDecrypt(const SecureBuffer& key, const uint8_t iv[16],
                                        const uint8_t* in, size_t len);

// AES-256-GCM. Seal returns iv(12) || ciphertext || tag(16) with a fresh random
// IV; Open takes that layout back and fails with kDataLoss on a bad tag.
StatusOr<Bytes> Aes256GcmSeal(const SecureBuffer& key, const uint8_t* plaintext, size_t len,
                              const uint8_t* aad, size_t aad_len);
StatusOr<SecureBuffer> Aes256GcmOpen(const SecureBuffer& key, const uint8_t* sealed, size_t len,
                                     const uint8_t* aad, size_t aad_len);
// GCM with a caller-supplied IV, for known-answer tests and fixed formats.
StatusOr<Bytes> Aes256GcmEncryptWithIv(const SecureBuffer& key, const uint8_t* iv, size_t iv_len,
                                       const uint8_t* plaintext, size_t len, const uint8_t* aad,
                                       size_t aad_len, uint8_t tag_out[16]);

// CRC-32C (Castagnoli, reflected, init and xorout 0xFFFFFFFF) as InnoDB uses
// it for the page-0 encryption block. Incremental: pass the previous result.
uint32_t Crc32c(const uint8_t* data, size_t len, uint32_t previous = 0);

// Cryptographically secure random bytes (RAND_priv_bytes).
StatusOr<SecureBuffer> RandomKey(size_t len);
Status RandomBytes(uint8_t* out, size_t len);  // for non-secret nonces/jitter

// SHA-256 (audit-log chain, keyring_aes key derivation).
Bytes Sha256(const uint8_t* data, size_t len);
inline Bytes Sha256(const std::string& s) { return Sha256(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
std::string HexEncode(const uint8_t* data, size_t len);
inline std::string HexEncode(const Bytes& b) { return HexEncode(b.data(), b.size()); }
// How the tools show a key without showing it: the first 8 bytes of its
// SHA-256, in hex (keyring-locker's fingerprint, import, migrate, bundles).
inline std::string KeyFingerprint(const SecureBuffer& key) {
  const Bytes h = Sha256(key.data(), key.size());
  return HexEncode(h.data(), 8);
}

// Standard base64 (RFC 4648, with padding), as Vault's JSON uses it. The
// *Secret variants keep key bytes (and their encodings) in SecureBuffers.
std::string Base64Encode(const uint8_t* data, size_t len);
SecureBuffer Base64EncodeSecret(const SecureBuffer& secret);  // ASCII, not NUL-terminated
StatusOr<Bytes> Base64Decode(const std::string& text);        // rejects invalid input
StatusOr<SecureBuffer> Base64DecodeSecret(const char* text, size_t len);

}  // namespace keyring_locker::crypto
