// Bounds-checked big-endian reads over untrusted bytes. Every parser in
// datafile/ reads through ByteView, so no offset taken from a file can reach
// memory outside the buffer: an out-of-range read answers false/empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace keyring_locker::datafile {

struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  // [offset, offset + len) lies inside the view (written so it cannot overflow).
  bool Has(size_t offset, size_t len) const { return data != nullptr && offset <= size && len <= size - offset; }
  bool Be16(size_t offset, uint16_t& out) const {
    if (!Has(offset, 2)) return false;
    out = static_cast<uint16_t>((data[offset] << 8) | data[offset + 1]);
    return true;
  }
  bool Be32(size_t offset, uint32_t& out) const {
    if (!Has(offset, 4)) return false;
    out = (uint32_t{data[offset]} << 24) | (uint32_t{data[offset + 1]} << 16) | (uint32_t{data[offset + 2]} << 8) |
          uint32_t{data[offset + 3]};
    return true;
  }
  bool Be64(size_t offset, uint64_t& out) const {
    uint32_t hi = 0, lo = 0;
    if (!Be32(offset, hi) || !Be32(offset + 4, lo)) return false;
    out = (uint64_t{hi} << 32) | lo;
    return true;
  }
  bool Equals(size_t offset, const void* expected, size_t len) const {
    return Has(offset, len) && std::memcmp(data + offset, expected, len) == 0;
  }
  // A NUL-terminated text field of at most max_len bytes, printable ASCII only
  // (anything else becomes '?', so a damaged header cannot put control
  // characters on the operator's terminal).
  std::string Text(size_t offset, size_t max_len) const {
    std::string out;
    for (size_t i = 0; i < max_len && Has(offset + i, 1); ++i) {
      const uint8_t c = data[offset + i];
      if (c == 0) break;
      out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    }
    return out;
  }
};

}  // namespace keyring_locker::datafile
