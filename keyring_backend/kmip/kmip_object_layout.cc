#include "keyring_backend/kmip/kmip_object_layout.h"

#include <utility>
#include <vector>

#include "common/percent_escape.h"
#include "common/printable.h"
#include "keyring_backend/store/document_layout.h"

namespace keyring_locker::kmip {
namespace {

constexpr char kRecordTag[] = "klk1";
constexpr char kMarkerTag[] = "klk-del1";
constexpr char kMarkerSuffix[] = ".deleted";
constexpr size_t kMaxMetadata = 4096;  // a real one is ~150 bytes

bool Plain(unsigned char c) { return c >= 0x21 && c <= 0x7E && c != '%' && c != ';' && c != '='; }

// "k=v;k=v" after the tag, in the order of `keys`, each exactly once.
StatusOr<std::vector<std::string>> Fields(const std::string& data, const char* tag,
                                          const std::vector<const char*>& keys, const std::string& object) {
  auto bad = [&](const std::string& why) {
    return DataLoss(object + " has damaged keyring_locker metadata (Application Specific Information): " + why +
                    "; it was not written by keyring_locker or was altered");
  };
  if (data.size() > kMaxMetadata) return bad("it is " + std::to_string(data.size()) + " bytes long");
  std::vector<std::string> tokens;
  size_t start = 0;
  while (true) {
    const size_t end = data.find(';', start);
    tokens.push_back(data.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (tokens[0] != tag) return bad("it does not start with \"" + std::string(tag) + "\"");
  if (tokens.size() != keys.size() + 1) {
    return bad("it has " + std::to_string(tokens.size() - 1) + " fields, not " + std::to_string(keys.size()));
  }
  std::vector<std::string> values;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& token = tokens[i + 1];
    const std::string key = std::string(keys[i]) + "=";
    if (token.compare(0, key.size(), key) != 0) {
      return bad("field " + std::to_string(i + 1) + " is not " + keys[i] + "=...");
    }
    StatusOr<std::string> value = KmipObjectLayout::DecodeValue(token.substr(key.size()));
    if (!value.ok()) return bad("field " + std::string(keys[i]) + ": " + value.status().message());
    values.push_back(std::move(value).value());
  }
  return values;
}

// Decimal without sign or leading zeros, at most `max`.
bool ParseUnsigned(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace

Status KmipObjectLayout::CheckScope(const std::string& prefix, const std::string& scope) {
  for (const auto& [what, value] : {std::pair<const char*, const std::string*>{"keys.prefix", &prefix},
                                    std::pair<const char*, const std::string*>{"keys.scope", &scope}}) {
    bool printable = !value->empty() && value->size() <= 200;
    for (unsigned char c : *value) printable = printable && c >= 0x21 && c <= 0x7E;
    if (!printable) {
      return InvalidArgument(std::string(what) + " \"" + Printable(*value, 40) +
                             "\" cannot name KMIP objects: use 1-200 printable ASCII characters without spaces");
    }
  }
  return Status::Ok();
}

std::string KmipObjectLayout::KeyName(const std::string& name, uint32_t version) const {
  return group_ + "/" + DocumentLayout::EncodeName(name) + "/" + std::to_string(version);
}

std::string KmipObjectLayout::MarkerName(const std::string& name, uint32_t version) const {
  return KeyName(name, version) + kMarkerSuffix;
}

std::optional<KmipObjectLayout::Parsed> KmipObjectLayout::Parse(const std::string& object_name) const {
  const std::string root = group_ + "/";
  if (object_name.size() <= root.size() || object_name.compare(0, root.size(), root) != 0) return std::nullopt;
  const std::string rest = object_name.substr(root.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || rest.find('/', slash + 1) != std::string::npos) return std::nullopt;
  const std::string segment = rest.substr(0, slash);
  const std::string tail = rest.substr(slash + 1);
  Parsed p;
  StatusOr<std::string> name = DocumentLayout::DecodeName(segment);
  // Only the one encoding we write: "%41" and "A" must not both name "A".
  if (!name.ok() || DocumentLayout::EncodeName(*name) != segment) return std::nullopt;
  p.name = std::move(name).value();
  if (DocumentLayout::ParseVersion(tail, &p.version) && std::to_string(p.version) == tail) return p;
  if (DocumentLayout::ParseMarker(tail, &p.version) && std::to_string(p.version) + kMarkerSuffix == tail) {
    p.marker = true;
    return p;
  }
  return std::nullopt;
}

std::string KmipObjectLayout::EncodeValue(const std::string& value) { return PercentEscape(value, Plain); }

StatusOr<std::string> KmipObjectLayout::DecodeValue(const std::string& text) {
  return PercentUnescape(text, UnescapeRules{Plain});
}

std::string KmipObjectLayout::EncodeRecord(const RecordMetadata& m) {
  return std::string(kRecordTag) + ";f=" + EncodeValue(m.format) + ";t=" + EncodeValue(m.type) +
         ";l=" + std::to_string(m.length) + ";w=" + EncodeValue(m.wrapper) + ";s=" + (m.wrapped ? "wrapped" : "key") +
         ";c=" + EncodeValue(m.created) +
         ";b=" + EncodeValue(m.creator) + ";o=" + EncodeValue(m.origin) + ";a=" + EncodeValue(m.attempt);
}

std::string KmipObjectLayout::EncodeMarker(const MarkerMetadata& m) {
  return std::string(kMarkerTag) + ";d=" + EncodeValue(m.deleted_at) + ";u=" + std::to_string(m.deleted_unix) +
         ";b=" + EncodeValue(m.deleted_by) + ";a=" + EncodeValue(m.attempt);
}

StatusOr<RecordMetadata> KmipObjectLayout::DecodeRecord(const std::string& data, const std::string& object) {
  ASSIGN_OR_RETURN(std::vector<std::string> v,
                   Fields(data, kRecordTag, {"f", "t", "l", "w", "s", "c", "b", "o", "a"}, object));
  RecordMetadata m;
  m.format = std::move(v[0]);
  m.type = std::move(v[1]);
  if (!ParseUnsigned(v[2], 1u << 20, &m.length)) {
    return DataLoss(object + " has damaged keyring_locker metadata: length \"" + Printable(v[2], 24) +
                    "\" is not a decimal number up to 1 MiB; it was not written by keyring_locker or was altered");
  }
  m.wrapper = std::move(v[3]);
  if (v[4] != "key" && v[4] != "wrapped") {
    return DataLoss(object + " has damaged keyring_locker metadata: held \"" + Printable(v[4], 24) +
                    "\" is neither \"key\" nor \"wrapped\"; it was not written by keyring_locker or was altered");
  }
  m.wrapped = v[4] == "wrapped";
  m.created = std::move(v[5]);
  m.creator = std::move(v[6]);
  m.origin = std::move(v[7]);
  m.attempt = std::move(v[8]);
  return m;
}

StatusOr<MarkerMetadata> KmipObjectLayout::DecodeMarker(const std::string& data, const std::string& object) {
  ASSIGN_OR_RETURN(std::vector<std::string> v, Fields(data, kMarkerTag, {"d", "u", "b", "a"}, object));
  MarkerMetadata m;
  m.deleted_at = std::move(v[0]);
  const bool negative = !v[1].empty() && v[1][0] == '-';
  uint64_t magnitude = 0;
  if (!ParseUnsigned(negative ? v[1].substr(1) : v[1], uint64_t{1} << 62, &magnitude) ||
      (negative && magnitude == 0)) {
    return DataLoss(object + " has damaged keyring_locker metadata: deletion time \"" + Printable(v[1], 24) +
                    "\" is not a number of seconds; it was not written by keyring_locker or was altered");
  }
  m.deleted_unix = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  m.deleted_by = std::move(v[2]);
  m.attempt = std::move(v[3]);
  return m;
}

}  // namespace keyring_locker::kmip
