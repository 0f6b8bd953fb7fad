// Percent escaping for the places that allow only a small alphabet: key
// names in Vault paths and directory names (DocumentLayout), values inside
// KMIP attribute texts (KmipObjectLayout). Bytes the caller's `plain`
// accepts stand as they are; every other byte is written %XY (upper-case).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace keyring_locker {

using PlainByte = bool (*)(unsigned char c);

inline std::string PercentEscape(std::string_view text, PlainByte plain) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (plain(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct UnescapeRules {
  // Non-null: only the one text PercentEscape(…, canonical) writes is
  // accepted (no raw byte it would escape, no escape of a plain byte, no
  // lower-case hex), so two spellings can never name the same value.
  PlainByte canonical = nullptr;
};

// Errors name the byte offset; the caller adds what the text was.
inline StatusOr<std::string> PercentUnescape(std::string_view text, const UnescapeRules& rules = {}) {
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (rules.canonical == nullptr && c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '%') {
      if (rules.canonical != nullptr && !rules.canonical(c)) {
        return InvalidArgument("byte " + std::to_string(i) + " should have been escaped");
      }
      out += static_cast<char>(c);
      continue;
    }
    if (i + 2 >= text.size()) return InvalidArgument("escape cut short at byte " + std::to_string(i));
    const int hi = nibble(text[i + 1]), lo = nibble(text[i + 2]);
    if (hi < 0 || lo < 0) return InvalidArgument("bad escape at byte " + std::to_string(i));
    const unsigned char decoded = static_cast<unsigned char>(hi * 16 + lo);
    if (rules.canonical != nullptr && rules.canonical(decoded)) {
      return InvalidArgument("needless escape at byte " + std::to_string(i));
    }
    out += static_cast<char>(decoded);
    i += 2;
  }
  return out;
}

}  // namespace keyring_locker
