// CRC-32C (Castagnoli). OpenSSL has no CRC-32C, so this is the standard
// reflected table-driven algorithm (polynomial 0x82F63B78), with the SSE4.2
// crc32 instruction used when the CPU has it.
#include "crypto/crc32c_internal.h"

#include <array>
#include <cstring>

#include "crypto/crypto.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KLK_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace keyring_locker::crypto {
namespace internal {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Crc32cTable(uint32_t state, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) state = kTable[(state ^ data[i]) & 0xFFu] ^ (state >> 8);
  return state;
}

#if KLK_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t state, const uint8_t* data,
                                                          size_t len) {
  uint64_t s = state;
  while (len >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);  // unaligned-safe load
    s = _mm_crc32_u64(s, word);
    data += 8;
    len -= 8;
  }
  uint32_t s32 = static_cast<uint32_t>(s);
  while (len-- > 0) s32 = _mm_crc32_u8(s32, *data++);
  return s32;
}

bool Crc32cHardwareAvailable() {
  // __builtin_cpu_init makes this safe even from a static constructor that
  // runs before libgcc has filled in its CPU model.
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return available;
}
#else
uint32_t Crc32cHardware(uint32_t state, const uint8_t* data, size_t len) {
  return Crc32cTable(state, data, len);
}
bool Crc32cHardwareAvailable() { return false; }
#endif

}  // namespace internal

uint32_t Crc32c(const uint8_t* data, size_t len, uint32_t previous) {
  if (data == nullptr || len == 0) return previous;
  // Inverting on entry and exit is what makes chaining through `previous`
  // equal to one pass over the concatenated input.
  const uint32_t state = ~previous;
  const uint32_t out = internal::Crc32cHardwareAvailable()
                           ? internal::Crc32cHardware(state, data, len)
                           : internal::Crc32cTable(state, data, len);
  return ~out;
}

}  // namespace keyring_locker::crypto
