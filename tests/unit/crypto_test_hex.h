// Hex helpers for the crypto unit tests: vectors are typed in as hex, the way
// the standards print them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/crypto.h"

namespace keyring_locker::crypto::testing {

inline std::vector<uint8_t> Unhex(const std::string& hex) {
  std::vector<uint8_t> out;
  EXPECT_EQ(hex.size() % 2, 0u) << "odd-length hex in a test vector";
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline SecureBuffer SecretFromHex(const std::string& hex) {
  const std::vector<uint8_t> bytes = Unhex(hex);
  return SecureBuffer::CopyOf(bytes.data(), bytes.size());
}

inline std::string Hex(const SecureBuffer& b) { return HexEncode(b.data(), b.size()); }

}  // namespace keyring_locker::crypto::testing
