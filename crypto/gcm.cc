// AES-256-GCM for data the keyring itself seals (cache files, audit records).
// Layout of a sealed blob: iv(12) || ciphertext || tag(16).
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstring>
#include <new>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace keyring_locker::crypto {
namespace {

using internal::CipherCtx;
using internal::FitsInt;

Status CheckGcmArgs(const char* op, const SecureBuffer& key, const uint8_t* iv, size_t iv_len,
                    const uint8_t* data, size_t len, const uint8_t* aad, size_t aad_len) {
  if (key.size() != kAes256KeySize) return internal::KeySizeError(op, key.size());
  if (iv == nullptr || iv_len == 0) {
    return InvalidArgument(std::string(op) + ": IV is empty; pass a 12-byte IV");
  }
  if (data == nullptr && len != 0) {
    return InvalidArgument(std::string(op) + ": data pointer is null with a non-zero length; pass the buffer or a zero length");
  }
  if (aad == nullptr && aad_len != 0) {
    return InvalidArgument(std::string(op) + ": AAD pointer is null with a non-zero length; pass the AAD or a zero length");
  }
  if (!FitsInt(len) || !FitsInt(aad_len) || !FitsInt(iv_len)) {
    return InvalidArgument(std::string(op) + ": input exceeds the 2 GiB OpenSSL limit; split it");
  }
  return Status::Ok();
}

// Sets up a GCM context with key, IV and AAD already absorbed.
Status InitGcm(EVP_CIPHER_CTX* ctx, bool encrypt, const SecureBuffer& key, const uint8_t* iv,
               size_t iv_len, const uint8_t* aad, size_t aad_len) {
  int unused = 0;
  const bool ok =
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv_len), nullptr) == 1 &&
      EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), iv, encrypt ? 1 : 0) == 1 &&
      (aad_len == 0 ||
       EVP_CipherUpdate(ctx, nullptr, &unused, aad, static_cast<int>(aad_len)) == 1);
  if (!ok) {
    ERR_clear_error();
    return Internal("AES-256-GCM: OpenSSL refused to initialise the cipher; check the OpenSSL "
                    "installation and provider configuration");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Bytes> Aes256GcmEncryptWithIv(const SecureBuffer& key, const uint8_t* iv, size_t iv_len,
                                       const uint8_t* plaintext, size_t len, const uint8_t* aad,
                                       size_t aad_len, uint8_t tag_out[16]) {
  static const char kOp[] = "AES-256-GCM encrypt";
  RETURN_IF_ERROR(CheckGcmArgs(kOp, key, iv, iv_len, plaintext, len, aad, aad_len));
  if (tag_out == nullptr) return InvalidArgument("AES-256-GCM encrypt: tag_out is null; pass a 16-byte buffer");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return ResourceExhausted("AES-256-GCM encrypt: EVP_CIPHER_CTX_new failed (out of memory)");
  RETURN_IF_ERROR(InitGcm(ctx.get(), true, key, iv, iv_len, aad, aad_len));
  try {
    // One spare byte so data() is never null when the plaintext is empty.
    Bytes out(len + 1);
    int n = 0, tail = 0;
    bool ok = len == 0 ||
              EVP_EncryptUpdate(ctx.get(), out.data(), &n, plaintext, static_cast<int>(len)) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &tail) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag_out) == 1;
    ERR_clear_error();
    if (!ok || static_cast<size_t>(n + tail) != len) {
      return Internal("AES-256-GCM encrypt: OpenSSL encryption failed; check the OpenSSL installation");
    }
    out.resize(len);
    return out;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("AES-256-GCM encrypt: out of memory for a " + std::to_string(len) +
                             "-byte ciphertext; free memory or seal smaller records");
  }
}

StatusOr<Bytes> Aes256GcmSeal(const SecureBuffer& key, const uint8_t* plaintext, size_t len,
                              const uint8_t* aad, size_t aad_len) {
  uint8_t iv[kGcmIvSize];
  // A random 96-bit IV: callers never manage counters, and the collision bound
  // (2^32 messages per key) is far above what a keyring seals.
  RETURN_IF_ERROR(RandomBytes(iv, sizeof iv));
  uint8_t tag[kGcmTagSize];
  ASSIGN_OR_RETURN(Bytes ct, Aes256GcmEncryptWithIv(key, iv, sizeof iv, plaintext, len, aad,
                                                    aad_len, tag));
  try {
    Bytes sealed;
    sealed.reserve(kGcmIvSize + ct.size() + kGcmTagSize);
    sealed.insert(sealed.end(), iv, iv + kGcmIvSize);
    sealed.insert(sealed.end(), ct.begin(), ct.end());
    sealed.insert(sealed.end(), tag, tag + kGcmTagSize);
    return sealed;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("AES-256-GCM seal: out of memory assembling the sealed blob; "
                             "free memory or seal smaller records");
  }
}

StatusOr<SecureBuffer> Aes256GcmOpen(const SecureBuffer& key, const uint8_t* sealed, size_t len,
                                     const uint8_t* aad, size_t aad_len) {
  static const char kOp[] = "AES-256-GCM open";
  if (sealed == nullptr || len < kGcmIvSize + kGcmTagSize) {
    return DataLoss("AES-256-GCM open: sealed data is " + std::to_string(sealed ? len : 0) +
                    " bytes, shorter than the 28-byte IV+tag minimum; the blob is truncated "
                    "or was not produced by Aes256GcmSeal");
  }
  const uint8_t* iv = sealed;
  const uint8_t* ct = sealed + kGcmIvSize;
  const size_t ct_len = len - kGcmIvSize - kGcmTagSize;
  const uint8_t* tag = sealed + len - kGcmTagSize;
  RETURN_IF_ERROR(CheckGcmArgs(kOp, key, iv, kGcmIvSize, ct, ct_len, aad, aad_len));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return ResourceExhausted("AES-256-GCM open: EVP_CIPHER_CTX_new failed (out of memory)");
  RETURN_IF_ERROR(InitGcm(ctx.get(), false, key, iv, kGcmIvSize, aad, aad_len));
  ASSIGN_OR_RETURN(SecureBuffer out, internal::AllocSecure(ct_len));
  // EVP_CTRL_GCM_SET_TAG wants a mutable pointer; give it a copy, not the input.
  uint8_t tag_copy[kGcmTagSize];
  std::memcpy(tag_copy, tag, kGcmTagSize);
  uint8_t scratch[kAesBlockSize];
  uint8_t* dst = ct_len == 0 ? scratch : out.data();
  int n = 0, tail = 0;
  bool ok = ct_len == 0 || EVP_DecryptUpdate(ctx.get(), dst, &n, ct, static_cast<int>(ct_len)) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag_copy) == 1;
  // Final is where the tag is checked; on failure `out` holds unauthenticated
  // plaintext, which the SecureBuffer destructor wipes on the early return.
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), dst + n, &tail) == 1;
  ERR_clear_error();
  if (!ok) {
    return DataLoss("AES-256-GCM open: authentication failed; the data is corrupt, or the key "
                    "or associated data differ from those used to seal it");
  }
  return out;
}

}  // namespace keyring_locker::crypto
