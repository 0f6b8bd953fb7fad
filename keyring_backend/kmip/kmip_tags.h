// KMIP 1.x constants used by keyring_locker: TTLV item types, tags and the
// enumeration values of the fields we send or read. Values are from the
// OASIS KMIP Specification 1.2 / 1.4 (section 9.1.3, "Defined Values");
// only what the message layer uses is listed.
#pragma once

#include <cstdint>
#include <string>

namespace keyring_locker::kmip {

// A tag is 3 bytes on the wire: 0x42xxxx for the spec's tags, 0x54xxxx for
// extensions.
using Tag = uint32_t;

// TTLV item types (spec 9.1.1.2).
enum class ItemType : uint8_t {
  kStructure = 0x01,
  kInteger = 0x02,       // 4 bytes, signed
  kLongInteger = 0x03,   // 8 bytes, signed
  kBigInteger = 0x04,    // multiple of 8 bytes, two's complement, big-endian
  kEnumeration = 0x05,   // 4 bytes, unsigned
  kBoolean = 0x06,       // 8 bytes, 0 or 1
  kTextString = 0x07,    // UTF-8, not terminated
  kByteString = 0x08,
  kDateTime = 0x09,      // 8 bytes, seconds since the POSIX epoch, signed
  kInterval = 0x0A,      // 4 bytes, seconds, unsigned
};
const char* ItemTypeName(ItemType type);
bool IsKnownItemType(uint8_t type);

namespace tag {
inline constexpr Tag kActivationDate = 0x420001;
inline constexpr Tag kApplicationData = 0x420002;
inline constexpr Tag kApplicationNamespace = 0x420003;
inline constexpr Tag kApplicationSpecificInformation = 0x420004;
inline constexpr Tag kAttribute = 0x420008;
inline constexpr Tag kAttributeIndex = 0x420009;
inline constexpr Tag kAttributeName = 0x42000A;
inline constexpr Tag kAttributeValue = 0x42000B;
inline constexpr Tag kBatchCount = 0x42000D;
inline constexpr Tag kBatchItem = 0x42000F;
inline constexpr Tag kBlockCipherMode = 0x420011;
inline constexpr Tag kCompromiseOccurrenceDate = 0x420021;
inline constexpr Tag kCryptographicAlgorithm = 0x420028;
inline constexpr Tag kCryptographicLength = 0x42002A;
inline constexpr Tag kCryptographicParameters = 0x42002B;
inline constexpr Tag kCryptographicUsageMask = 0x42002C;
inline constexpr Tag kInitialDate = 0x420039;
inline constexpr Tag kIvCounterNonce = 0x42003D;
inline constexpr Tag kKeyBlock = 0x420040;
inline constexpr Tag kKeyCompressionType = 0x420041;
inline constexpr Tag kKeyFormatType = 0x420042;
inline constexpr Tag kKeyMaterial = 0x420043;
inline constexpr Tag kKeyValue = 0x420045;
inline constexpr Tag kKeyWrappingData = 0x420046;
inline constexpr Tag kMaximumItems = 0x42004F;
inline constexpr Tag kMaximumResponseSize = 0x420050;
inline constexpr Tag kName = 0x420053;
inline constexpr Tag kNameType = 0x420054;
inline constexpr Tag kNameValue = 0x420055;
inline constexpr Tag kObjectGroup = 0x420056;
inline constexpr Tag kObjectType = 0x420057;
inline constexpr Tag kOperation = 0x42005C;
inline constexpr Tag kPaddingMethod = 0x42005F;
inline constexpr Tag kProtocolVersion = 0x420069;
inline constexpr Tag kProtocolVersionMajor = 0x42006A;
inline constexpr Tag kProtocolVersionMinor = 0x42006B;
inline constexpr Tag kQueryFunction = 0x420074;
inline constexpr Tag kRequestHeader = 0x420077;
inline constexpr Tag kRequestMessage = 0x420078;
inline constexpr Tag kRequestPayload = 0x420079;
inline constexpr Tag kResponseHeader = 0x42007A;
inline constexpr Tag kResponseMessage = 0x42007B;
inline constexpr Tag kResponsePayload = 0x42007C;
inline constexpr Tag kResultMessage = 0x42007D;
inline constexpr Tag kResultReason = 0x42007E;
inline constexpr Tag kResultStatus = 0x42007F;
inline constexpr Tag kRevocationMessage = 0x420080;
inline constexpr Tag kRevocationReason = 0x420081;
inline constexpr Tag kRevocationReasonCode = 0x420082;
inline constexpr Tag kSecretData = 0x420085;
inline constexpr Tag kSecretDataType = 0x420086;
inline constexpr Tag kServerInformation = 0x420088;
inline constexpr Tag kState = 0x42008D;
inline constexpr Tag kSymmetricKey = 0x42008F;
inline constexpr Tag kTemplateAttribute = 0x420091;
inline constexpr Tag kTimeStamp = 0x420092;
inline constexpr Tag kUniqueBatchItemId = 0x420093;
inline constexpr Tag kUniqueIdentifier = 0x420094;
inline constexpr Tag kVendorIdentification = 0x42009D;
inline constexpr Tag kData = 0x4200C2;
inline constexpr Tag kRandomIv = 0x4200C5;
inline constexpr Tag kTagLength = 0x4200CE;
// KMIP 1.4
inline constexpr Tag kAuthenticatedEncryptionAdditionalData = 0x4200FE;
inline constexpr Tag kAuthenticatedEncryptionTag = 0x4200FF;
}  // namespace tag

// "Unique Identifier (0x420094)" for the tags above, "tag 0x54ABCD" otherwise:
// error messages name fields the way the spec does.
std::string DescribeTag(Tag t);

// Attribute names (spec section 3): the Attribute Name text of each attribute.
namespace attr {
inline constexpr char kApplicationSpecificInformation[] = "Application Specific Information";
inline constexpr char kCryptographicAlgorithm[] = "Cryptographic Algorithm";
inline constexpr char kCryptographicLength[] = "Cryptographic Length";
inline constexpr char kCryptographicUsageMask[] = "Cryptographic Usage Mask";
inline constexpr char kInitialDate[] = "Initial Date";
inline constexpr char kName[] = "Name";
inline constexpr char kObjectGroup[] = "Object Group";
inline constexpr char kObjectType[] = "Object Type";
inline constexpr char kState[] = "State";
// Client-defined attributes start with "x-" (spec 2.1.1).
inline constexpr char kCustomPrefix[] = "x-";
}  // namespace attr

enum class Operation : uint32_t {
  kCreate = 0x01,
  kRegister = 0x03,
  kLocate = 0x08,
  kGet = 0x0A,
  kGetAttributes = 0x0B,
  kAddAttribute = 0x0D,
  kActivate = 0x12,
  kRevoke = 0x13,
  kDestroy = 0x14,
  kQuery = 0x18,
  kDiscoverVersions = 0x1E,
  kEncrypt = 0x1F,
  kDecrypt = 0x20,
};
// "Get (0x0A)"; any value, known or not.
std::string DescribeOperation(uint32_t op);

namespace enums {
// Object Type
inline constexpr uint32_t kObjectSymmetricKey = 0x02;
inline constexpr uint32_t kObjectSecretData = 0x07;
// Secret Data Type
inline constexpr uint32_t kSecretDataPassword = 0x01;
inline constexpr uint32_t kSecretDataSeed = 0x02;
// Cryptographic Algorithm
inline constexpr uint32_t kAlgorithmDes = 0x01;
inline constexpr uint32_t kAlgorithm3Des = 0x02;
inline constexpr uint32_t kAlgorithmAes = 0x03;
// Cryptographic Usage Mask (an Integer bit mask)
inline constexpr int32_t kUsageEncrypt = 0x04;
inline constexpr int32_t kUsageDecrypt = 0x08;
// Name Type
inline constexpr uint32_t kNameUninterpretedTextString = 0x01;
// Key Format Type
inline constexpr uint32_t kKeyFormatRaw = 0x01;
inline constexpr uint32_t kKeyFormatOpaque = 0x02;
inline constexpr uint32_t kKeyFormatTransparentSymmetricKey = 0x07;
// Result Status
inline constexpr uint32_t kResultSuccess = 0x00;
inline constexpr uint32_t kResultOperationFailed = 0x01;
inline constexpr uint32_t kResultOperationPending = 0x02;
inline constexpr uint32_t kResultOperationUndone = 0x03;
// Result Reason
inline constexpr uint32_t kReasonItemNotFound = 0x01;
inline constexpr uint32_t kReasonResponseTooLarge = 0x02;
inline constexpr uint32_t kReasonAuthenticationNotSuccessful = 0x03;
inline constexpr uint32_t kReasonInvalidMessage = 0x04;
inline constexpr uint32_t kReasonOperationNotSupported = 0x05;
inline constexpr uint32_t kReasonMissingData = 0x06;
inline constexpr uint32_t kReasonInvalidField = 0x07;
inline constexpr uint32_t kReasonFeatureNotSupported = 0x08;
inline constexpr uint32_t kReasonOperationCanceledByRequester = 0x09;
inline constexpr uint32_t kReasonCryptographicFailure = 0x0A;
inline constexpr uint32_t kReasonIllegalOperation = 0x0B;
inline constexpr uint32_t kReasonPermissionDenied = 0x0C;
inline constexpr uint32_t kReasonObjectArchived = 0x0D;
inline constexpr uint32_t kReasonIndexOutOfBounds = 0x0E;
inline constexpr uint32_t kReasonApplicationNamespaceNotSupported = 0x0F;
inline constexpr uint32_t kReasonKeyFormatTypeNotSupported = 0x10;
inline constexpr uint32_t kReasonKeyCompressionTypeNotSupported = 0x11;
inline constexpr uint32_t kReasonEncodingOptionError = 0x12;
inline constexpr uint32_t kReasonKeyValueNotPresent = 0x13;
inline constexpr uint32_t kReasonAttestationRequired = 0x14;
inline constexpr uint32_t kReasonAttestationFailed = 0x15;
inline constexpr uint32_t kReasonSensitive = 0x16;
inline constexpr uint32_t kReasonNotExtractable = 0x17;
inline constexpr uint32_t kReasonObjectAlreadyExists = 0x18;
inline constexpr uint32_t kReasonGeneralFailure = 0x100;
// Query Function
inline constexpr uint32_t kQueryOperations = 0x01;
inline constexpr uint32_t kQueryObjects = 0x02;
inline constexpr uint32_t kQueryServerInformation = 0x03;
// Block Cipher Mode
inline constexpr uint32_t kModeCbc = 0x01;
inline constexpr uint32_t kModeEcb = 0x02;
inline constexpr uint32_t kModeCtr = 0x06;
inline constexpr uint32_t kModeGcm = 0x09;
inline constexpr uint32_t kModeNistKeyWrap = 0x0D;
// Padding Method
inline constexpr uint32_t kPaddingNone = 0x01;
inline constexpr uint32_t kPaddingPkcs5 = 0x03;
// Revocation Reason Code
inline constexpr uint32_t kRevocationUnspecified = 0x01;
inline constexpr uint32_t kRevocationKeyCompromise = 0x02;
inline constexpr uint32_t kRevocationSuperseded = 0x05;
inline constexpr uint32_t kRevocationCessationOfOperation = 0x06;
// State
inline constexpr uint32_t kStatePreActive = 0x01;
inline constexpr uint32_t kStateActive = 0x02;
inline constexpr uint32_t kStateDeactivated = 0x03;
inline constexpr uint32_t kStateCompromised = 0x04;
inline constexpr uint32_t kStateDestroyed = 0x05;
inline constexpr uint32_t kStateDestroyedCompromised = 0x06;
}  // namespace enums

// "Item Not Found" etc.; nullptr for a value the spec does not define.
const char* ResultReasonName(uint32_t reason);
// "Pre-Active", "Active", ...; nullptr for a value the spec does not define.
const char* StateName(uint32_t state);

}  // namespace keyring_locker::kmip
