// LocalAeadWrapper: AES-256-GCM under a KEK held in this process, binding
// the associated data. The tests' wrapper where no locker is wanted; never a
// product wrapper (a KEK beside the keys protects nothing).
#pragma once

#include "crypto/crypto.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker::testing {

class LocalAeadWrapper : public KeyWrapper {
 public:
  LocalAeadWrapper() : kek_(std::move(crypto::RandomKey(32)).value()) {}
  std::string Id() const override { return "local-aead:test"; }
  std::string Describe() const override { return "wrapper=local-aead"; }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& ad) override {
    ASSIGN_OR_RETURN(crypto::Bytes sealed,
                     crypto::Aes256GcmSeal(kek_, plaintext.data(), plaintext.size(),
                                           reinterpret_cast<const uint8_t*>(ad.data()), ad.size()));
    return "aead:" + crypto::Base64Encode(sealed.data(), sealed.size());
  }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string& ad) override {
    if (wrapped.rfind("aead:", 0) != 0) return InvalidArgument("not a local-aead ciphertext");
    ASSIGN_OR_RETURN(crypto::Bytes sealed, crypto::Base64Decode(wrapped.substr(5)));
    return crypto::Aes256GcmOpen(kek_, sealed.data(), sealed.size(), reinterpret_cast<const uint8_t*>(ad.data()),
                                 ad.size());
  }
  bool CanGenerate(size_t) const override { return false; }
  StatusOr<crypto::SecureBuffer> Generate(size_t) override { return FailedPrecondition("local-aead makes no keys"); }

 private:
  crypto::SecureBuffer kek_;
};

}  // namespace keyring_locker::testing
