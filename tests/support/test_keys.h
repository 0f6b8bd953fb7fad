// A cached key for cache tests: 32 bytes of `fill` in a SecureBuffer, the
// way KeyService inserts what it unwrapped.
#pragma once

#include <cstdint>
#include <memory>

#include "crypto/secure_buffer.h"
#include "keyring_backend/cache/key_cache.h"

namespace keyring_locker::testing {

inline KeyHandle MakeKey(uint8_t fill) {
  auto k = std::make_shared<KeyMaterial>();
  k->bytes = crypto::SecureBuffer(32);
  for (size_t i = 0; i < 32; ++i) k->bytes.data()[i] = fill;
  k->type = "AES";
  return k;
}

}  // namespace keyring_locker::testing
