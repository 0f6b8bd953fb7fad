#include "keyring_backend/kmip/kmip_wrapper.h"

#include "common/printable.h"
#include "crypto/crypto.h"
#include "keyring_backend/wrapper/wrapped_fields.h"

namespace keyring_locker {

namespace enums = kmip::enums;

namespace {

constexpr char kFormatPrefix[] = "kmip:v1:gcm:";
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kMaxCiphertext = 64 * 1024;

// Standard base64 with its one canonical text (padding bits zero), so a
// changed character never decodes to the same bytes.
StatusOr<std::vector<uint8_t>> DecodeField(const std::string& text, const char* what) {
  StatusOr<crypto::Bytes> bytes = crypto::Base64Decode(text);
  if (!bytes.ok() || crypto::Base64Encode(bytes->data(), bytes->size()) != text) {
    return InvalidArgument(std::string("the ") + what + " is not canonical base64");
  }
  return std::move(bytes).value();
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

bool Retryable(const Status& s) { return s.code() == Code::kNotFound || s.code() == Code::kPermissionDenied; }

}  // namespace

StatusOr<std::unique_ptr<KmipWrapper>> KmipWrapper::Open(std::shared_ptr<kmip::KmipClient> client,
                                                         const std::string& wrapping_key) {
  if (!client) return InvalidArgument("the kmip wrapper needs a KMIP client");
  bool printable = !wrapping_key.empty() && wrapping_key.size() <= 200;
  for (unsigned char c : wrapping_key) printable = printable && c >= 0x20 && c < 0x7F;
  if (!printable) {
    return InvalidArgument("kmip.wrapping_key \"" + Printable(wrapping_key, 40) +
                           "\" must be the Name of the key-encryption key on the KMIP server (1-200 printable "
                           "ASCII characters)");
  }
  return std::make_unique<KmipWrapper>(std::move(client), wrapping_key);
}

KmipWrapper::KmipWrapper(std::shared_ptr<kmip::KmipClient> client, std::string wrapping_key)
    : client_(std::move(client)), wrapping_key_(std::move(wrapping_key)) {}

std::string KmipWrapper::Format(const Sealed& s) {
  return kFormatPrefix + crypto::Base64Encode(s.nonce.data(), s.nonce.size()) + ":" +
         crypto::Base64Encode(s.ciphertext.data(), s.ciphertext.size()) + ":" +
         crypto::Base64Encode(s.tag.data(), s.tag.size());
}

StatusOr<KmipWrapper::Sealed> KmipWrapper::Parse(const std::string& wrapped) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("not a kmip-wrapped key (" + why + "); expected kmip:v1:gcm:<nonce>:<ciphertext>:<tag>");
  };
  std::array<std::string, 3> f;
  if (auto why = SplitWrappedFields(wrapped, kFormatPrefix, 2 * kMaxCiphertext, &f)) return bad(*why);
  Sealed s;
  auto nonce = DecodeField(f[0], "nonce");
  auto ciphertext = DecodeField(f[1], "ciphertext");
  auto tag = DecodeField(f[2], "tag");
  for (const auto* field : {&nonce, &ciphertext, &tag}) {
    if (!field->ok()) return bad(field->status().message());
  }
  s.nonce = std::move(nonce).value();
  s.ciphertext = std::move(ciphertext).value();
  s.tag = std::move(tag).value();
  if (s.nonce.size() != kNonceBytes) return bad("the nonce has " + std::to_string(s.nonce.size()) + " bytes, not 12");
  if (s.tag.size() != kTagBytes) return bad("the tag has " + std::to_string(s.tag.size()) + " bytes, not 16");
  if (s.ciphertext.empty() || s.ciphertext.size() > kMaxCiphertext) {
    return bad("the ciphertext has " + std::to_string(s.ciphertext.size()) + " bytes");
  }
  return s;
}

Status KmipWrapper::CheckVersion() {
  ASSIGN_OR_RETURN(kmip::ProtocolVersion v, client_->Version());
  if (v.AtLeast(1, 4)) return Status::Ok();
  return FailedPrecondition(
      "the KMIP server agreed on KMIP " + v.ToString() +
      "; the kmip wrapper needs KMIP 1.4 (authenticated encryption: AES-GCM binding each key's identity). Use a "
      "server that speaks KMIP 1.4 with kmip.max_version \"1.4\", or keep the keys themselves in the KMIP store "
      "with the wrapper \"none\"");
}

StatusOr<std::string> KmipWrapper::FindKek() {
  const std::string what = "KMIP wrapping key \"" + wrapping_key_ + "\"";
  kmip::LocateQuery query;  // Symmetric Keys of that Name, in any state
  query.name = wrapping_key_;
  ASSIGN_OR_RETURN(std::vector<std::string> uids, client_->Locate(query));
  if (uids.empty()) {
    return NotFound(what + " was not found on " + client_->endpoints() + " (as seen by this client's certificate): "
                    "create an AES-256 key of that Name with usage Encrypt and Decrypt and activate it, or set "
                    "kmip.wrapping_key to the Name of an existing one");
  }
  std::vector<std::string> active;
  std::string states;
  kmip::ObjectAttributes chosen;
  for (const std::string& uid : uids) {
    auto a = client_->GetAttributes(
        uid, {kmip::attr::kState, kmip::attr::kCryptographicAlgorithm, kmip::attr::kCryptographicLength});
    if (!a.ok() && a.status().code() == Code::kNotFound) continue;
    if (!a.ok()) return a.status().Annotate("reading the state of " + what);
    const uint32_t state = a->state.value_or(0);
    const char* state_name = kmip::StateName(state);
    states += (states.empty() ? "" : ", ") + Printable(uid, 40) + " " + (state_name ? state_name : "unknown");
    if (state == enums::kStateActive) {
      active.push_back(uid);
      chosen = std::move(a).value();
    }
  }
  if (active.empty()) {
    return FailedPrecondition(what + " is not Active (" + states +
                              "): activate it (KMIP Activate), or create and activate a new one of that Name");
  }
  if (active.size() > 1) {
    return FailedPrecondition(what + " names " + std::to_string(active.size()) + " Active keys (" + states +
                              "): keep exactly one Active (revoke the others), or every server of the database "
                              "could wrap with another key");
  }
  if (chosen.algorithm.value_or(0) != enums::kAlgorithmAes || chosen.length_bits.value_or(0) != 256) {
    return FailedPrecondition(what + " (uid " + Printable(active[0], 40) + ") is not an AES-256 key (algorithm " +
                              std::to_string(chosen.algorithm.value_or(0)) + ", " +
                              std::to_string(chosen.length_bits.value_or(0)) +
                              " bits): point kmip.wrapping_key at an AES-256 key");
  }
  return active[0];
}

StatusOr<std::string> KmipWrapper::KekUid(bool refresh) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!refresh && !kek_uid_.empty()) return kek_uid_;
  }
  ASSIGN_OR_RETURN(std::string uid, FindKek());
  std::lock_guard<std::mutex> lock(mu_);
  kek_uid_ = uid;
  return uid;
}

Status KmipWrapper::Connect() {
  RETURN_IF_ERROR(CheckVersion());
  return KekUid(true).status();
}

// The AES-GCM request Wrap and Unwrap both send: our nonce, a 16-byte tag,
// the key's identity as associated data.
kmip::CipherRequest KmipWrapper::GcmRequest(const std::string& uid, const std::vector<uint8_t>& nonce,
                                            const std::string& associated_data) {
  kmip::CipherRequest request;
  request.unique_identifier = uid;
  request.parameters.block_cipher_mode = enums::kModeGcm;
  request.parameters.padding_method.reset();
  request.parameters.tag_length = static_cast<int32_t>(kTagBytes);
  request.iv_counter_nonce = nonce;
  request.additional_data = Bytes(associated_data);
  return request;
}

StatusOr<std::string> KmipWrapper::Wrap(const crypto::SecureBuffer& plaintext, const std::string& associated_data) {
  if (plaintext.empty() || plaintext.size() > kMaxCiphertext) {
    return InvalidArgument("the kmip wrapper wraps 1 to 65536 bytes, not " + std::to_string(plaintext.size()));
  }
  RETURN_IF_ERROR(CheckVersion());
  Sealed sealed;
  sealed.nonce.resize(kNonceBytes);
  RETURN_IF_ERROR(crypto::RandomBytes(sealed.nonce.data(), sealed.nonce.size()));
  // Once more with a fresh lookup when the cached KEK is gone or no longer
  // Active (replaced by the operator).
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::string uid, KekUid(attempt > 0));
    kmip::CipherRequest request = GcmRequest(uid, sealed.nonce, associated_data);
    StatusOr<kmip::EncryptResult> r = client_->Encrypt(request, plaintext);
    if (!r.ok() && attempt == 0 && Retryable(r.status())) continue;
    if (!r.ok()) return r.status().Annotate("wrapping with KMIP key \"" + wrapping_key_ + "\"");
    if (r->tag.size() != kTagBytes || r->data.size() != plaintext.size() ||
        (!r->iv_counter_nonce.empty() && r->iv_counter_nonce != sealed.nonce)) {
      return DataLoss("the KMIP server's AES-GCM Encrypt answer with key \"" + wrapping_key_ +
                      "\" is not what was asked for (tag of " + std::to_string(r->tag.size()) + " bytes, " +
                      std::to_string(r->data.size()) + " bytes of ciphertext for " +
                      std::to_string(plaintext.size()) + ")");
    }
    sealed.ciphertext = std::move(r->data);
    sealed.tag = std::move(r->tag);
    return Format(sealed);
  }
}

StatusOr<crypto::SecureBuffer> KmipWrapper::Unwrap(const std::string& wrapped, const std::string& associated_data) {
  ASSIGN_OR_RETURN(Sealed sealed, Parse(wrapped));
  RETURN_IF_ERROR(CheckVersion());
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::string uid, KekUid(attempt > 0));
    kmip::CipherRequest request = GcmRequest(uid, sealed.nonce, associated_data);
    request.tag = sealed.tag;
    StatusOr<crypto::SecureBuffer> r = client_->Decrypt(request, sealed.ciphertext);
    if (!r.ok() && attempt == 0 && Retryable(r.status())) continue;
    if (!r.ok()) {
      // PyKMIP answers a tag that does not verify with General Failure.
      return r.status().Annotate("unwrapping with KMIP key \"" + wrapping_key_ +
                                 "\" (a failed tag check means the wrapped key was altered, belongs to another "
                                 "key or identity, or was wrapped by another key of that Name)");
    }
    if (r->size() != sealed.ciphertext.size()) {
      return DataLoss("the KMIP server's AES-GCM Decrypt answer with key \"" + wrapping_key_ + "\" has " +
                      std::to_string(r->size()) + " bytes for " + std::to_string(sealed.ciphertext.size()));
    }
    return std::move(r).value();
  }
}

StatusOr<crypto::SecureBuffer> KmipWrapper::Generate(size_t) {
  return FailedPrecondition("the kmip wrapper makes no keys; the envelope makes them");
}

}  // namespace keyring_locker
