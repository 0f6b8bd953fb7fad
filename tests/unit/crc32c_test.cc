// CRC-32C against the check value and RFC 3720 (iSCSI) B.4 vectors, on both
// engines, plus the chaining property InnoDB relies on.
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "crypto/crc32c_internal.h"
#include "crypto/crypto.h"

namespace keyring_locker::crypto {
namespace {

struct Vector {
  const char* name;
  std::vector<uint8_t> data;
  uint32_t crc;
};

std::vector<Vector> PublishedVectors() {
  std::vector<uint8_t> ascending(32), descending(32);
  std::iota(ascending.begin(), ascending.end(), 0);
  for (int i = 0; i < 32; ++i) descending[i] = static_cast<uint8_t>(31 - i);
  const std::string check = "123456789";
  return {
      {"check value 123456789", std::vector<uint8_t>(check.begin(), check.end()), 0xE3069283u},
      {"RFC 3720 B.4 32 x 0x00", std::vector<uint8_t>(32, 0x00), 0x8A9136AAu},
      {"RFC 3720 B.4 32 x 0xFF", std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u},
      {"RFC 3720 B.4 ascending", ascending, 0x46DD794Eu},
      {"RFC 3720 B.4 descending", descending, 0x113FDB5Cu},
  };
}

TEST(Crc32cTest, PublishedVectors) {
  for (const auto& v : PublishedVectors()) {
    EXPECT_EQ(Crc32c(v.data.data(), v.data.size()), v.crc) << v.name;
  }
}

TEST(Crc32cTest, TableEngineMatchesPublishedVectors) {
  for (const auto& v : PublishedVectors()) {
    EXPECT_EQ(~internal::Crc32cTable(0xFFFFFFFFu, v.data.data(), v.data.size()), v.crc) << v.name;
  }
}

TEST(Crc32cTest, HardwareEngineMatchesPublishedVectors) {
  if (!internal::Crc32cHardwareAvailable()) GTEST_SKIP() << "CPU has no SSE4.2";
  for (const auto& v : PublishedVectors()) {
    EXPECT_EQ(~internal::Crc32cHardware(0xFFFFFFFFu, v.data.data(), v.data.size()), v.crc) << v.name;
  }
}

TEST(Crc32cTest, HardwareAndTableAgreeOnRandomDataAtEveryAlignment) {
  if (!internal::Crc32cHardwareAvailable()) GTEST_SKIP() << "CPU has no SSE4.2";
  std::mt19937 rng(20240611);
  std::vector<uint8_t> buf(4096 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 63u, 64u, 65u, 1000u, 4096u}) {
      const uint8_t* p = buf.data() + offset;
      EXPECT_EQ(internal::Crc32cHardware(0xFFFFFFFFu, p, len),
                internal::Crc32cTable(0xFFFFFFFFu, p, len))
          << "offset " << offset << " len " << len;
    }
  }
}

TEST(Crc32cTest, ChainingEqualsOnePassOverConcatenation) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(300);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  const uint32_t whole = Crc32c(buf.data(), buf.size());
  for (size_t split : {0u, 1u, 13u, 64u, 150u, 299u, 300u}) {
    const uint32_t first = Crc32c(buf.data(), split);
    EXPECT_EQ(Crc32c(buf.data() + split, buf.size() - split, first), whole) << "split " << split;
  }
}

TEST(Crc32cTest, EmptyInputIsIdentity) {
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
  EXPECT_EQ(Crc32c(nullptr, 0, 0xE3069283u), 0xE3069283u);
}

TEST(Crc32cTest, DetectsSingleBitFlip) {
  std::vector<uint8_t> data(64, 0x11);
  const uint32_t before = Crc32c(data.data(), data.size());
  data[37] ^= 0x04;
  EXPECT_NE(Crc32c(data.data(), data.size()), before);
}

}  // namespace
}  // namespace keyring_locker::crypto
