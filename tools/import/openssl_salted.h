// The `openssl enc -aes-256-cbc -md sha1 -k SECRET` file layout that MariaDB's
// file_key_management reads when file_key_management_filekey is set: the 8
// bytes "Salted__", an 8-byte salt, then AES-256-CBC with PKCS#7 padding
// under a key and IV from OpenSSL's EVP_BytesToKey (SHA-1, one iteration) of
// the secret and the salt. Facts from the plugin's parser; the derivation is
// OpenSSL's own function.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::import {

inline constexpr char kSaltedMagic[] = "Salted__";

bool LooksSalted(const std::string& content);

// The plaintext, or an error naming the problem: too short, not a multiple of
// the block size (truncated), or a padding that does not check (a wrong file
// key, or a file made with another digest / -pbkdf2 that the server could not
// read either).
StatusOr<crypto::SecureBuffer> DecryptSalted(const std::string& content, const std::string& secret);

// Encrypts the way `openssl enc -aes-256-cbc -md sha1 -S SALT -k SECRET` does:
// for tests, and for operators re-encrypting a key file. `sha256` derives
// with SHA-256 instead (openssl's default since 1.1.0, which MariaDB cannot read).
StatusOr<std::string> EncryptSalted(const crypto::SecureBuffer& plaintext, const std::string& secret,
                                    const std::string& salt8, bool sha256 = false);

}  // namespace keyring_locker::import
