#include "devlocker/cidr.h"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>

namespace devlocker {
namespace {

struct Block {
  int family = 0;
  uint8_t bytes[16] = {};
  int prefix = 0;
};

bool ParseAddress(const std::string& text, Block* out) {
  if (inet_pton(AF_INET, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), out->bytes) == 1) {
    out->family = AF_INET6;
    return true;
  }
  return false;
}

bool ParseBlock(const std::string& text, Block* out) {
  const size_t slash = text.find('/');
  if (!ParseAddress(text.substr(0, slash), out)) return false;
  const int bits = out->family == AF_INET ? 32 : 128;
  out->prefix = bits;
  if (slash == std::string::npos) return true;
  const std::string p = text.substr(slash + 1);
  if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  out->prefix = std::stoi(p);
  return out->prefix <= bits;
}

bool Contains(const Block& block, const Block& addr) {
  if (block.family != addr.family) return false;
  const int full = block.prefix / 8, rest = block.prefix % 8;
  if (std::memcmp(block.bytes, addr.bytes, full) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (block.bytes[full] & mask) == (addr.bytes[full] & mask);
}

}  // namespace

std::string FirstInvalidCidr(const std::vector<std::string>& cidrs) {
  for (const auto& c : cidrs) {
    Block b;
    if (!ParseBlock(c, &b)) return c;
  }
  return "";
}

bool AddressAllowed(const std::string& address, const std::vector<std::string>& cidrs) {
  if (cidrs.empty()) return true;
  Block addr;
  if (!ParseAddress(address, &addr)) return false;
  for (const auto& c : cidrs) {
    Block b;
    if (ParseBlock(c, &b) && Contains(b, addr)) return true;
  }
  return false;
}

}  // namespace devlocker
