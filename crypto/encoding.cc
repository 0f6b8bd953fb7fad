// Hex and base64 encodings. Base64 goes through OpenSSL's EVP_EncodeBlock /
// EVP_DecodeBlock; EVP_DecodeBlock is lenient (skips surrounding whitespace,
// ignores padding when sizing its output), so input is validated here first.
#include <openssl/evp.h>

#include <new>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace keyring_locker::crypto {
namespace {

bool IsBase64Alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Checks RFC 4648 standard-alphabet, padded form and returns the decoded
// length. Messages name positions, never content: the text may encode a key.
StatusOr<size_t> ValidateBase64(const char* text, size_t len) {
  if (text == nullptr && len != 0) return InvalidArgument("base64 input pointer is null with a non-zero length; pass the text");
  if (len % 4 != 0) {
    return InvalidArgument("base64 input is " + std::to_string(len) +
                           " characters, not a multiple of 4; expected padded standard base64 "
                           "(RFC 4648 section 4)");
  }
  if (!internal::FitsInt(len)) {
    return InvalidArgument("base64 input of " + std::to_string(len) +
                           " characters exceeds the 2 GiB limit");
  }
  size_t padding = 0;
  if (len >= 4) {
    if (text[len - 1] == '=') ++padding;
    if (text[len - 2] == '=') {
      if (padding == 0) {
        return InvalidArgument("base64 input has '=' at position " + std::to_string(len - 2) +
                               " followed by data; padding may only end the input");
      }
      ++padding;
    }
  }
  for (size_t i = 0; i < len - padding; ++i) {
    if (!IsBase64Alphabet(text[i])) {
      return InvalidArgument("base64 input has an invalid character at position " +
                             std::to_string(i) +
                             "; expected standard base64 (A-Z a-z 0-9 + /, '=' padding), "
                             "not base64url or text with line breaks");
    }
  }
  return len / 4 * 3 - padding;
}

// EVP_DecodeBlock writes whole 3-byte groups (len/4*3); `out` must have that much room.
Status DecodeInto(const char* text, size_t len, uint8_t* out) {
  if (len == 0) return Status::Ok();
  const int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(text), static_cast<int>(len));
  if (n < 0 || static_cast<size_t>(n) != len / 4 * 3) {
    return InvalidArgument("base64 input could not be decoded by OpenSSL; expected standard "
                           "padded base64 (RFC 4648 section 4)");
  }
  return Status::Ok();
}

}  // namespace

std::string HexEncode(const uint8_t* data, size_t len) {
  // OpenSSL's hex helpers emit upper case with separators; lower case without
  // separators is what digests and logs use throughout the project.
  static const char kDigits[] = "0123456789abcdef";
  if (data == nullptr) return {};
  try {
    std::string out;
    out.reserve(len * 2);
    for (size_t i = 0; i < len; ++i) {
      out.push_back(kDigits[data[i] >> 4]);
      out.push_back(kDigits[data[i] & 0x0F]);
    }
    return out;
  } catch (const std::bad_alloc&) {
    return {};
  }
}

// Empty on overflow or allocation failure; only an empty input legitimately
// encodes to an empty string.
std::string Base64Encode(const uint8_t* data, size_t len) {
  if (len == 0 || data == nullptr || len > static_cast<size_t>(INT_MAX) / 4 * 3) return {};
  try {
    std::string out((len + 2) / 3 * 4 + 1, '\0');  // +1: EVP_EncodeBlock NUL-terminates
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
    if (n < 0) return {};
    out.resize(static_cast<size_t>(n));
    return out;
  } catch (const std::bad_alloc&) {
    return {};
  }
}

// Empty on overflow or when locked memory is unavailable.
SecureBuffer Base64EncodeSecret(const SecureBuffer& secret) {
  const size_t len = secret.size();
  if (len == 0 || len > static_cast<size_t>(INT_MAX) / 4 * 3) return SecureBuffer();
  const size_t encoded = (len + 2) / 3 * 4;
  SecureBuffer out(encoded + 1);  // +1 for EVP_EncodeBlock's NUL, trimmed below
  if (out.size() != encoded + 1) return SecureBuffer();
  const int n = EVP_EncodeBlock(out.data(), secret.data(), static_cast<int>(len));
  if (n < 0 || static_cast<size_t>(n) != encoded) return SecureBuffer();
  out.Truncate(encoded);
  return out;
}

StatusOr<Bytes> Base64Decode(const std::string& text) {
  ASSIGN_OR_RETURN(const size_t decoded, ValidateBase64(text.data(), text.size()));
  try {
    Bytes out(text.size() / 4 * 3);
    RETURN_IF_ERROR(DecodeInto(text.data(), text.size(), out.data()));
    out.resize(decoded);
    return out;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("base64 decode: out of memory for " + std::to_string(decoded) +
                             " bytes; free memory or decode smaller values");
  }
}

StatusOr<SecureBuffer> Base64DecodeSecret(const char* text, size_t len) {
  ASSIGN_OR_RETURN(const size_t decoded, ValidateBase64(text, len));
  if (len == 0) return SecureBuffer();
  // Decode straight into locked memory; the padding bytes EVP_DecodeBlock
  // writes past `decoded` are wiped by Truncate.
  ASSIGN_OR_RETURN(SecureBuffer out, internal::AllocSecure(len / 4 * 3));
  RETURN_IF_ERROR(DecodeInto(text, len, out.data()));
  out.Truncate(decoded);
  return out;
}

}  // namespace keyring_locker::crypto
