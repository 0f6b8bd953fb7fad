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

const EVP_MD* Digest(const std::string& name) {
  if (name == "sha1") return EVP_sha1();
  if (name == "sha224") return EVP_sha224();
  if (name == "sha256") return EVP_sha256();
  if (name == "sha384") return EVP_sha384();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
}

Status Derive(const uint8_t* salt, const std::string& secret, const SaltedKdf& kdf, KeyIv* out) {
  const EVP_MD* md = Digest(kdf.digest);
  if (md == nullptr) return InvalidArgument("unknown digest '" + kdf.digest + "'");
  const auto* pass = secret.data();
  const int pass_len = static_cast<int>(secret.size());
  if (kdf.pbkdf2_iterations == 0) {
    if (EVP_BytesToKey(EVP_aes_256_cbc(), md, salt, reinterpret_cast<const uint8_t*>(pass), pass_len, 1,
                       out->key.data(), out->iv) != 32) {
      return Internal("EVP_BytesToKey failed");
    }
    return Status::Ok();
  }
  // openssl enc -pbkdf2: 48 bytes of PBKDF2-HMAC, key then IV.
  crypto::SecureBuffer both(48);
  if (PKCS5_PBKDF2_HMAC(pass, pass_len, salt, static_cast<int>(kSaltLen), static_cast<int>(kdf.pbkdf2_iterations), md,
                        48, both.data()) != 1) {
    return Internal("PKCS5_PBKDF2_HMAC failed");
  }
  std::memcpy(out->key.data(), both.data(), 32);
  std::memcpy(out->iv, both.data() + 32, 16);
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

StatusOr<crypto::SecureBuffer> DecryptWith(const std::string& content, const std::string& secret,
                                           const SaltedKdf& kdf, PlaintextCheck plausible) {
  const auto* salt = reinterpret_cast<const uint8_t*>(content.data()) + kMagicLen;
  KeyIv k;
  RETURN_IF_ERROR(Derive(salt, secret, kdf, &k));
  const auto* body = salt + kSaltLen;
  const size_t len = content.size() - kMagicLen - kSaltLen;
  ASSIGN_OR_RETURN(crypto::SecureBuffer plain, crypto::Aes256CbcDecrypt(k.key, k.iv, body, len));
  size_t pad = 0;
  if (!PaddingLength(plain, &pad)) return InvalidArgument("bad padding");
  plain.Truncate(plain.size() - pad);
  if (plausible != nullptr && !plausible(plain)) return InvalidArgument("not the expected plaintext");
  return plain;
}

std::string Describe(const SaltedKdf& kdf) {
  return "--digest " + kdf.digest +
         (kdf.pbkdf2_iterations ? " --use-pbkdf2 " + std::to_string(kdf.pbkdf2_iterations) : std::string());
}

}  // namespace

Status CheckKdf(const SaltedKdf& kdf) {
  if (Digest(kdf.digest) == nullptr) {
    return InvalidArgument("--digest must be one of sha1, sha224, sha256, sha384, sha512 (the values of "
                           "file_key_management_digest), not '" + kdf.digest + "'");
  }
  return Status::Ok();
}

bool LooksSalted(const std::string& content) {
  return content.size() >= kMagicLen && std::memcmp(content.data(), kSaltedMagic, kMagicLen) == 0;
}

StatusOr<crypto::SecureBuffer> DecryptSalted(const std::string& content, const std::string& secret,
                                             const SaltedKdf& kdf, PlaintextCheck plausible) {
  RETURN_IF_ERROR(CheckKdf(kdf));
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
  auto plain = DecryptWith(content, secret, kdf, plausible);
  if (plain.ok()) return plain;
  // openssl enc's default digest since 1.1.0 (a server setting on MariaDB 11's
  // file_key_management_digest): name it rather than call the key wrong.
  if (kdf.digest != "sha256" || kdf.pbkdf2_iterations != 0) {
    SaltedKdf sha256;
    sha256.digest = "sha256";
    if (DecryptWith(content, secret, sha256, plausible).ok()) {
      return InvalidArgument("the key file decrypts with --digest sha256 (made by `openssl enc` without -md sha1), "
                             "not with " + Describe(kdf) + ": give --digest sha256 if the server had "
                             "file_key_management_digest=sha256 (MariaDB 10.x servers cannot read such a file)");
    }
  }
  return InvalidArgument("cannot decrypt the key file with " + Describe(kdf) +
                         ": wrong file key (check file_key_management_filekey; with FILE:/path the file's content "
                         "is the key), or the server used another file_key_management_digest / "
                         "file_key_management_use_pbkdf2 (give the same as --digest / --use-pbkdf2)");
}

StatusOr<std::string> EncryptSalted(const crypto::SecureBuffer& plaintext, const std::string& secret,
                                    const std::string& salt8, const SaltedKdf& kdf) {
  if (salt8.size() != kSaltLen) return InvalidArgument("the salt must be 8 bytes");
  KeyIv k;
  RETURN_IF_ERROR(Derive(reinterpret_cast<const uint8_t*>(salt8.data()), secret, kdf, &k));
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
