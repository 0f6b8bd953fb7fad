#include "keyring_backend/kmip/kmip_tags.h"

#include <cstdio>

namespace keyring_locker::kmip {
namespace {

struct NamedTag {
  Tag tag;
  const char* name;
};

constexpr NamedTag kTagNames[] = {
    {tag::kActivationDate, "Activation Date"},
    {tag::kApplicationData, "Application Data"},
    {tag::kApplicationNamespace, "Application Namespace"},
    {tag::kApplicationSpecificInformation, "Application Specific Information"},
    {tag::kAttribute, "Attribute"},
    {tag::kAttributeIndex, "Attribute Index"},
    {tag::kAttributeName, "Attribute Name"},
    {tag::kAttributeValue, "Attribute Value"},
    {tag::kBatchCount, "Batch Count"},
    {tag::kBatchItem, "Batch Item"},
    {tag::kBlockCipherMode, "Block Cipher Mode"},
    {tag::kCompromiseOccurrenceDate, "Compromise Occurrence Date"},
    {tag::kCryptographicAlgorithm, "Cryptographic Algorithm"},
    {tag::kCryptographicLength, "Cryptographic Length"},
    {tag::kCryptographicParameters, "Cryptographic Parameters"},
    {tag::kCryptographicUsageMask, "Cryptographic Usage Mask"},
    {tag::kInitialDate, "Initial Date"},
    {tag::kIvCounterNonce, "IV/Counter/Nonce"},
    {tag::kKeyBlock, "Key Block"},
    {tag::kKeyCompressionType, "Key Compression Type"},
    {tag::kKeyFormatType, "Key Format Type"},
    {tag::kKeyMaterial, "Key Material"},
    {tag::kKeyValue, "Key Value"},
    {tag::kKeyWrappingData, "Key Wrapping Data"},
    {tag::kMaximumItems, "Maximum Items"},
    {tag::kMaximumResponseSize, "Maximum Response Size"},
    {tag::kName, "Name"},
    {tag::kNameType, "Name Type"},
    {tag::kNameValue, "Name Value"},
    {tag::kObjectGroup, "Object Group"},
    {tag::kObjectType, "Object Type"},
    {tag::kOperation, "Operation"},
    {tag::kPaddingMethod, "Padding Method"},
    {tag::kProtocolVersion, "Protocol Version"},
    {tag::kProtocolVersionMajor, "Protocol Version Major"},
    {tag::kProtocolVersionMinor, "Protocol Version Minor"},
    {tag::kQueryFunction, "Query Function"},
    {tag::kRequestHeader, "Request Header"},
    {tag::kRequestMessage, "Request Message"},
    {tag::kRequestPayload, "Request Payload"},
    {tag::kResponseHeader, "Response Header"},
    {tag::kResponseMessage, "Response Message"},
    {tag::kResponsePayload, "Response Payload"},
    {tag::kResultMessage, "Result Message"},
    {tag::kResultReason, "Result Reason"},
    {tag::kResultStatus, "Result Status"},
    {tag::kRevocationMessage, "Revocation Message"},
    {tag::kRevocationReason, "Revocation Reason"},
    {tag::kRevocationReasonCode, "Revocation Reason Code"},
    {tag::kSecretData, "Secret Data"},
    {tag::kSecretDataType, "Secret Data Type"},
    {tag::kServerInformation, "Server Information"},
    {tag::kState, "State"},
    {tag::kSymmetricKey, "Symmetric Key"},
    {tag::kTemplateAttribute, "Template-Attribute"},
    {tag::kTimeStamp, "Time Stamp"},
    {tag::kUniqueBatchItemId, "Unique Batch Item ID"},
    {tag::kUniqueIdentifier, "Unique Identifier"},
    {tag::kVendorIdentification, "Vendor Identification"},
    {tag::kData, "Data"},
    {tag::kRandomIv, "Random IV"},
    {tag::kTagLength, "Tag Length"},
    {tag::kAuthenticatedEncryptionAdditionalData, "Authenticated Encryption Additional Data"},
    {tag::kAuthenticatedEncryptionTag, "Authenticated Encryption Tag"},
};

struct NamedValue {
  uint32_t value;
  const char* name;
};

constexpr NamedValue kOperationNames[] = {
    {0x01, "Create"},         {0x03, "Register"},       {0x08, "Locate"},
    {0x0A, "Get"},            {0x0B, "Get Attributes"}, {0x0D, "Add Attribute"},
    {0x12, "Activate"},       {0x13, "Revoke"},         {0x14, "Destroy"},
    {0x18, "Query"},          {0x1E, "Discover Versions"}, {0x1F, "Encrypt"},
    {0x20, "Decrypt"},
};

constexpr NamedValue kReasonNames[] = {
    {enums::kReasonItemNotFound, "Item Not Found"},
    {enums::kReasonResponseTooLarge, "Response Too Large"},
    {enums::kReasonAuthenticationNotSuccessful, "Authentication Not Successful"},
    {enums::kReasonInvalidMessage, "Invalid Message"},
    {enums::kReasonOperationNotSupported, "Operation Not Supported"},
    {enums::kReasonMissingData, "Missing Data"},
    {enums::kReasonInvalidField, "Invalid Field"},
    {enums::kReasonFeatureNotSupported, "Feature Not Supported"},
    {enums::kReasonOperationCanceledByRequester, "Operation Canceled By Requester"},
    {enums::kReasonCryptographicFailure, "Cryptographic Failure"},
    {enums::kReasonIllegalOperation, "Illegal Operation"},
    {enums::kReasonPermissionDenied, "Permission Denied"},
    {enums::kReasonObjectArchived, "Object Archived"},
    {enums::kReasonIndexOutOfBounds, "Index Out of Bounds"},
    {enums::kReasonApplicationNamespaceNotSupported, "Application Namespace Not Supported"},
    {enums::kReasonKeyFormatTypeNotSupported, "Key Format Type Not Supported"},
    {enums::kReasonKeyCompressionTypeNotSupported, "Key Compression Type Not Supported"},
    {enums::kReasonEncodingOptionError, "Encoding Option Error"},
    {enums::kReasonKeyValueNotPresent, "Key Value Not Present"},
    {enums::kReasonAttestationRequired, "Attestation Required"},
    {enums::kReasonAttestationFailed, "Attestation Failed"},
    {enums::kReasonSensitive, "Sensitive"},
    {enums::kReasonNotExtractable, "Not Extractable"},
    {enums::kReasonObjectAlreadyExists, "Object Already Exists"},
    {enums::kReasonGeneralFailure, "General Failure"},
};

std::string Hex(uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%0*X", digits, v);
  return buf;
}

}  // namespace

const char* ItemTypeName(ItemType type) {
  switch (type) {
    case ItemType::kStructure: return "Structure";
    case ItemType::kInteger: return "Integer";
    case ItemType::kLongInteger: return "Long Integer";
    case ItemType::kBigInteger: return "Big Integer";
    case ItemType::kEnumeration: return "Enumeration";
    case ItemType::kBoolean: return "Boolean";
    case ItemType::kTextString: return "Text String";
    case ItemType::kByteString: return "Byte String";
    case ItemType::kDateTime: return "Date-Time";
    case ItemType::kInterval: return "Interval";
  }
  return "unknown type";
}

bool IsKnownItemType(uint8_t type) { return type >= 0x01 && type <= 0x0A; }

std::string DescribeTag(Tag t) {
  for (const NamedTag& n : kTagNames) {
    if (n.tag == t) return std::string(n.name) + " (" + Hex(t, 6) + ")";
  }
  return "tag " + Hex(t, 6);
}

std::string DescribeOperation(uint32_t op) {
  for (const NamedValue& n : kOperationNames) {
    if (n.value == op) return std::string(n.name) + " (" + Hex(op, 2) + ")";
  }
  return "operation " + Hex(op, 2);
}

const char* ResultReasonName(uint32_t reason) {
  for (const NamedValue& n : kReasonNames) {
    if (n.value == reason) return n.name;
  }
  return nullptr;
}

const char* StateName(uint32_t state) {
  switch (state) {
    case enums::kStatePreActive: return "Pre-Active";
    case enums::kStateActive: return "Active";
    case enums::kStateDeactivated: return "Deactivated";
    case enums::kStateCompromised: return "Compromised";
    case enums::kStateDestroyed: return "Destroyed";
    case enums::kStateDestroyedCompromised: return "Destroyed Compromised";
    default: return nullptr;
  }
}

}  // namespace keyring_locker::kmip
