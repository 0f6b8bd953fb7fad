// Payloads that ask the server about itself or use a key in place: Discover
// Versions, Query, Encrypt, Decrypt (KMIP 1.2 spec sections 4.25, 4.26,
// 4.29, 4.30; the authenticated-encryption fields are KMIP 1.4's).
#include <utility>

#include "common/printable.h"
#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_messages_internal.h"

namespace keyring_locker::kmip {
namespace {

// Server Information is vendor-defined: its text strings, joined, are what
// an operator can use.
void CollectText(const TtlvItem& item, size_t depth, std::string* out) {
  if (item.type() == ItemType::kTextString) {
    if (!out->empty()) *out += "; ";
    *out += item.text();
  }
  if (depth == 0) return;
  for (const TtlvItem& child : item.children()) CollectText(child, depth - 1, out);
}

TtlvItem CryptoParametersItem(const CryptoParameters& p) {
  // Field order of the spec's Cryptographic Parameters structure.
  TtlvItem item = TtlvItem::Structure(tag::kCryptographicParameters);
  item.Add(TtlvItem::Enumeration(tag::kBlockCipherMode, p.block_cipher_mode));
  if (p.padding_method) item.Add(TtlvItem::Enumeration(tag::kPaddingMethod, *p.padding_method));
  if (p.algorithm) item.Add(TtlvItem::Enumeration(tag::kCryptographicAlgorithm, *p.algorithm));
  if (p.random_iv) item.Add(TtlvItem::Boolean(tag::kRandomIv, *p.random_iv));
  if (p.tag_length) item.Add(TtlvItem::Integer(tag::kTagLength, *p.tag_length));
  return item;
}

// Unique Identifier, Cryptographic Parameters, Data, IV/Counter/Nonce and,
// from KMIP 1.4, the authenticated-encryption fields.
StatusOr<crypto::SecureBuffer> CipherRequestMessage(const RequestOptions& options, Operation op,
                                                    const CipherRequest& request, TtlvItem data) {
  RETURN_IF_ERROR(internal::CheckUid(request.unique_identifier, op));
  const bool aead = !request.additional_data.empty() || !request.tag.empty();
  if (aead && !options.version.AtLeast(1, 4)) {
    return InvalidArgument("authenticated-encryption data and tags need KMIP 1.4; the session uses " +
                           options.version.ToString());
  }
  if (op == Operation::kEncrypt && !request.tag.empty()) {
    return InvalidArgument("Encrypt takes no Authenticated Encryption Tag; the server returns one");
  }
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, request.unique_identifier));
  payload.Add(CryptoParametersItem(request.parameters));
  payload.Add(std::move(data));
  if (!request.iv_counter_nonce.empty()) {
    payload.Add(internal::ByteStringItem(tag::kIvCounterNonce, request.iv_counter_nonce));
  }
  if (!request.additional_data.empty()) {
    payload.Add(internal::ByteStringItem(tag::kAuthenticatedEncryptionAdditionalData, request.additional_data));
  }
  if (!request.tag.empty()) payload.Add(internal::ByteStringItem(tag::kAuthenticatedEncryptionTag, request.tag));
  return internal::EncodeRequest(options, op, std::move(payload));
}

StatusOr<std::vector<uint8_t>> OptionalBytes(const TtlvItem& payload, Tag t) {
  ASSIGN_OR_RETURN(const TtlvItem* item, payload.OptionalChild(t));
  if (item == nullptr) return std::vector<uint8_t>();
  ASSIGN_OR_RETURN(const crypto::SecureBuffer* bytes, item->AsByteString());
  return internal::ToVector(*bytes);
}

}  // namespace

StatusOr<crypto::SecureBuffer> BuildDiscoverVersionsRequest(const RequestOptions& options,
                                                            const std::vector<ProtocolVersion>& offered) {
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  for (const ProtocolVersion& v : offered) {
    TtlvItem item = TtlvItem::Structure(tag::kProtocolVersion);
    item.Add(TtlvItem::Integer(tag::kProtocolVersionMajor, v.major));
    item.Add(TtlvItem::Integer(tag::kProtocolVersionMinor, v.minor));
    payload.Add(std::move(item));
  }
  return internal::EncodeRequest(options, Operation::kDiscoverVersions, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildQueryRequest(const RequestOptions& options, const std::vector<uint32_t>& functions) {
  if (functions.empty()) return InvalidArgument("Query needs at least one Query Function");
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  for (uint32_t f : functions) payload.Add(TtlvItem::Enumeration(tag::kQueryFunction, f));
  return internal::EncodeRequest(options, Operation::kQuery, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildEncryptRequest(const RequestOptions& options, const CipherRequest& request,
                                                   const crypto::SecureBuffer& plaintext) {
  crypto::SecureBuffer data = plaintext.Clone();
  if (data.size() != plaintext.size()) return ResourceExhausted("Encrypt: cannot allocate locked memory for the data");
  return CipherRequestMessage(options, Operation::kEncrypt, request, TtlvItem::ByteString(tag::kData, std::move(data)));
}

StatusOr<crypto::SecureBuffer> BuildDecryptRequest(const RequestOptions& options, const CipherRequest& request,
                                                   const std::vector<uint8_t>& ciphertext) {
  return CipherRequestMessage(options, Operation::kDecrypt, request, internal::ByteStringItem(tag::kData, ciphertext));
}

StatusOr<std::vector<ProtocolVersion>> ParseDiscoverVersionsResponse(const uint8_t* data, size_t size,
                                                                     const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kDiscoverVersions, options));
  std::vector<ProtocolVersion> versions;
  for (const TtlvItem* item : payload.FindAll(tag::kProtocolVersion)) {
    ProtocolVersion v;
    StatusOr<int32_t> major = item->ChildInteger(tag::kProtocolVersionMajor);
    StatusOr<int32_t> minor = major.ok() ? item->ChildInteger(tag::kProtocolVersionMinor) : major;
    if (!minor.ok()) return minor.status().Annotate(internal::ResponseContext(Operation::kDiscoverVersions));
    v.major = *major;
    v.minor = *minor;
    versions.push_back(v);
  }
  return versions;
}

StatusOr<ServerQuery> ParseQueryResponse(const uint8_t* data, size_t size, const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kQuery, options));
  ServerQuery out;
  auto read = [&]() -> Status {
    for (const TtlvItem* op : payload.FindAll(tag::kOperation)) {
      ASSIGN_OR_RETURN(uint32_t v, op->AsEnumeration());
      out.operations.push_back(v);
    }
    for (const TtlvItem* type : payload.FindAll(tag::kObjectType)) {
      ASSIGN_OR_RETURN(uint32_t v, type->AsEnumeration());
      out.object_types.push_back(v);
    }
    ASSIGN_OR_RETURN(const TtlvItem* vendor, payload.OptionalChild(tag::kVendorIdentification));
    if (vendor != nullptr) {
      ASSIGN_OR_RETURN(std::string text, vendor->AsTextString());
      out.vendor_identification = Printable(text, 200);
    }
    ASSIGN_OR_RETURN(const TtlvItem* info, payload.OptionalChild(tag::kServerInformation));
    if (info != nullptr) {
      std::string text;
      CollectText(*info, 4, &text);
      out.server_information = Printable(text, 400);
    }
    return Status::Ok();
  };
  Status s = read();
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kQuery));
  return out;
}

StatusOr<EncryptResult> ParseEncryptResponse(const uint8_t* data, size_t size, const std::string& uid,
                                             const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kEncrypt, options));
  EncryptResult out;
  auto read = [&]() -> Status {
    RETURN_IF_ERROR(internal::CheckResponseUid(payload, uid));
    ASSIGN_OR_RETURN(const crypto::SecureBuffer* ciphertext, payload.ChildByteString(tag::kData));
    out.data = internal::ToVector(*ciphertext);
    ASSIGN_OR_RETURN(out.iv_counter_nonce, OptionalBytes(payload, tag::kIvCounterNonce));
    ASSIGN_OR_RETURN(out.tag, OptionalBytes(payload, tag::kAuthenticatedEncryptionTag));
    return Status::Ok();
  };
  Status s = read();
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kEncrypt));
  return out;
}

StatusOr<crypto::SecureBuffer> ParseDecryptResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                    const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kDecrypt, options));
  Status s = internal::CheckResponseUid(payload, uid);
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kDecrypt));
  StatusOr<const crypto::SecureBuffer*> plaintext = payload.ChildByteString(tag::kData);
  if (!plaintext.ok()) return plaintext.status().Annotate(internal::ResponseContext(Operation::kDecrypt));
  crypto::SecureBuffer out = (*plaintext)->Clone();
  if (out.size() != (*plaintext)->size()) return ResourceExhausted("Decrypt: cannot allocate locked memory");
  return out;
}

}  // namespace keyring_locker::kmip
