// Payloads that find objects and read or add their attributes: Locate, Get
// Attributes, Add Attribute (KMIP 1.2 spec sections 4.9, 4.12, 4.14).
#include <utility>

#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_messages_internal.h"

namespace keyring_locker::kmip {

using internal::Shown;

namespace {

// One attribute of a Get Attributes response into `out`; attributes we do
// not use are skipped (servers may return more than asked for).
Status ReadAttribute(const TtlvItem& attribute, ObjectAttributes* out) {
  if (attribute.type() != ItemType::kStructure) return DataLoss("an Attribute is not a Structure");
  ASSIGN_OR_RETURN(std::string name, attribute.ChildTextString(tag::kAttributeName));
  ASSIGN_OR_RETURN(const TtlvItem* value, attribute.Child(tag::kAttributeValue));
  auto bad = [&](const Status& s) { return s.Annotate("attribute '" + Shown(name) + "'"); };
  if (name == attr::kName) {
    if (value->type() != ItemType::kStructure) return DataLoss("attribute Name is not a Structure");
    StatusOr<std::string> text = value->ChildTextString(tag::kNameValue);
    if (!text.ok()) return bad(text.status());
    out->names.push_back(std::move(*text));
  } else if (name == attr::kObjectGroup) {
    StatusOr<std::string> group = value->AsTextString();
    if (!group.ok()) return bad(group.status());
    out->object_groups.push_back(std::move(*group));
  } else if (name == attr::kObjectType) {
    StatusOr<uint32_t> type = value->AsEnumeration();
    if (!type.ok()) return bad(type.status());
    out->object_type = *type;
  } else if (name == attr::kApplicationSpecificInformation) {
    if (value->type() != ItemType::kStructure) {
      return DataLoss("attribute Application Specific Information is not a Structure");
    }
    ApplicationInfo info;
    StatusOr<std::string> space = value->ChildTextString(tag::kApplicationNamespace);
    if (!space.ok()) return bad(space.status());
    StatusOr<std::string> text = value->ChildTextString(tag::kApplicationData);
    if (!text.ok()) return bad(text.status());
    info.application_namespace = std::move(*space);
    info.application_data = std::move(*text);
    out->application_info.push_back(std::move(info));
  } else if (name == attr::kState) {
    StatusOr<uint32_t> state = value->AsEnumeration();
    if (!state.ok()) return bad(state.status());
    out->state = *state;
  } else if (name == attr::kCryptographicAlgorithm) {
    StatusOr<uint32_t> algorithm = value->AsEnumeration();
    if (!algorithm.ok()) return bad(algorithm.status());
    out->algorithm = *algorithm;
  } else if (name == attr::kCryptographicLength) {
    StatusOr<int32_t> length = value->AsInteger();
    if (!length.ok()) return bad(length.status());
    out->length_bits = *length;
  } else if (name == attr::kInitialDate) {
    StatusOr<int64_t> date = value->AsDateTime();
    if (!date.ok()) return bad(date.status());
    out->initial_date = *date;
  } else if (name.compare(0, 2, attr::kCustomPrefix) == 0 && value->type() == ItemType::kTextString) {
    out->custom.emplace_back(std::move(name), value->text());
  }
  return Status::Ok();
}

}  // namespace

StatusOr<crypto::SecureBuffer> BuildLocateRequest(const RequestOptions& options, const LocateQuery& query) {
  if (query.max_items < 0) return InvalidArgument("Locate: Maximum Items must not be negative (0 leaves it out)");
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  if (query.max_items > 0) payload.Add(TtlvItem::Integer(tag::kMaximumItems, query.max_items));
  if (query.object_type) payload.Add(internal::EnumAttribute(attr::kObjectType, *query.object_type));
  if (!query.name.empty()) payload.Add(internal::NameAttribute(query.name));
  if (!query.object_group.empty()) payload.Add(internal::TextAttribute(attr::kObjectGroup, query.object_group));
  if (query.state) payload.Add(internal::EnumAttribute(attr::kState, *query.state));
  return internal::EncodeRequest(options, Operation::kLocate, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildGetAttributesRequest(const RequestOptions& options, const std::string& uid,
                                                         const std::vector<std::string>& names) {
  RETURN_IF_ERROR(internal::CheckUid(uid, Operation::kGetAttributes));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  for (const std::string& name : names) {
    if (name.empty()) return InvalidArgument("Get Attributes: an attribute name is empty");
    payload.Add(TtlvItem::TextString(tag::kAttributeName, name));
  }
  return internal::EncodeRequest(options, Operation::kGetAttributes, std::move(payload));
}

StatusOr<crypto::SecureBuffer> BuildAddAttributeRequest(const RequestOptions& options, const std::string& uid,
                                                        const std::string& name, const std::string& value) {
  RETURN_IF_ERROR(internal::CheckUid(uid, Operation::kAddAttribute));
  RETURN_IF_ERROR(internal::CheckCustomName(name));
  TtlvItem payload = TtlvItem::Structure(tag::kRequestPayload);
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  payload.Add(internal::TextAttribute(name, value));
  return internal::EncodeRequest(options, Operation::kAddAttribute, std::move(payload));
}

StatusOr<std::vector<std::string>> ParseLocateResponse(const uint8_t* data, size_t size,
                                                       const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kLocate, options));
  std::vector<std::string> uids;
  for (const TtlvItem* item : payload.FindAll(tag::kUniqueIdentifier)) {
    StatusOr<std::string> uid = item->AsTextString();
    if (!uid.ok()) return uid.status().Annotate(internal::ResponseContext(Operation::kLocate));
    if (uid->empty()) return DataLoss(internal::ResponseContext(Operation::kLocate) + " holds an empty Unique Identifier");
    uids.push_back(std::move(*uid));
  }
  return uids;
}

StatusOr<ObjectAttributes> ParseGetAttributesResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                      const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kGetAttributes, options));
  ObjectAttributes out;
  Status s = internal::CheckResponseUid(payload, uid);
  for (const TtlvItem* attribute : payload.FindAll(tag::kAttribute)) {
    if (!s.ok()) break;
    s = ReadAttribute(*attribute, &out);
  }
  if (!s.ok()) return s.Annotate(internal::ResponseContext(Operation::kGetAttributes));
  out.unique_identifier = uid;
  return out;
}

Status ParseAddAttributeResponse(const uint8_t* data, size_t size, const std::string& uid,
                                 const ResponseOptions& options) {
  ASSIGN_OR_RETURN(TtlvItem payload, ParseResponsePayload(data, size, Operation::kAddAttribute, options));
  return internal::CheckResponseUid(payload, uid).Annotate(internal::ResponseContext(Operation::kAddAttribute));
}

}  // namespace keyring_locker::kmip
