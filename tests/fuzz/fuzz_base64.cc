// Fuzz target: base64 as Vault's JSON carries key bytes. Two properties:
// the input as bytes survives Encode -> Decode (both the plain and the
// Secret variants); the input as text decodes the same way in both variants,
// and whatever decodes re-encodes to text of the same length that decodes to
// the same bytes.
#include <cstdint>
#include <cstring>
#include <string>

#include "crypto/crypto.h"

namespace {

using namespace keyring_locker::crypto;

bool SameBytes(const Bytes& a, const SecureBuffer& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // 1. Round trip of valid input.
    if (size > 0) {
      const std::string encoded = Base64Encode(data, size);
      if (encoded.size() != (size + 2) / 3 * 4) __builtin_trap();
      auto back = Base64Decode(encoded);
      if (!back.ok() || back->size() != size || std::memcmp(back->data(), data, size) != 0) __builtin_trap();
      SecureBuffer secret = SecureBuffer::CopyOf(data, size);
      SecureBuffer enc_secret = Base64EncodeSecret(secret);
      if (enc_secret.size() != encoded.size() ||
          std::memcmp(enc_secret.data(), encoded.data(), encoded.size()) != 0) {
        __builtin_trap();
      }
      auto back_secret = Base64DecodeSecret(reinterpret_cast<const char*>(enc_secret.data()), enc_secret.size());
      if (!back_secret.ok() || !back_secret->Equals(secret)) __builtin_trap();
    }

    // 2. Arbitrary text: both decoders agree, and what decodes is stable.
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto plain = Base64Decode(text);
    auto secret = Base64DecodeSecret(text.data(), text.size());
    if (plain.ok() != secret.ok()) __builtin_trap();
    if (!plain.ok()) {
      if (plain.status().message().empty()) __builtin_trap();
      return 0;
    }
    if (!SameBytes(*plain, *secret)) __builtin_trap();
    if (text.size() % 4 != 0) __builtin_trap();  // only padded input is accepted
    if (plain->empty()) return 0;
    const std::string again = Base64Encode(plain->data(), plain->size());
    if (again.size() != text.size()) __builtin_trap();
    auto twice = Base64Decode(again);
    if (!twice.ok() || *twice != *plain) __builtin_trap();
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
