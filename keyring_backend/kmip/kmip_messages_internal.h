// Helpers shared by the KMIP payload files (kmip_*_payloads.cc); not part
// of the message layer's interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keyring_backend/kmip/kmip_messages.h"

namespace keyring_locker::kmip::internal {

// The Request Message for one batch item of `op` carrying `payload` (a
// Request Payload Structure), encoded. Refuses versions other than 1.x and
// operations the version does not have.
StatusOr<crypto::SecureBuffer> EncodeRequest(const RequestOptions& options, Operation op, TtlvItem payload);

// A Unique Identifier the caller passed in: non-empty.
Status CheckUid(const std::string& uid, Operation op);
// "x-" and at least one more character.
Status CheckCustomName(const std::string& name);

// Attribute structures (Attribute Name + Attribute Value).
TtlvItem TextAttribute(const std::string& name, std::string value);
TtlvItem EnumAttribute(const char* name, uint32_t value);
TtlvItem IntegerAttribute(const char* name, int32_t value);
// Name: Name Value + Name Type (Uninterpreted Text String).
TtlvItem NameAttribute(std::string value);
// Application Specific Information: Application Namespace + Application
// Data; `index` >= 0 adds an Attribute Index (values of a multi-valued
// attribute in one request need them).
TtlvItem ApplicationInfoAttribute(const ApplicationInfo& info, int32_t index);
// Each value as above, indexed when there are several.
void AddApplicationInfo(const std::vector<ApplicationInfo>& infos, TtlvItem* template_attribute);

TtlvItem ByteStringItem(Tag tag, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> ToVector(const crypto::SecureBuffer& b);

// The response's Unique Identifier: present, a non-empty Text String.
StatusOr<std::string> ResponseUid(const TtlvItem& payload);
// ...and equal to `uid`, the object the request was about.
Status CheckResponseUid(const TtlvItem& payload, const std::string& uid);

// "KMIP Get (0x0A) response", the context of every response error.
std::string ResponseContext(Operation op);

// Server text on its way into a message: printable and bounded.
std::string Shown(const std::string& server_text);

}  // namespace keyring_locker::kmip::internal
