// KeyWrapper: who wraps key bytes with a key-encryption key that never
// leaves the locker (Vault Transit, a KMIP server's key, a cloud KMS key).
//
// How to add a wrapper:
//  - Id() names the wrapper and its KEK ("vault-transit:transit/keyring_locker");
//    it is recorded in every sealed key, so a key sealed by another wrapper
//    is a clear error, and re-wrapping can find what needs it.
//  - Wrap/Unwrap take associated data (the key's scope, name and version).
//    Bind it where the locker can (an AEAD's AAD, a KMS encryption context);
//    the envelope also binds the identity inside the wrapped plaintext, so a
//    wrapper that cannot (Transit, RSA wrapKey) is still safe.
//  - Generate where the locker makes keys itself (Transit datakey, KMS
//    GenerateDataKey); CanGenerate says for which lengths.
//  - Every request stays within OperationDeadline::Current().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

// One wrapped key for UnwrapBatch.
struct UnwrapItem {
  std::string wrapped;
  std::string associated_data;
};

class KeyWrapper {
 public:
  virtual ~KeyWrapper() = default;

  virtual std::string Id() const = 0;
  // "transit=transit/keyring_locker", appended to the store's Describe().
  virtual std::string Describe() const = 0;
  virtual Status Connect() { return Status::Ok(); }

  virtual StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) = 0;
  virtual StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string& associated_data) = 0;
  // Unwrap for many keys, one result per item in order. By default one
  // Unwrap each; a locker that takes batches (Transit batch_input) sends
  // few requests for many keys (a start that opens every key).
  virtual std::vector<StatusOr<crypto::SecureBuffer>> UnwrapBatch(const std::vector<UnwrapItem>& items) {
    std::vector<StatusOr<crypto::SecureBuffer>> out;
    out.reserve(items.size());
    for (const auto& item : items) out.push_back(Unwrap(item.wrapped, item.associated_data));
    return out;
  }

  virtual bool CanGenerate(size_t bytes) const = 0;
  virtual StatusOr<crypto::SecureBuffer> Generate(size_t bytes) = 0;
};

}  // namespace keyring_locker
