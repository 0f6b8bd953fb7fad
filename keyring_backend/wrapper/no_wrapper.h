// The wrapper "none": only over a store that protects plaintext itself (a
// KMIP server's managed objects). The configuration refuses it for every
// other store, and the envelope never asks it to wrap.
#pragma once

#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

class NoWrapper : public KeyWrapper {
 public:
  static constexpr const char* kId = "none";
  std::string Id() const override { return kId; }
  std::string Describe() const override { return "wrapper=none"; }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer&, const std::string&) override { return Refused(); }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string&, const std::string&) override { return Refused(); }
  bool CanGenerate(size_t) const override { return false; }
  StatusOr<crypto::SecureBuffer> Generate(size_t) override { return Refused(); }

 private:
  static Status Refused() {
    return FailedPrecondition("wrapper \"none\" cannot wrap: it is only for a store that protects keys itself");
  }
};

}  // namespace keyring_locker
