// KmipWrapper: wraps key bytes with an AES-256 key-encryption key held by a
// KMIP server (KmipOptions::wrapping_key, located by its Name, Active),
// through the server's Encrypt and Decrypt: the KEK never leaves it.
//
// AES-256-GCM with our own random 12-byte nonce and the associated data
// (the key's scope, name and version) bound as KMIP 1.4's Authenticated
// Encryption Additional Data; a 16-byte tag. Wrapped text, self-describing
// and versioned (standard base64):
//   kmip:v1:gcm:<nonce>:<ciphertext>:<tag>
// Parsed strictly (sizes, canonical base64) before any request is sent.
//
// Only with KMIP 1.4: before 1.4 there is no authenticated encryption in
// KMIP (PyKMIP at 1.2 answers a GCM Encrypt without a tag), and we refuse
// to fall back to AES-CBC. The envelope's key binding would still catch a
// swapped or altered record after unwrapping, but CBC without a MAC lets
// whoever can write the store and see the outcome of unwraps (error text,
// the audit log's "binding" step, a server that starts or not) probe the
// KMIP server's padding check as a decryption oracle, recovering wrapped
// key bytes block by block. A server limited to KMIP 1.2/1.3 can still
// hold the keys themselves: the KMIP store with the wrapper "none".
//
// CanGenerate is false: keys are made by the envelope (local random) or by
// a store; a server-made key read back through Get would be a key that
// lived outside the wrapper's KEK anyway.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

class KmipWrapper : public KeyWrapper {
 public:
  static constexpr const char* kIdPrefix = "kmip:";

  // `wrapping_key`: the KEK's Name on the server (kmip.wrapping_key).
  static StatusOr<std::unique_ptr<KmipWrapper>> Open(std::shared_ptr<kmip::KmipClient> client,
                                                     const std::string& wrapping_key);
  KmipWrapper(std::shared_ptr<kmip::KmipClient> client, std::string wrapping_key);

  std::string Id() const override { return kIdPrefix + wrapping_key_; }
  std::string Describe() const override { return "wrapper=" + Id(); }
  // Negotiates KMIP 1.4 and finds the KEK: one Active AES-256 key of that Name.
  Status Connect() override;

  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) override;
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string& associated_data) override;

  bool CanGenerate(size_t) const override { return false; }
  StatusOr<crypto::SecureBuffer> Generate(size_t) override;

  // The wrapped-text format (exposed for tests).
  struct Sealed {
    std::vector<uint8_t> nonce, ciphertext, tag;
  };
  static std::string Format(const Sealed& sealed);
  static StatusOr<Sealed> Parse(const std::string& wrapped);

 private:
  static kmip::CipherRequest GcmRequest(const std::string& uid, const std::vector<uint8_t>& nonce,
                                        const std::string& associated_data);
  // The KEK's Unique Identifier, found once and cached; `refresh` looks again.
  StatusOr<std::string> KekUid(bool refresh);
  StatusOr<std::string> FindKek();
  Status CheckVersion();

  std::shared_ptr<kmip::KmipClient> client_;
  const std::string wrapping_key_;
  std::mutex mu_;
  std::string kek_uid_;  // guarded by mu_
};

}  // namespace keyring_locker
