#include "keyring_backend/envelope/key_binding.h"

#include <cstring>

#include "common/printable.h"

namespace keyring_locker {
namespace {

constexpr char kMagic[] = {'K', 'L', 'K', 'B', 0x01};
constexpr size_t kHeader = sizeof kMagic + 2;

// "scope|name|version": the identity's line breaks made visible.
std::string ReadableIdentity(std::string id) {
  for (char& c : id) {
    if (c == '\n') c = '|';
  }
  return id;
}

}  // namespace

std::string KeyBinding::Identity() const { return scope + "\n" + name + "\n" + std::to_string(version); }

std::string KeyBinding::Describe() const {
  return "key " + name + " version " + std::to_string(version) + " of scope " + scope;
}

StatusOr<crypto::SecureBuffer> BindKey(const KeyBinding& binding, const crypto::SecureBuffer& key) {
  const std::string id = binding.Identity();
  if (id.size() > 0xFFFF) return InvalidArgument("key identity is too long to bind: " + binding.Describe());
  crypto::SecureBuffer out(kHeader + id.size() + key.size());
  uint8_t* p = out.data();
  std::memcpy(p, kMagic, sizeof kMagic);
  p += sizeof kMagic;
  *p++ = static_cast<uint8_t>(id.size() >> 8);
  *p++ = static_cast<uint8_t>(id.size() & 0xFF);
  std::memcpy(p, id.data(), id.size());
  p += id.size();
  if (!key.empty()) std::memcpy(p, key.data(), key.size());
  return out;
}

StatusOr<crypto::SecureBuffer> UnbindKey(const KeyBinding& expected, const crypto::SecureBuffer& plaintext) {
  const uint8_t* p = plaintext.data();
  const size_t n = plaintext.size();
  if (n < kHeader || std::memcmp(p, kMagic, sizeof kMagic) != 0) {
    return DataLoss(expected.Describe() + ": the unwrapped key carries no identity although its document says "
                    "it is bound (format keyring_locker/2); the document was altered by someone with write "
                    "access to the KV mount");
  }
  const size_t id_len = (static_cast<size_t>(p[sizeof kMagic]) << 8) | p[sizeof kMagic + 1];
  if (id_len > n - kHeader) {
    return DataLoss(expected.Describe() + ": the unwrapped key's identity is truncated; the document was altered");
  }
  const std::string got(reinterpret_cast<const char*>(p + kHeader), id_len);
  if (got != expected.Identity()) {
    return DataLoss(expected.Describe() + ": the wrapped key belongs to another key (bound to \"" + Printable(ReadableIdentity(got), 300) +
                    "\"); its document was copied or replaced by someone with write access to the KV mount. "
                    "Nothing was served; restore the original document (KV version history or a backup) and "
                    "review who may write the mount");
  }
  return crypto::SecureBuffer::CopyOf(p + kHeader + id_len, n - kHeader - id_len);
}

}  // namespace keyring_locker
