// AwsKmsWrapper: AWS KMS as the KeyWrapper. Keys are wrapped with Encrypt
// and unwrapped with Decrypt under a symmetric KMS key that never leaves
// KMS; Generate uses GenerateDataKey (the plaintext only: the envelope binds
// and wraps the key itself).
//
// Every request carries an encryption context (authenticated by KMS, shown
// in CloudTrail, usable in IAM conditions):
//   keyring_locker_scope  "<keys.prefix>/<keys.scope>"   always
//   keyring_locker_key    the key's identity (scope, name, version) when it
//                         is printable ASCII; otherwise its base64 under
//                         keyring_locker_key_b64 (two names, so the two
//                         spellings can never collide)
// so a wrapped key moved to another key's record, or to another scope, does
// not decrypt, and an IAM policy can confine a server to its own scope.
//
// Wrapped text: aws-kms:v1:<key ARN>:<CiphertextBlob, base64>. The ARN is
// the KMS key that made it (Encrypt's answer); a ciphertext blob names its
// key too, so records made before aws_kms.key_id was changed still decrypt
// (with kms:Decrypt on the old key), and after Decrypt the key KMS used
// must be the one the record names. That is also why Id() names no key:
// a changed key_id must not make old records "another wrapper's".
#pragma once

#include <memory>
#include <string>

#include "keyring_backend/aws/aws_kms_client.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

struct AwsKmsWrapperOptions {
  std::string key_id;  // what new keys are wrapped with: key ARN, key id, alias/NAME or alias ARN
  std::string scope;   // "<keys.prefix>/<keys.scope>"
};

class AwsKmsWrapper : public KeyWrapper {
 public:
  static constexpr const char* kId = "aws-kms";

  static StatusOr<std::unique_ptr<AwsKmsWrapper>> Open(std::shared_ptr<aws::AwsKmsClient> client,
                                                       AwsKmsWrapperOptions options);

  std::string Id() const override { return kId; }
  std::string Describe() const override { return "wrapper=aws-kms key=" + options_.key_id; }
  // Finds credentials (no KMS request: the least-privilege policy allows
  // only Encrypt, Decrypt and GenerateDataKey).
  Status Connect() override;

  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) override;
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& wrapped, const std::string& associated_data) override;

  // GenerateDataKey makes 1 to 1024 bytes.
  bool CanGenerate(size_t bytes) const override { return bytes >= 1 && bytes <= 1024; }
  StatusOr<crypto::SecureBuffer> Generate(size_t bytes) override;

  // The wrapped-text format (exposed for tests).
  struct Sealed {
    std::string key_arn;
    std::string blob;  // base64, as KMS gave it
  };
  static std::string Format(const Sealed& sealed);
  static StatusOr<Sealed> Parse(const std::string& wrapped);
  // The encryption context as JSON text (exposed for tests).
  std::string Context(const std::string& associated_data) const;

 private:
  AwsKmsWrapper(std::shared_ptr<aws::AwsKmsClient> client, AwsKmsWrapperOptions options)
      : client_(std::move(client)), options_(std::move(options)) {}

  std::shared_ptr<aws::AwsKmsClient> client_;
  const AwsKmsWrapperOptions options_;
};

// Same key in the sense of a record check: equal ARNs, or, for a
// multi-region key (key/mrk-...), equal but for the region (a replica in
// another configured region decrypts the primary's ciphertexts).
bool SameKmsKey(const std::string& recorded_arn, const std::string& used_arn);

}  // namespace keyring_locker
