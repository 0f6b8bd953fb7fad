// The KMIP message envelope: request header and batch item around a
// payload; response header, batch item and result checks around one.
#include "keyring_backend/kmip/kmip_messages.h"

#include <cstdio>
#include <utility>

#include "common/printable.h"
#include "keyring_backend/kmip/kmip_messages_internal.h"

namespace keyring_locker::kmip {
namespace internal {

namespace {

TtlvItem VersionItem(const ProtocolVersion& v) {
  TtlvItem item = TtlvItem::Structure(tag::kProtocolVersion);
  item.Add(TtlvItem::Integer(tag::kProtocolVersionMajor, v.major));
  item.Add(TtlvItem::Integer(tag::kProtocolVersionMinor, v.minor));
  return item;
}

TtlvItem Attribute(std::string name, TtlvItem value) {
  TtlvItem a = TtlvItem::Structure(tag::kAttribute);
  a.Add(TtlvItem::TextString(tag::kAttributeName, std::move(name)));
  a.Add(std::move(value));
  return a;
}

}  // namespace

StatusOr<crypto::SecureBuffer> EncodeRequest(const RequestOptions& options, Operation op, TtlvItem payload) {
  const ProtocolVersion& v = options.version;
  if (v.major != 1 || v.minor < 0) {
    return InvalidArgument("KMIP protocol version " + v.ToString() +
                           " is not supported: keyring_locker speaks KMIP 1.x (1.2 or later for Encrypt/Decrypt)");
  }
  if ((op == Operation::kEncrypt || op == Operation::kDecrypt) && !v.AtLeast(1, 2)) {
    return InvalidArgument(DescribeOperation(static_cast<uint32_t>(op)) + " needs KMIP 1.2 or later; the session uses " +
                           v.ToString());
  }
  if (options.max_response_size < 0) {
    return InvalidArgument("Maximum Response Size must not be negative (0 leaves it out)");
  }
  TtlvItem header = TtlvItem::Structure(tag::kRequestHeader);
  header.Add(VersionItem(v));
  if (options.max_response_size > 0) {
    header.Add(TtlvItem::Integer(tag::kMaximumResponseSize, options.max_response_size));
  }
  header.Add(TtlvItem::Integer(tag::kBatchCount, 1));
  TtlvItem batch = TtlvItem::Structure(tag::kBatchItem);
  batch.Add(TtlvItem::Enumeration(tag::kOperation, static_cast<uint32_t>(op)));
  batch.Add(std::move(payload));
  TtlvItem message = TtlvItem::Structure(tag::kRequestMessage);
  message.Add(std::move(header));
  message.Add(std::move(batch));
  return EncodeTtlv(message);
}

Status CheckUid(const std::string& uid, Operation op) {
  if (uid.empty()) {
    return InvalidArgument(DescribeOperation(static_cast<uint32_t>(op)) + " needs the object's Unique Identifier");
  }
  return Status::Ok();
}

Status CheckCustomName(const std::string& name) {
  if (name.size() <= 2 || name.compare(0, 2, attr::kCustomPrefix) != 0) {
    return InvalidArgument("custom KMIP attribute '" + Printable(name, 80) +
                           "' must be named \"x-<something>\": names without the x- prefix belong to the spec");
  }
  return Status::Ok();
}

TtlvItem TextAttribute(const std::string& name, std::string value) {
  return Attribute(name, TtlvItem::TextString(tag::kAttributeValue, std::move(value)));
}

TtlvItem EnumAttribute(const char* name, uint32_t value) {
  return Attribute(name, TtlvItem::Enumeration(tag::kAttributeValue, value));
}

TtlvItem IntegerAttribute(const char* name, int32_t value) {
  return Attribute(name, TtlvItem::Integer(tag::kAttributeValue, value));
}

TtlvItem NameAttribute(std::string value) {
  TtlvItem name = TtlvItem::Structure(tag::kAttributeValue);
  name.Add(TtlvItem::TextString(tag::kNameValue, std::move(value)));
  name.Add(TtlvItem::Enumeration(tag::kNameType, enums::kNameUninterpretedTextString));
  return Attribute(attr::kName, std::move(name));
}

TtlvItem ApplicationInfoAttribute(const ApplicationInfo& info, int32_t index) {
  TtlvItem value = TtlvItem::Structure(tag::kAttributeValue);
  value.Add(TtlvItem::TextString(tag::kApplicationNamespace, info.application_namespace));
  value.Add(TtlvItem::TextString(tag::kApplicationData, info.application_data));
  TtlvItem a = TtlvItem::Structure(tag::kAttribute);
  a.Add(TtlvItem::TextString(tag::kAttributeName, attr::kApplicationSpecificInformation));
  if (index >= 0) a.Add(TtlvItem::Integer(tag::kAttributeIndex, index));
  a.Add(std::move(value));
  return a;
}

void AddApplicationInfo(const std::vector<ApplicationInfo>& infos, TtlvItem* template_attribute) {
  const bool indexed = infos.size() > 1;
  for (size_t i = 0; i < infos.size(); ++i) {
    template_attribute->Add(ApplicationInfoAttribute(infos[i], indexed ? static_cast<int32_t>(i) : -1));
  }
}

TtlvItem ByteStringItem(Tag tag, const std::vector<uint8_t>& bytes) {
  return TtlvItem::ByteString(tag, crypto::SecureBuffer::CopyOf(bytes.data(), bytes.size()));
}

std::vector<uint8_t> ToVector(const crypto::SecureBuffer& b) { return std::vector<uint8_t>(b.data(), b.data() + b.size()); }

StatusOr<std::string> ResponseUid(const TtlvItem& payload) {
  ASSIGN_OR_RETURN(std::string uid, payload.ChildTextString(tag::kUniqueIdentifier));
  if (uid.empty()) return DataLoss(payload.Name() + " has an empty Unique Identifier");
  return uid;
}

Status CheckResponseUid(const TtlvItem& payload, const std::string& uid) {
  ASSIGN_OR_RETURN(std::string got, ResponseUid(payload));
  if (got != uid) {
    return DataLoss("it is about object '" + Shown(got) + "', the request was about '" + Shown(uid) + "'");
  }
  return Status::Ok();
}

std::string ResponseContext(Operation op) { return "KMIP " + DescribeOperation(static_cast<uint32_t>(op)) + " response"; }

std::string Shown(const std::string& server_text) { return Printable(server_text, 200); }

}  // namespace internal

namespace {

// Why each Result Reason maps where it does: NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED and UNAUTHENTICATED are what the key store branches on;
// a request the server cannot accept is INVALID_ARGUMENT (fix the request or
// the version), a server lacking a feature or refusing in the object's state
// is FAILED_PRECONDITION (retrying will not help), and only failures that may
// pass are UNAVAILABLE.
Code ReasonCode(uint32_t reason) {
  switch (reason) {
    case enums::kReasonItemNotFound: return Code::kNotFound;
    case enums::kReasonResponseTooLarge: return Code::kResourceExhausted;
    case enums::kReasonAuthenticationNotSuccessful:
    case enums::kReasonAttestationRequired:
      return Code::kUnauthenticated;
    case enums::kReasonPermissionDenied:
    case enums::kReasonAttestationFailed:
    case enums::kReasonSensitive:
    case enums::kReasonNotExtractable:
      return Code::kPermissionDenied;
    case enums::kReasonInvalidMessage:
    case enums::kReasonMissingData:
    case enums::kReasonInvalidField:
    case enums::kReasonIndexOutOfBounds:
      return Code::kInvalidArgument;
    case enums::kReasonObjectAlreadyExists: return Code::kAlreadyExists;
    case enums::kReasonCryptographicFailure: return Code::kDataLoss;  // e.g. a ciphertext that does not decrypt
    case enums::kReasonOperationCanceledByRequester:
    case enums::kReasonGeneralFailure:
      return Code::kUnavailable;
    default:  // not supported, illegal in this state, archived, formats, unknown reasons
      return Code::kFailedPrecondition;
  }
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%02X", v);
  return buf;
}

StatusOr<ProtocolVersion> ReadVersion(const TtlvItem& header) {
  ASSIGN_OR_RETURN(const TtlvItem* v, header.ChildStructure(tag::kProtocolVersion));
  ProtocolVersion version;
  ASSIGN_OR_RETURN(version.major, v->ChildInteger(tag::kProtocolVersionMajor));
  ASSIGN_OR_RETURN(version.minor, v->ChildInteger(tag::kProtocolVersionMinor));
  return version;
}

}  // namespace

Status ResultToStatus(Operation op, uint32_t result_status, std::optional<uint32_t> result_reason,
                      const std::string& result_message) {
  if (result_status == enums::kResultSuccess) return Status::Ok();
  const std::string what = "KMIP " + DescribeOperation(static_cast<uint32_t>(op));
  const std::string message = result_message.empty() ? "" : ": " + internal::Shown(result_message);
  switch (result_status) {
    case enums::kResultOperationFailed: {
      if (!result_reason) return FailedPrecondition(what + " failed without a Result Reason" + message);
      const char* name = ResultReasonName(*result_reason);
      return Status(ReasonCode(*result_reason), what + " failed: " + (name ? name : "unknown Result Reason") + " (" +
                                                    Hex(*result_reason) + ")" + message);
    }
    case enums::kResultOperationPending:
      // We never ask for asynchronous processing; whether the operation will
      // still happen is unknown, so a retry is not safe to assume.
      return FailedPrecondition(what + " answered Operation Pending although the request was synchronous" + message);
    case enums::kResultOperationUndone:
      return Unavailable(what + " was undone by the server (Operation Undone); nothing changed" + message);
    default:
      return DataLoss(what + " answered with unknown Result Status " + Hex(result_status) + message);
  }
}

StatusOr<TtlvItem> ParseResponsePayload(const uint8_t* data, size_t size, Operation op,
                                        const ResponseOptions& options) {
  const std::string what = internal::ResponseContext(op);
  StatusOr<TtlvItem> decoded = DecodeTtlv(data, size, options.limits);
  if (!decoded.ok()) return decoded.status().Annotate(what);
  TtlvItem& message = *decoded;
  if (message.tag() != tag::kResponseMessage || message.type() != ItemType::kStructure) {
    return DataLoss(what + " is a " + ItemTypeName(message.type()) + " " + message.Name() +
                    ", not a Response Message Structure");
  }
  // Envelope checks first, on const views of the tree.
  bool server_failure = false;  // the server answered with a failure (vs. a malformed reply)
  {
    auto checked = [&]() -> Status {
      ASSIGN_OR_RETURN(const TtlvItem* header, message.ChildStructure(tag::kResponseHeader));
      ASSIGN_OR_RETURN(ProtocolVersion version, ReadVersion(*header));
      ASSIGN_OR_RETURN(const TtlvItem* stamp, header->OptionalChild(tag::kTimeStamp));
      if (stamp != nullptr) RETURN_IF_ERROR(stamp->AsDateTime().status());
      ASSIGN_OR_RETURN(int32_t batch_count, header->ChildInteger(tag::kBatchCount));
      const std::vector<const TtlvItem*> items = message.FindAll(tag::kBatchItem);
      if (batch_count != 1 || items.size() != 1) {
        return DataLoss("Batch Count is " + std::to_string(batch_count) + " with " + std::to_string(items.size()) +
                        " Batch Items; the request had one");
      }
      const TtlvItem& item = *items[0];
      if (item.type() != ItemType::kStructure) return DataLoss("Batch Item is not a Structure");
      ASSIGN_OR_RETURN(const TtlvItem* operation, item.OptionalChild(tag::kOperation));
      ASSIGN_OR_RETURN(uint32_t status, item.ChildEnumeration(tag::kResultStatus));
      ASSIGN_OR_RETURN(const TtlvItem* reason_item, item.OptionalChild(tag::kResultReason));
      ASSIGN_OR_RETURN(const TtlvItem* message_item, item.OptionalChild(tag::kResultMessage));
      ASSIGN_OR_RETURN(const TtlvItem* payload, item.OptionalChild(tag::kResponsePayload));
      if (operation != nullptr) {
        ASSIGN_OR_RETURN(uint32_t operation_found, operation->AsEnumeration());
        if (operation_found != static_cast<uint32_t>(op)) {
          return DataLoss("it answers " + DescribeOperation(operation_found) + ", not the operation asked for");
        }
      } else if (status == enums::kResultSuccess) {
        return DataLoss("its successful Batch Item names no Operation");
      }
      std::optional<uint32_t> reason;
      if (reason_item != nullptr) {
        ASSIGN_OR_RETURN(reason, reason_item->AsEnumeration());
      }
      std::string server_message;
      if (message_item != nullptr) {
        ASSIGN_OR_RETURN(server_message, message_item->AsTextString());
      }
      Status result = ResultToStatus(op, status, reason, server_message);
      if (!result.ok()) {
        server_failure = true;
        return result;
      }
      if (version.major != options.version.major) {
        return DataLoss("it is in KMIP " + version.ToString() + ", the request was in KMIP " +
                        options.version.ToString());
      }
      if (payload != nullptr && payload->type() != ItemType::kStructure) {
        return DataLoss("its Response Payload is a " + std::string(ItemTypeName(payload->type())));
      }
      return Status::Ok();
    };
    Status s = checked();
    if (!s.ok()) {
      // A server failure names its operation already; a malformed reply says where it was found.
      return server_failure ? s : s.Annotate(what);
    }
  }
  for (TtlvItem& item : message.mutable_children()) {
    if (item.tag() != tag::kBatchItem) continue;
    for (TtlvItem& child : item.mutable_children()) {
      if (child.tag() == tag::kResponsePayload) return std::move(child);
    }
  }
  return TtlvItem::Structure(tag::kResponsePayload);
}

bool ServerQuery::Supports(Operation op) const {
  for (uint32_t o : operations) {
    if (o == static_cast<uint32_t>(op)) return true;
  }
  return false;
}

}  // namespace keyring_locker::kmip
