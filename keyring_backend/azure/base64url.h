// Base64url without padding (RFC 4648 section 5), as Key Vault and JWTs
// use it. The standard-alphabet codec in crypto/ does the work.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::azure {

std::string Base64UrlEncode(const uint8_t* data, size_t len);
inline std::string Base64UrlEncode(const std::string& s) {
  return Base64UrlEncode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
// Key bytes: every intermediate copy is wiped.
std::string Base64UrlEncodeSecret(const crypto::SecureBuffer& secret);
// Refuses characters outside the url alphabet, '=' and impossible lengths.
StatusOr<crypto::SecureBuffer> Base64UrlDecodeSecret(const std::string& text);

}  // namespace keyring_locker::azure
