// The two CRC-32C engines behind Crc32c(), exposed so tests can check them
// against each other. Both take and return the raw (pre/post-inverted) state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keyring_locker::crypto::internal {

uint32_t Crc32cTable(uint32_t state, const uint8_t* data, size_t len);
// Only call when Crc32cHardwareAvailable() is true.
uint32_t Crc32cHardware(uint32_t state, const uint8_t* data, size_t len);
bool Crc32cHardwareAvailable();

}  // namespace keyring_locker::crypto::internal
