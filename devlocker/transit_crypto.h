// Transit's cryptography over the project's crypto/ API: AES-256-GCM with a
// random IV, the key name and version as AAD (so a ciphertext can only be
// opened by the key version that made it), HKDF-SHA256 for derived keys.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/crypto.h"

namespace devlocker {

using keyring_locker::StatusOr;
using keyring_locker::crypto::SecureBuffer;

// Key material for one version; `context` is required iff `derived`.
StatusOr<SecureBuffer> VersionKey(const std::string& stored_b64, bool derived,
                                  const std::string& context_b64);

// "vault:v<N>:<base64(iv || ciphertext || tag)>"
StatusOr<std::string> SealTransit(const SecureBuffer& key, const std::string& name, int64_t version,
                                  const uint8_t* plaintext, size_t len);
StatusOr<SecureBuffer> OpenTransit(const SecureBuffer& key, const std::string& name, int64_t version,
                                   const std::string& ciphertext);

// Splits "vault:vN:payload"; returns N (0 when malformed) and the payload.
int64_t ParseCiphertextVersion(const std::string& ciphertext, std::string* payload);

}  // namespace devlocker
