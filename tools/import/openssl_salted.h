// The `openssl enc -aes-256-cbc -md sha1 -k SECRET` file layout that MariaDB's
// file_key_management reads when file_key_management_filekey is set: the 8
// bytes "Salted__", an 8-byte salt, then AES-256-CBC with PKCS#7 padding
// under a key and IV derived from the secret and the salt: OpenSSL's
// EVP_BytesToKey (one iteration) with SHA-1, or, on servers that have
// file_key_management_digest / file_key_management_use_pbkdf2 (MariaDB 11),
// that digest, or PBKDF2-HMAC with it and that many iterations, as
// `openssl enc -md DIGEST [-pbkdf2 -iter N]` does. Facts from the plugin's
// parser; the derivations are OpenSSL's own functions.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::import {

inline constexpr char kSaltedMagic[] = "Salted__";

// How the key and IV come from the secret: the plugin's
// file_key_management_digest and file_key_management_use_pbkdf2.
struct SaltedKdf {
  std::string digest = "sha1";  // sha1, sha224, sha256, sha384, sha512
  unsigned pbkdf2_iterations = 0;  // 0: EVP_BytesToKey
};
// InvalidArgument for a digest the plugin does not offer.
Status CheckKdf(const SaltedKdf& kdf);

bool LooksSalted(const std::string& content);

// The plaintext, or an error naming the problem: too short, not a multiple of
// the block size (truncated), or a padding that does not check (a wrong file
// key, or a file made with another digest / -pbkdf2 that the server could not
// read either). A wrong key passes the padding check about once in 256
// tries, so `plausible` (when given) must also accept the plaintext before it
// counts as decrypted: the caller knows what the file holds.
using PlaintextCheck = bool (*)(const crypto::SecureBuffer&);
StatusOr<crypto::SecureBuffer> DecryptSalted(const std::string& content, const std::string& secret,
                                             const SaltedKdf& kdf = {}, PlaintextCheck plausible = nullptr);

// Encrypts the way `openssl enc -aes-256-cbc -md sha1 -S SALT -k SECRET` does:
// for tests (with another `kdf`: `-md DIGEST [-pbkdf2 -iter N]`).
StatusOr<std::string> EncryptSalted(const crypto::SecureBuffer& plaintext, const std::string& secret,
                                    const std::string& salt8, const SaltedKdf& kdf = {});

}  // namespace keyring_locker::import
