// Randomness and hashing, straight from OpenSSL.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <new>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace keyring_locker::crypto {
namespace {

// RAND_*bytes take int lengths; larger requests are served in chunks.
template <typename Fill>
bool FillChunked(Fill fill, uint8_t* out, size_t len) {
  constexpr size_t kChunk = 1u << 20;
  while (len > 0) {
    const size_t n = std::min(len, kChunk);
    if (fill(out, static_cast<int>(n)) != 1) return false;
    out += n;
    len -= n;
  }
  return true;
}

}  // namespace

StatusOr<SecureBuffer> RandomKey(size_t len) {
  if (len == 0) return InvalidArgument("RandomKey: requested length is 0; ask for the key size (e.g. 32)");
  ASSIGN_OR_RETURN(SecureBuffer key, internal::AllocSecure(len));
  // The private DRBG is a separate instance from the one that produces public
  // nonces, so a leak of nonce state says nothing about keys.
  if (!FillChunked(RAND_priv_bytes, key.data(), len)) {
    ERR_clear_error();
    return Internal("RandomKey: RAND_priv_bytes failed (the OpenSSL DRBG could not be seeded); "
                    "check that /dev/urandom or getrandom() is available to the server");
  }
  return key;
}

Status RandomBytes(uint8_t* out, size_t len) {
  if (len == 0) return Status::Ok();
  if (out == nullptr) return InvalidArgument("RandomBytes: output pointer is null with a non-zero length; pass a buffer");
  if (!FillChunked(RAND_bytes, out, len)) {
    ERR_clear_error();
    return Internal("RandomBytes: RAND_bytes failed (the OpenSSL DRBG could not be seeded); "
                    "check that /dev/urandom or getrandom() is available to the server");
  }
  return Status::Ok();
}

// Returns an empty vector if OpenSSL or the allocator fails: the signature has
// no Status, and a 32-byte digest can never legitimately be empty, so callers
// can tell.
Bytes Sha256(const uint8_t* data, size_t len) {
  static const uint8_t kEmpty = 0;
  if (data == nullptr) {
    if (len != 0) return {};
    data = &kEmpty;
  }
  try {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    if (EVP_Digest(data, len, out.data(), &n, EVP_sha256(), nullptr) != 1) {
      ERR_clear_error();
      return {};
    }
    out.resize(n);
    return out;
  } catch (const std::bad_alloc&) {
    return {};
  }
}

}  // namespace keyring_locker::crypto
