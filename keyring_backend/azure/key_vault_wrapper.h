// AzureKeyVaultWrapper: wraps key bytes with an RSA key held in Azure Key
// Vault (or Managed HSM), through its wrapKey and unwrapKey operations
// (REST API 7.4): the private key never leaves the vault.
//
// RSA-OAEP-256 (or RSA-OAEP, azure.algorithm). RSA-OAEP takes no associated
// data: the envelope's key binding, inside the wrapped plaintext, ties each
// key to its scope, name and version (envelope/key_binding.h).
//
// Every wrapped key records the Key Vault key version that wrapped it and
// the algorithm, so rotating the Azure key (a new version) never strands a
// key wrapped before: it is unwrapped with the version it names, for as long
// as that version stays enabled. New keys are wrapped with the latest
// version (looked up before each wrap: wraps are rare, and a rotation then
// takes effect at once) or with azure.key_version when one is pinned.
// Wrapped text (the value is Key Vault's base64url):
//   azure-kv:v1:<key version>:<RSA-OAEP-256|RSA-OAEP>:<value>
//
// Id() names the vault and the key, not a version: "azure-key-vault:
// NAME.vault.azure.net/KEY". CanGenerate is false (Key Vault makes no data
// keys for RSA keys); the envelope makes keys with the local random source.
#pragma once

#include <memory>
#include <string>

#include "keyring_backend/azure/azure_options.h"
#include "keyring_backend/azure/token_source.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

class AzureKeyVaultWrapper : public KeyWrapper {
 public:
  static constexpr const char* kIdPrefix = "azure-key-vault:";
  static constexpr const char* kApiVersion = "7.4";

  static StatusOr<std::unique_ptr<AzureKeyVaultWrapper>> Open(const azure::AzureOptions& options);

  std::string Id() const override;
  std::string Describe() const override;
  // A token, then the key: it exists, is enabled, is RSA and allows
  // wrapKey and unwrapKey.
  Status Connect() override;

  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) override;
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string& associated_data) override;

  bool CanGenerate(size_t) const override { return false; }
  StatusOr<crypto::SecureBuffer> Generate(size_t bytes) override;

  // The wrapped-text format (exposed for tests).
  struct Sealed {
    std::string version;
    std::string algorithm;
    std::string value;  // base64url, as Key Vault gave it
  };
  static std::string Format(const Sealed& sealed);
  static StatusOr<Sealed> Parse(const std::string& wrapped);

  azure::TokenSource& tokens() { return *tokens_; }
  // The Key Vault client's counters, for the server's status (the store
  // may have no HTTP client of its own).
  HttpStats http_stats() const { return http_->stats(); }

 private:
  struct KeyInfo {
    std::string version;
    bool enabled = false;
    size_t modulus_bytes = 0;  // 0: not known
  };
  AzureKeyVaultWrapper(azure::AzureOptions options, std::unique_ptr<HttpClient> http,
                       std::unique_ptr<azure::TokenSource> tokens);
  // Sends with a bearer token; a 401 gets one new token and one more try.
  StatusOr<HttpResponse> Call(HttpRequest request, const std::string& what);
  // An error status for a reply that is not 200.
  Status ErrorOf(const HttpResponse& r, const std::string& what) const;
  StatusOr<KeyInfo> GetKey(const std::string& version);
  std::string KeyName(const std::string& version) const;
  std::string KeyPath(const std::string& version) const;

  const azure::AzureOptions options_;
  const std::unique_ptr<HttpClient> http_;
  const std::unique_ptr<azure::TokenSource> tokens_;
};

}  // namespace keyring_locker
