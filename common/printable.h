// Text that came from outside (a locker reply, a key document, a file) on
// its way into a log line, an error message, SHOW STATUS or a terminal: cut
// to a bound and with every byte that is not printable ASCII replaced, so it
// can neither forge log lines (CR/LF), drive a terminal (ESC sequences),
// break a status variable (invalid UTF-8) nor grow without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keyring_locker {

inline std::string Printable(std::string_view s, size_t max_chars = 200) {
  std::string out;
  const size_t n = s.size() < max_chars ? s.size() : max_chars;
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > max_chars) out += "...";
  return out;
}

}  // namespace keyring_locker
