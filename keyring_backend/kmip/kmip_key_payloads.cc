// Payloads of the key life cycle: Create, Register, Activate, Get, Revoke,
// Destroy (KMIP 1.2 spec sections 4.1, 4.3, 4.11, 4.19, 4.20, 4.21), for
// Symmetric Keys and, in Register and Get, Secret Data.
#include <utility>

#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_messages_internal.h"

namespace keyring_locker::kmip {

using internal::CheckResponseUid;
using internal::CheckUid;
using internal::Shown;

namespace {

Status CheckKeyAttributes(const KeyAttributes& key) {
  if (key.length_bits <= 0) {
    return InvalidArgument("Cryptographic Length must be a positive number of bits, not " +
                           std::to_string(key.length_bits));
  }
  for (const auto& [name, value] : key.custom) RETURN_IF_ERROR(internal::CheckCustomName(name));
  return Status::Ok();
}

// Template-Attribute of Create and Register. The order (Algorithm, Length,
// Name, Usage Mask, Object Group, custom) is the one of the spec's use
// cases, so their encodings can be compared byte for byte.
TtlvItem TemplateAttribute(const KeyAttributes& key) {
  TtlvItem t = TtlvItem::Structure(tag::kTemplateAttribute);
  t.Add(internal::EnumAttribute(attr::kCryptographicAlgorithm, key.algorithm));
  t.Add(internal::IntegerAttribute(attr::kCryptographicLength, key.length_bits));
  if (!key.name.empty()) t.Add(internal::NameAttribute(key.name));
  t.Add(internal::IntegerAttribute(attr::kCryptographicUsageMask, key.usage_mask));
  if (!key.object_group.empty()) t.Add(internal::TextAttribute(attr::kObjectGroup, key.object_group));
  for (const auto& [name, value] : key.custom) t.Add(internal::TextAttribute(name, value));
  internal::AddApplicationInfo(key.application_info, &t);
  return t;
}

StatusOr<crypto::SecureBuffer> UidOnlyRequest(const RequestOptions& options, Operation op, const std::string& uid) {
  RETURN_IF_ERROR(CheckUid(uid, op));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  return internal::EncodeRequest(options, op, std::move(payload));
}

Status UidOnlyResponse(const uint8_t* data, size_t size, Operation op, const std::string& uid,
                       const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, op, options));
  return CheckResponseUid(payload, uid).Annotate(internal::ResponseContext(op));
}

// Create and Register answer with the new object's identifier.
StatusOr<std::string> NewObjectResponse(const uint8_t* data, size_t size, Operation op,
                                        const ResponseOptions& options,
                                        uint32_t object_type = enums::kObjectSymmetricKey) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, op, options));
  ASSIGN_OR_RETURN(const TtlvItem* type, payload.OptionalChild(tag::kObjectType));
  if (type != nullptr) {
    ASSIGN_OR_RETURN(uint32_t t, type->AsEnumeration());
    if (t != object_type) {
      return DataLoss(internal::ResponseContext(op) + " reports Object Type " + std::to_string(t) +
                      " for a request of Object Type " + std::to_string(object_type));
    }
  }
  StatusOr<std::string> uid = internal::ResponseUid(payload);
  if (!uid.ok()) return uid.status().Annotate(internal::ResponseContext(op));
  return uid;
}

// The Raw key bytes of a Key Block, refusing everything else by name.
Status ReadKeyBlock(const TtlvItem& block, const std::string& uid, FetchedKey* out) {
  const std::string object = "key '" + Shown(uid) + "'";
  ASSIGN_OR_RETURN(const TtlvItem* wrapping, block.OptionalChild(tag::kKeyWrappingData));
  if (wrapping != nullptr) {
    return FailedPrecondition("the server returned " + object +
                              " wrapped (Key Wrapping Data present); keyring_locker reads unwrapped Raw keys only");
  }
  ASSIGN_OR_RETURN(uint32_t format, block.ChildEnumeration(tag::kKeyFormatType));
  if (format != enums::kKeyFormatRaw) {
    return FailedPrecondition("the server returned " + object + " in Key Format Type " + std::to_string(format) +
                              "; keyring_locker reads Raw (1) keys only");
  }
  ASSIGN_OR_RETURN(const TtlvItem* value, block.Child(tag::kKeyValue));
  if (value->type() == ItemType::kByteString) {
    // A Key Value that is a Byte String is the wrapped form (spec 2.1.4).
    return FailedPrecondition("the server returned " + object +
                              " with an opaque (wrapped) Key Value; keyring_locker reads unwrapped Raw keys only");
  }
  if (value->type() != ItemType::kStructure) {
    return DataLoss("Key Value of " + object + " is a " + ItemTypeName(value->type()));
  }
  ASSIGN_OR_RETURN(const crypto::SecureBuffer* material, value->ChildByteString(tag::kKeyMaterial));
  if (material->empty()) return DataLoss("Key Material of " + object + " is empty");
  ASSIGN_OR_RETURN(const TtlvItem* algorithm, block.OptionalChild(tag::kCryptographicAlgorithm));
  if (algorithm != nullptr) {
    ASSIGN_OR_RETURN(out->algorithm, algorithm->AsEnumeration());
  }
  // DES keys carry a parity bit per byte that the Cryptographic Length does
  // not count (3DES: 168 bits in 24 bytes).
  const bool parity = out->algorithm == enums::kAlgorithmDes || out->algorithm == enums::kAlgorithm3Des;
  const size_t key_bits = material->size() * (parity ? 7 : 8);
  if (key_bits > 0x7FFFFFFF) return DataLoss("Key Material of " + object + " is too long");
  out->length_bits = static_cast<int32_t>(key_bits);
  ASSIGN_OR_RETURN(const TtlvItem* length, block.OptionalChild(tag::kCryptographicLength));
  if (length != nullptr) {
    ASSIGN_OR_RETURN(int32_t bits, length->AsInteger());
    if (bits <= 0 || static_cast<size_t>(bits) != key_bits) {
      return DataLoss("Cryptographic Length of " + object + " says " + std::to_string(bits) + " bits but its " +
                      "Key Material holds " + std::to_string(material->size()) + " bytes");
    }
  }
  out->key = material->Clone();
  if (out->key.size() != material->size()) return ResourceExhausted("cannot allocate locked memory for " + object);
  return Status::Ok();
}

}  // namespace

StatusOr<crypto::SecureBuffer> BuildCreateRequest(const RequestOptions& options, const KeyAttributes& key) {
  RETURN_IF_ERROR(CheckKeyAttributes(key));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::Enumeration(tag::kObjectType, enums::kObjectSymmetricKey));
  payload.Add(TemplateAttribute(key));
  return internal::EncodeRequest(options, Operation::kCreate, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildRegisterRequest(const RequestOptions& options, const KeyAttributes& attributes,
                                                    const crypto::SecureBuffer& key) {
  RETURN_IF_ERROR(CheckKeyAttributes(attributes));
  if (key.empty() || key.size() * 8 != static_cast<size_t>(attributes.length_bits)) {
    return InvalidArgument("Register: the key holds " + std::to_string(key.size()) +
                           " bytes but Cryptographic Length says " + std::to_string(attributes.length_bits) + " bits");
  }
  crypto::SecureBuffer material = key.Clone();
  if (material.size() != key.size()) return ResourceExhausted("Register: cannot allocate locked memory for the key");
  TtlvItem value = TtlvItem::Structure(tag::kKeyValue);
  value.Add(TtlvItem::ByteString(tag::kKeyMaterial, std::move(material)));
  TtlvItem block = TtlvItem::Structure(tag::kKeyBlock);
  block.Add(TtlvItem::Enumeration(tag::kKeyFormatType, enums::kKeyFormatRaw));
  block.Add(std::move(value));
  block.Add(TtlvItem::Enumeration(tag::kCryptographicAlgorithm, attributes.algorithm));
  block.Add(TtlvItem::Integer(tag::kCryptographicLength, attributes.length_bits));
  TtlvItem symmetric_key = TtlvItem::Structure(tag::kSymmetricKey);
  symmetric_key.Add(std::move(block));

  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::Enumeration(tag::kObjectType, enums::kObjectSymmetricKey));
  payload.Add(TemplateAttribute(attributes));
  payload.Add(std::move(symmetric_key));
  return internal::EncodeRequest(options, Operation::kRegister, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildRegisterSecretDataRequest(const RequestOptions& options,
                                                              const SecretDataAttributes& attributes,
                                                              const crypto::SecureBuffer& data) {
  if (data.empty()) return InvalidArgument("Register: Secret Data must not be empty");
  crypto::SecureBuffer material = data.Clone();
  if (material.size() != data.size()) return ResourceExhausted("Register: cannot allocate locked memory for the data");
  TtlvItem value = TtlvItem::Structure(tag::kKeyValue);
  value.Add(TtlvItem::ByteString(tag::kKeyMaterial, std::move(material)));
  TtlvItem block = TtlvItem::Structure(tag::kKeyBlock);
  block.Add(TtlvItem::Enumeration(tag::kKeyFormatType, enums::kKeyFormatOpaque));
  block.Add(std::move(value));
  TtlvItem secret = TtlvItem::Structure(tag::kSecretData);
  secret.Add(TtlvItem::Enumeration(tag::kSecretDataType, attributes.secret_data_type));
  secret.Add(std::move(block));

  TtlvItem t = TtlvItem::Structure(tag::kTemplateAttribute);
  if (!attributes.name.empty()) t.Add(internal::NameAttribute(attributes.name));
  if (!attributes.object_group.empty()) t.Add(internal::TextAttribute(attr::kObjectGroup, attributes.object_group));
  internal::AddApplicationInfo(attributes.application_info, &t);

  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::Enumeration(tag::kObjectType, enums::kObjectSecretData));
  payload.Add(std::move(t));
  payload.Add(std::move(secret));
  return internal::EncodeRequest(options, Operation::kRegister, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildActivateRequest(const RequestOptions& options, const std::string& uid) {
  return UidOnlyRequest(options, Operation::kActivate, uid);
}

StatusOr<crypto::SecureBuffer> BuildDestroyRequest(const RequestOptions& options, const std::string& uid) {
  return UidOnlyRequest(options, Operation::kDestroy, uid);
}

StatusOr<crypto::SecureBuffer> BuildGetRequest(const RequestOptions& options, const std::string& uid,
                                               const GetOptions& get) {
  RETURN_IF_ERROR(CheckUid(uid, Operation::kGet));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  if (get.key_format_type) payload.Add(TtlvItem::Enumeration(tag::kKeyFormatType, *get.key_format_type));
  return internal::EncodeRequest(options, Operation::kGet, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildRevokeRequest(const RequestOptions& options, const std::string& uid,
                                                  const Revocation& revocation) {
  RETURN_IF_ERROR(CheckUid(uid, Operation::kRevoke));
  TtlvItem reason = TtlvItem::Structure(tag::kRevocationReason);
  reason.Add(TtlvItem::Enumeration(tag::kRevocationReasonCode, revocation.reason_code));
  if (!revocation.message.empty()) reason.Add(TtlvItem::TextString(tag::kRevocationMessage, revocation.message));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  payload.Add(std::move(reason));
  if (revocation.compromise_occurrence_date) {
    payload.Add(TtlvItem::DateTime(tag::kCompromiseOccurrenceDate, *revocation.compromise_occurrence_date));
  }
  return internal::EncodeRequest(options, Operation::kRevoke, std::move(payload));
}

StatusOr<std::string> ParseCreateResponse(const uint8_t* data, size_t size, const ResponseOptions& options) {
  return NewObjectResponse(data, size, Operation::kCreate, options);
}

StatusOr<std::string> ParseRegisterResponse(const uint8_t* data, size_t size, const ResponseOptions& options) {
  return NewObjectResponse(data, size, Operation::kRegister, options);
}

StatusOr<std::string> ParseRegisterSecretDataResponse(const uint8_t* data, size_t size,
                                                      const ResponseOptions& options) {
  return NewObjectResponse(data, size, Operation::kRegister, options, enums::kObjectSecretData);
}

Status ParseActivateResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options) {
  return UidOnlyResponse(data, size, Operation::kActivate, uid, options);
}

Status ParseRevokeResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options) {
  return UidOnlyResponse(data, size, Operation::kRevoke, uid, options);
}

Status ParseDestroyResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options) {
  return UidOnlyResponse(data, size, Operation::kDestroy, uid, options);
}

StatusOr<FetchedKey> ParseGetResponse(const uint8_t* data, size_t size, const std::string& uid,
                                      const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kGet, options));
  auto read = [&](FetchedKey* key) -> Status {
    RETURN_IF_ERROR(CheckResponseUid(payload, uid));
    key->unique_identifier = uid;
    ASSIGN_OR_RETURN(uint32_t type, payload.ChildEnumeration(tag::kObjectType));
    if (type != enums::kObjectSymmetricKey) {
      return FailedPrecondition("object '" + Shown(uid) + "' has Object Type " + std::to_string(type) +
                                "; keyring_locker reads Symmetric Keys (2) only");
    }
    ASSIGN_OR_RETURN(const TtlvItem* symmetric_key, payload.ChildStructure(tag::kSymmetricKey));
    ASSIGN_OR_RETURN(const TtlvItem* block, symmetric_key->ChildStructure(tag::kKeyBlock));
    return ReadKeyBlock(*block, uid, key);
  };
  FetchedKey key;
  Status s = read(&key);
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kGet));
  return key;
}

StatusOr<FetchedSecretData> ParseGetSecretDataResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                       const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kGet, options));
  auto read = [&](FetchedSecretData* out) -> Status {
    RETURN_IF_ERROR(CheckResponseUid(payload, uid));
    out->unique_identifier = uid;
    const std::string object = "object '" + Shown(uid) + "'";
    ASSIGN_OR_RETURN(uint32_t type, payload.ChildEnumeration(tag::kObjectType));
    if (type != enums::kObjectSecretData) {
      return FailedPrecondition(object + " has Object Type " + std::to_string(type) + ", not Secret Data (7)");
    }
    ASSIGN_OR_RETURN(const TtlvItem* secret, payload.ChildStructure(tag::kSecretData));
    ASSIGN_OR_RETURN(out->secret_data_type, secret->ChildEnumeration(tag::kSecretDataType));
    ASSIGN_OR_RETURN(const TtlvItem* block, secret->ChildStructure(tag::kKeyBlock));
    ASSIGN_OR_RETURN(const TtlvItem* wrapping, block->OptionalChild(tag::kKeyWrappingData));
    if (wrapping != nullptr) {
      return FailedPrecondition("the server returned " + object +
                                " wrapped (Key Wrapping Data present); keyring_locker reads unwrapped data only");
    }
    ASSIGN_OR_RETURN(uint32_t format, block->ChildEnumeration(tag::kKeyFormatType));
    if (format != enums::kKeyFormatOpaque) {
      return FailedPrecondition("the server returned " + object + " in Key Format Type " + std::to_string(format) +
                                "; keyring_locker reads Secret Data in Opaque (2) format only");
    }
    ASSIGN_OR_RETURN(const TtlvItem* value, block->Child(tag::kKeyValue));
    if (value->type() != ItemType::kStructure) {
      return FailedPrecondition("the server returned " + object + " with an opaque (wrapped) Key Value");
    }
    ASSIGN_OR_RETURN(const crypto::SecureBuffer* material, value->ChildByteString(tag::kKeyMaterial));
    if (material->empty()) return DataLoss("Key Material of " + object + " is empty");
    out->data = material->Clone();
    if (out->data.size() != material->size()) return ResourceExhausted("cannot allocate locked memory for " + object);
    return Status::Ok();
  };
  FetchedSecretData out;
  Status s = read(&out);
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kGet));
  return out;
}

}  // namespace keyring_locker::kmip
