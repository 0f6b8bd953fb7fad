#include "tools/import/openssl_salted.h"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"

namespace keyring_locker::import {
namespace {

constexpr size_t kMagicLen = 8, kSaltLen = 8, kBlock = 16;

struct KeyIv {
  crypto::SecureBuffer key{32};
  uint8_t iv[16] = {};
  ~KeyIv() { OPENSSL_cleanse(iv, sizeof(iv)); }
};

Status Derive(const uint8_t* salt, const std::string& secret, const EVP_MD* md, KeyIv* out) {
  if (EVP_BytesToKey(EVP_aes_256_cbc(), md, salt, reinterpret_cast<const uint8_t*>(secret.data()),
                     static_cast<int>(secret.size()), 1, out->key.data(), out->iv) != 32) {
    return Internal("EVP_BytesToKey failed");
  }
  return Status::Ok();
}

// PKCS#7: the last byte n (1..16) and n bytes of value n.
bool PaddingLength(const crypto::SecureBuffer& plain, size_t* n) {
  if (plain.empty()) return false;
  const uint8_t last = plain.data()[plain.size() - 1];
  if (last == 0 || last > kBlock || last > plain.size()) return false;
  uint8_t diff = 0;
  for (size_t i = plain.size() - last; i < plain.size(); ++i) diff |= plain.data()[i] ^ last;
  *n = last;
  return diff == 0;
}

StatusOr<crypto::SecureBuffer> DecryptWith(const std::string& content, const std::string& secret, const EVP_MD* md) {
  const auto* salt = reinterpret_cast<const uint8_t*>(content.data()) + kMagicLen;
  KeyIv k;
  RETURN_IF_ERROR(Derive(salt, secret, md, &k));
  const auto* body = salt + kSaltLen;
  const size_t len = content.size() - kMagicLen - kSaltLen;
  ASSIGN_OR_RETURN(crypto::SecureBuffer plain, crypto::Aes256CbcDecrypt(k.key, k.iv, body, len));
  size_t pad = 0;
  if (!PaddingLength(plain, &pad)) return InvalidArgument("bad padding");
  plain.Truncate(plain.size() - pad);
  return plain;
}

}  // namespace

bool LooksSalted(const std::string& content) {
  return content.size() >= kMagicLen && std::memcmp(content.data(), kSaltedMagic, kMagicLen) == 0;
}

StatusOr<crypto::SecureBuffer> DecryptSalted(const std::string& content, const std::string& secret) {
  if (!LooksSalted(content)) return InvalidArgument("the file does not start with OpenSSL's \"Salted__\"");
  if (content.size() < kMagicLen + kSaltLen + kBlock) {
    return InvalidArgument("the encrypted key file is truncated: " + std::to_string(content.size()) +
                           " bytes, less than the salt and one AES block; restore it from a backup");
  }
  const size_t body = content.size() - kMagicLen - kSaltLen;
  if (body % kBlock != 0) {
    return InvalidArgument("the encrypted key file is truncated or damaged: its " + std::to_string(body) +
                           " encrypted bytes are not a whole number of 16-byte AES blocks; restore it from a backup");
  }
  if (secret.empty()) {
    return InvalidArgument("the key file is encrypted (it starts with \"Salted__\"): give the server's "
                           "file_key_management_filekey as --filekey SECRET or --filekey FILE:/path");
  }
  auto plain = DecryptWith(content, secret, EVP_sha1());
  if (plain.ok()) return plain;
  // openssl enc's default digest since 1.1.0: a file the server never read.
  if (DecryptWith(content, secret, EVP_sha256()).ok()) {
    return InvalidArgument("the key file was encrypted with `openssl enc` without -md sha1 (SHA-256 key derivation); "
                           "MariaDB's file_key_management cannot read such a file, so no server used it as it is: "
                           "re-encrypt it with `openssl enc -aes-256-cbc -md sha1` or import the plain file");
  }
  return InvalidArgument("cannot decrypt the key file: wrong file key (check file_key_management_filekey; with "
                         "FILE:/path the first line of that file is the key), or the file was encrypted with "
                         "-pbkdf2 or another cipher, which the server cannot read either");
}

StatusOr<std::string> EncryptSalted(const crypto::SecureBuffer& plaintext, const std::string& secret,
                                    const std::string& salt8, bool sha256) {
  if (salt8.size() != kSaltLen) return InvalidArgument("the salt must be 8 bytes");
  KeyIv k;
  const EVP_MD* md = sha256 ? EVP_sha256() : EVP_sha1();
  RETURN_IF_ERROR(Derive(reinterpret_cast<const uint8_t*>(salt8.data()), secret, md, &k));
  const size_t pad = kBlock - plaintext.size() % kBlock;
  crypto::SecureBuffer padded(plaintext.size() + pad);
  if (!plaintext.empty()) std::memcpy(padded.data(), plaintext.data(), plaintext.size());
  std::memset(padded.data() + plaintext.size(), static_cast<int>(pad), pad);
  ASSIGN_OR_RETURN(crypto::SecureBuffer sealed, crypto::Aes256CbcEncrypt(k.key, k.iv, padded.data(), padded.size()));
  std::string out(kSaltedMagic, kMagicLen);
  out += salt8;
  out.append(reinterpret_cast<const char*>(sealed.data()), sealed.size());
  return out;
}

}  // namespace keyring_locker::import
