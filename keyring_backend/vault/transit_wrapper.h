// TransitWrapper: Vault/OpenBao Transit as the KeyWrapper, over the session
// of a VaultLocker shared with the KV store. Transit binds no associated
// data here (its associated_data needs Vault 1.13+ and an AES-GCM key, and
// older servers ignore the field silently): the envelope's key binding,
// inside the wrapped plaintext, is what ties a key to its name.
#pragma once

#include <memory>

#include "keyring_backend/vault/vault_locker.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

class TransitWrapper : public KeyWrapper {
 public:
  explicit TransitWrapper(std::shared_ptr<VaultLocker> vault) : vault_(std::move(vault)) {}

  std::string Id() const override {
    return "vault-transit:" + vault_->options().transit_mount + "/" + vault_->options().transit_key;
  }
  std::string Describe() const override {
    return "transit=" + vault_->options().transit_mount + "/" + vault_->options().transit_key;
  }
  // The store's Connect() on the same session checked the Transit key
  // already: this costs no request then.
  Status Connect() override { return vault_->EnsureConnected(); }

  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string&) override {
    return vault_->Wrap(plaintext, "");
  }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string&) override {
    return vault_->Unwrap(wrapped, "");
  }
  std::vector<StatusOr<crypto::SecureBuffer>> UnwrapBatch(const std::vector<UnwrapItem>& items) override {
    std::vector<std::pair<std::string, std::string>> ciphertexts;
    ciphertexts.reserve(items.size());
    for (const auto& item : items) ciphertexts.emplace_back(item.wrapped, "");  // no Transit context, as Unwrap
    return vault_->UnwrapBatch(ciphertexts);
  }
  // Transit's datakey makes 128, 256 and 512-bit keys.
  bool CanGenerate(size_t bytes) const override { return bytes == 16 || bytes == 32 || bytes == 64; }
  StatusOr<crypto::SecureBuffer> Generate(size_t bytes) override {
    ASSIGN_OR_RETURN(WrappedKey k, vault_->GenerateDataKey(bytes, ""));
    return std::move(k.plaintext);
  }

  VaultLocker& vault() { return *vault_; }

 private:
  std::shared_ptr<VaultLocker> vault_;
};

}  // namespace keyring_locker
