#include "keyring_backend/aws/aws_kms_wrapper.h"

#include <nlohmann/json.hpp>

#include "common/printable.h"
#include "crypto/crypto.h"

namespace keyring_locker {
namespace {

constexpr char kFormatPrefix[] = "aws-kms:v1:";
constexpr size_t kMaxPlaintext = 4096;  // KMS Encrypt's limit
constexpr size_t kMaxBlobText = 8192;
constexpr size_t kMaxArn = 2048;

bool PrintableWord(const std::string& s, size_t max) {
  bool ok = !s.empty() && s.size() <= max;
  for (unsigned char c : s) ok = ok && c > 0x20 && c < 0x7F && c != '"' && c != '\\';
  return ok;
}

bool PrintableText(const std::string& s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n') || c >= 0x7F) return false;
  }
  return true;
}

// arn:aws:kms:<region>:<account>:key/<id> -> its six fields.
std::vector<std::string> ArnFields(const std::string& arn) {
  std::vector<std::string> out;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t colon = arn.find(':', start);
    if (colon == std::string::npos) return {};
    out.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  out.push_back(arn.substr(start));
  return out;
}

StatusOr<std::string> StringField(const aws::KmsReply& reply, const char* field, const std::string& action) {
  auto it = reply.body.find(field);
  if (it == reply.body.end() || !it->is_string()) {
    return DataLoss("AWS KMS " + action + " at " + reply.endpoint + " answered without a " + field);
  }
  return it->get<std::string>();
}

// The base64 Plaintext of a Decrypt or GenerateDataKey answer, decoded into
// locked memory; the reply's copy is wiped with the reply.
StatusOr<crypto::SecureBuffer> PlaintextField(aws::KmsReply& reply, const std::string& action) {
  auto it = reply.body.find("Plaintext");
  if (it == reply.body.end() || !it->is_string()) {
    return DataLoss("AWS KMS " + action + " at " + reply.endpoint + " answered without a Plaintext");
  }
  std::string& b64 = it->get_ref<std::string&>();
  auto key = crypto::Base64DecodeSecret(b64.data(), b64.size());
  if (!key.ok()) return DataLoss("AWS KMS " + action + " at " + reply.endpoint + " answered invalid base64");
  return key;
}

}  // namespace

bool SameKmsKey(const std::string& recorded, const std::string& used) {
  if (recorded == used) return true;
  const auto a = ArnFields(recorded), b = ArnFields(used);
  if (a.size() != 6 || b.size() != 6) return false;
  return a[5].rfind("key/mrk-", 0) == 0 && a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[4] == b[4] &&
         a[5] == b[5];
}

StatusOr<std::unique_ptr<AwsKmsWrapper>> AwsKmsWrapper::Open(std::shared_ptr<aws::AwsKmsClient> client,
                                                             AwsKmsWrapperOptions options) {
  if (!client) return InvalidArgument("the aws_kms wrapper needs a KMS client");
  if (!PrintableWord(options.key_id, kMaxArn)) {
    return InvalidArgument("aws_kms.key_id \"" + Printable(options.key_id, 40) +
                           "\" must be the KMS key's ARN, id, alias/NAME or alias ARN");
  }
  if (options.scope.empty()) return InvalidArgument("the aws_kms wrapper needs the keys' scope");
  return std::unique_ptr<AwsKmsWrapper>(new AwsKmsWrapper(std::move(client), std::move(options)));
}

Status AwsKmsWrapper::Connect() { return client_->credentials().Get().status(); }

std::string AwsKmsWrapper::Context(const std::string& associated_data) const {
  nlohmann::json context = {{"keyring_locker_scope", options_.scope}};
  if (!associated_data.empty()) {
    if (PrintableText(associated_data)) {
      context["keyring_locker_key"] = associated_data;
    } else {
      context["keyring_locker_key_b64"] =
          crypto::Base64Encode(reinterpret_cast<const uint8_t*>(associated_data.data()), associated_data.size());
    }
  }
  return context.dump();  // ASCII only: never throws
}

std::string AwsKmsWrapper::Format(const Sealed& s) { return kFormatPrefix + s.key_arn + ":" + s.blob; }

StatusOr<AwsKmsWrapper::Sealed> AwsKmsWrapper::Parse(const std::string& wrapped) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("not an aws-kms-wrapped key (" + why + "); expected aws-kms:v1:<key ARN>:<ciphertext>");
  };
  const std::string prefix = kFormatPrefix;
  if (wrapped.size() > kMaxArn + kMaxBlobText) return bad(std::to_string(wrapped.size()) + " characters");
  if (wrapped.compare(0, prefix.size(), prefix) != 0) {
    return bad("it starts with \"" + Printable(wrapped.substr(0, prefix.size()), 16) + "\"");
  }
  const size_t colon = wrapped.rfind(':');
  Sealed s;
  s.key_arn = wrapped.substr(prefix.size(), colon > prefix.size() ? colon - prefix.size() : 0);
  s.blob = colon > prefix.size() ? wrapped.substr(colon + 1) : std::string();
  if (ArnFields(s.key_arn).size() != 6 || s.key_arn.rfind("arn:", 0) != 0 || !PrintableWord(s.key_arn, kMaxArn)) {
    return bad("no key ARN");
  }
  auto blob = crypto::Base64Decode(s.blob);
  if (!blob.ok() || blob->empty() || crypto::Base64Encode(blob->data(), blob->size()) != s.blob) {
    return bad("the ciphertext is not canonical base64");
  }
  return s;
}

StatusOr<std::string> AwsKmsWrapper::Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) {
  if (plaintext.empty() || plaintext.size() > kMaxPlaintext) {
    return InvalidArgument("the aws_kms wrapper wraps 1 to 4096 bytes, not " + std::to_string(plaintext.size()));
  }
  crypto::SecureBuffer b64 = crypto::Base64EncodeSecret(plaintext);
  std::string body = "{\"KeyId\":" + nlohmann::json(options_.key_id).dump() + ",\"Plaintext\":\"";
  body.append(reinterpret_cast<const char*>(b64.data()), b64.size());
  body += "\",\"EncryptionContext\":" + Context(associated_data) + "}";
  ASSIGN_OR_RETURN(aws::KmsReply reply, client_->Call("Encrypt", std::move(body), options_.key_id));
  Sealed sealed;
  ASSIGN_OR_RETURN(sealed.key_arn, StringField(reply, "KeyId", "Encrypt"));
  ASSIGN_OR_RETURN(sealed.blob, StringField(reply, "CiphertextBlob", "Encrypt"));
  const std::string text = Format(sealed);
  // What we store must read back: a KMS answer we could not parse later
  // would only show at the next restart.
  if (!Parse(text).ok()) {
    return DataLoss("AWS KMS Encrypt at " + reply.endpoint + " answered a KeyId or CiphertextBlob that is not an "
                    "ARN and base64 (KeyId \"" + Printable(sealed.key_arn, 60) + "\")");
  }
  return text;
}

StatusOr<crypto::SecureBuffer> AwsKmsWrapper::Unwrap(const std::string& wrapped, const std::string& associated_data) {
  ASSIGN_OR_RETURN(Sealed sealed, Parse(wrapped));
  // No KeyId in the request: the blob names its key, and a region failover
  // to a multi-region replica has another ARN. The key KMS used is checked
  // against the record below instead.
  const std::string body = "{\"CiphertextBlob\":\"" + sealed.blob +
                           "\",\"EncryptionContext\":" + Context(associated_data) + "}";
  ASSIGN_OR_RETURN(aws::KmsReply reply, client_->Call("Decrypt", body, sealed.key_arn));
  ASSIGN_OR_RETURN(std::string used, StringField(reply, "KeyId", "Decrypt"));
  if (!SameKmsKey(sealed.key_arn, used)) {
    return DataLoss("AWS KMS decrypted a wrapped key with " + Printable(used, 200) + ", but its record names " +
                    sealed.key_arn + "; the record was altered");
  }
  return PlaintextField(reply, "Decrypt");
}

StatusOr<crypto::SecureBuffer> AwsKmsWrapper::Generate(size_t bytes) {
  if (!CanGenerate(bytes)) {
    return InvalidArgument("AWS KMS data keys are 1 to 1024 bytes, not " + std::to_string(bytes));
  }
  const std::string body = "{\"KeyId\":" + nlohmann::json(options_.key_id).dump() +
                           ",\"NumberOfBytes\":" + std::to_string(bytes) +
                           ",\"EncryptionContext\":" + Context("") + "}";
  ASSIGN_OR_RETURN(aws::KmsReply reply, client_->Call("GenerateDataKey", body, options_.key_id));
  ASSIGN_OR_RETURN(crypto::SecureBuffer key, PlaintextField(reply, "GenerateDataKey"));
  if (key.size() != bytes) {
    return DataLoss("AWS KMS GenerateDataKey answered " + std::to_string(key.size()) + " bytes for " +
                    std::to_string(bytes));
  }
  return key;
}

}  // namespace keyring_locker
