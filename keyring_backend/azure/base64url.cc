#include "keyring_backend/azure/base64url.h"

#include "crypto/crypto.h"

namespace keyring_locker::azure {
namespace {

void ToUrlAlphabet(std::string* s) {
  while (!s->empty() && s->back() == '=') s->pop_back();
  for (char& c : *s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
}

}  // namespace

std::string Base64UrlEncode(const uint8_t* data, size_t len) {
  std::string s = crypto::Base64Encode(data, len);
  ToUrlAlphabet(&s);
  return s;
}

std::string Base64UrlEncodeSecret(const crypto::SecureBuffer& secret) {
  crypto::SecureBuffer b64 = crypto::Base64EncodeSecret(secret);
  std::string s(reinterpret_cast<const char*>(b64.data()), b64.size());
  ToUrlAlphabet(&s);
  return s;
}

StatusOr<crypto::SecureBuffer> Base64UrlDecodeSecret(const std::string& text) {
  if (text.size() % 4 == 1) return InvalidArgument("base64url text of impossible length " + std::to_string(text.size()));
  crypto::SecureBuffer standard(text.size() + 3);
  size_t n = 0;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return InvalidArgument("a character outside the base64url alphabet");
    standard.data()[n++] = static_cast<uint8_t>(c == '-' ? '+' : c == '_' ? '/' : c);
  }
  while (n % 4 != 0) standard.data()[n++] = '=';
  return crypto::Base64DecodeSecret(reinterpret_cast<const char*>(standard.data()), n);
}

}  // namespace keyring_locker::azure
