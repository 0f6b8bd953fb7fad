// Helpers shared by the crypto/*.cc files; not part of the public API.
#pragma once

#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::crypto::internal {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// OpenSSL's one-shot interfaces take int lengths.
inline bool FitsInt(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

// A SecureBuffer of exactly n bytes, or kResourceExhausted when the mapping
// could not be made (SecureBuffer reports that by staying empty).
inline StatusOr<SecureBuffer> AllocSecure(size_t n) {
  SecureBuffer buf(n);
  if (buf.size() != n) {
    return ResourceExhausted("out of locked memory: could not map " + std::to_string(n) +
                             " bytes for key material; raise the process memory limits "
                             "(ulimit -v / cgroup memory) or free memory");
  }
  return buf;
}

inline Status KeySizeError(const char* what, size_t got) {
  return InvalidArgument(std::string(what) + ": key is " + std::to_string(got) +
                         " bytes, AES-256 needs exactly 32; pass a 32-byte master key");
}

}  // namespace keyring_locker::crypto::internal
