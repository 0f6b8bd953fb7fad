// AES-256 ECB and CBC without padding, the modes InnoDB uses for key wrapping
// and page encryption. Padding stays off because InnoDB's formats are always
// whole blocks and a padding block would change the on-disk layout.
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace keyring_locker::crypto {
namespace {

using internal::AllocSecure;
using internal::CipherCtx;

Status CheckBlockArgs(const char* op, const SecureBuffer& key, const uint8_t* in, size_t len) {
  if (key.size() != kAes256KeySize) return internal::KeySizeError(op, key.size());
  if (len == 0 || len % kAesBlockSize != 0) {
    return InvalidArgument(std::string(op) + ": input is " + std::to_string(len) +
                           " bytes; it must be a positive multiple of 16 (no padding is applied)");
  }
  if (in == nullptr) return InvalidArgument(std::string(op) + ": input pointer is null; pass the data to transform");
  if (!internal::FitsInt(len)) {
    return InvalidArgument(std::string(op) + ": input of " + std::to_string(len) +
                           " bytes exceeds the 2 GiB OpenSSL limit; split it");
  }
  return Status::Ok();
}

StatusOr<SecureBuffer> RunCipher(const char* op, const EVP_CIPHER* cipher, bool encrypt,
                                 const SecureBuffer& key, const uint8_t* iv, const uint8_t* in,
                                 size_t len) {
  RETURN_IF_ERROR(CheckBlockArgs(op, key, in, len));
  ASSIGN_OR_RETURN(SecureBuffer out, AllocSecure(len));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return ResourceExhausted(std::string(op) + ": EVP_CIPHER_CTX_new failed (out of memory)");
  int n = 0, tail = 0;
  const bool ok = EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv, encrypt ? 1 : 0) == 1 &&
                  EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
                  EVP_CipherUpdate(ctx.get(), out.data(), &n, in, static_cast<int>(len)) == 1 &&
                  EVP_CipherFinal_ex(ctx.get(), out.data() + n, &tail) == 1;
  // Leave no OpenSSL error queue entries behind for unrelated callers to trip on.
  ERR_clear_error();
  if (!ok || static_cast<size_t>(n + tail) != len) {
    return Internal(std::string(op) + ": OpenSSL cipher operation failed; check the OpenSSL "
                    "installation (FIPS provider or legacy config may block AES-256)");
  }
  return out;
}

Status CheckIv(const char* op, const uint8_t* iv) {
  if (iv == nullptr) return InvalidArgument(std::string(op) + ": IV pointer is null; pass a 16-byte IV");
  return Status::Ok();
}

}  // namespace

StatusOr<SecureBuffer> Aes256EcbEncrypt(const SecureBuffer& key, const uint8_t* in, size_t len) {
  return RunCipher("AES-256-ECB encrypt", EVP_aes_256_ecb(), true, key, nullptr, in, len);
}

StatusOr<SecureBuffer> Aes256EcbDecrypt(const SecureBuffer& key, const uint8_t* in, size_t len) {
  return RunCipher("AES-256-ECB decrypt", EVP_aes_256_ecb(), false, key, nullptr, in, len);
}

StatusOr<SecureBuffer> Aes256CbcEncrypt(const SecureBuffer& key, const uint8_t iv[16],
                                        const uint8_t* in, size_t len) {
  RETURN_IF_ERROR(CheckIv("AES-256-CBC encrypt", iv));
  return RunCipher("AES-256-CBC encrypt", EVP_aes_256_cbc(), true, key, iv, in, len);
}

StatusOr<SecureBuffer> Aes256CbcDecrypt(const SecureBuffer& key, const uint8_t iv[16],
                                        const uint8_t* in, size_t len) {
  RETURN_IF_ERROR(CheckIv("AES-256-CBC decrypt", iv));
  return RunCipher("AES-256-CBC decrypt", EVP_aes_256_cbc(), false, key, iv, in, len);
}

}  // namespace keyring_locker::crypto
