#include "keyring_backend/store/document_layout.h"

#include "common/percent_escape.h"
#include "keyring_backend/json/json_fields.h"

namespace keyring_locker {

using nlohmann::json;

namespace {
constexpr const char* kMarkerSuffix = ".deleted";
constexpr const char* kMarkerFormat = "keyring_locker/deleted/1";
}  // namespace

std::string DocumentLayout::DocumentPath(const std::string& name, uint32_t version) const {
  return NameFolder(name) + "/" + std::to_string(version);
}

std::string DocumentLayout::MarkerPath(const std::string& name, uint32_t version) const {
  return DocumentPath(name, version) + kMarkerSuffix;
}

namespace {
// Path-safe bytes. A name of dots only is escaped whole: "." and ".." are
// not names a path or a folder may hold.
bool PathPlain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}
bool PathPlainNoDot(unsigned char c) { return c != '.' && PathPlain(c); }
}  // namespace

std::string DocumentLayout::EncodeName(const std::string& name) {
  const bool all_dots = !name.empty() && name.find_first_not_of('.') == std::string::npos;
  return PercentEscape(name, all_dots ? PathPlainNoDot : PathPlain);
}

StatusOr<std::string> DocumentLayout::DecodeName(const std::string& segment) {
  StatusOr<std::string> name = PercentUnescape(segment);
  if (!name.ok()) return InvalidArgument(name.status().message() + " in key name segment " + segment);
  return name;
}

bool DocumentLayout::ParseVersion(const std::string& s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v == 0 || v > 0xFFFFFFFEull) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool DocumentLayout::ParseMarker(const std::string& s, uint32_t* out) {
  const std::string suffix = kMarkerSuffix;
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return ParseVersion(s.substr(0, s.size() - suffix.size()), out);
}

json DocumentLayout::ToDocument(const KeyRecord& r) {
  json doc = {{"format", r.format}, {"name", r.name},       {"version", r.version},
              {"type", r.type},     {"length", r.length},   {"wrapped", r.wrapped},
              {"created", r.created}, {"creator", r.creator}, {"origin", r.origin}};
  if (!r.wrapper.empty()) doc["wrapper"] = r.wrapper;
  return doc;
}

StatusOr<KeyRecord> DocumentLayout::FromDocument(const json& d, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return DataLoss("key document " + path + " is invalid: " + why +
                    "; it was not written by keyring_locker or was altered");
  };
  if (!d.is_object() || !d.contains("format") || !d["format"].is_string()) return bad("it has no format");
  if (!d.contains("name") || !d["name"].is_string()) return bad("name differs");
  if (!d.contains("version") || !d["version"].is_number_unsigned() || d["version"].get<uint64_t>() > 0xFFFFFFFFull)
    return bad("version differs");
  if (!d.contains("wrapped") || !d["wrapped"].is_string()) return bad("no wrapped key");
  if (!d.contains("length") || !d["length"].is_number_unsigned()) return bad("no length");
  if (d.contains("type") && !d["type"].is_string()) return bad("type is not a string");
  if (d.contains("wrapper") && !d["wrapper"].is_string()) return bad("wrapper is not a string");
  KeyRecord r;
  r.format = d["format"].get<std::string>();
  r.name = d["name"].get<std::string>();
  r.version = static_cast<uint32_t>(d["version"].get<uint64_t>());
  r.wrapped = d["wrapped"].get<std::string>();
  r.length = d["length"].get<uint64_t>();
  r.type = json_fields::String(d, "type", "AES");
  r.wrapper = json_fields::String(d, "wrapper");
  r.created = json_fields::String(d, "created");
  r.creator = json_fields::String(d, "creator");
  r.origin = json_fields::String(d, "origin");
  return r;
}

json DocumentLayout::ToMarker(const DeletionMarker& m) {
  return {{"format", kMarkerFormat},       {"name", m.name},
          {"version", m.version},          {"deleted_at", m.deleted_at},
          {"deleted_unix", m.deleted_unix}, {"deleted_by", m.deleted_by}};
}

DeletionMarker DocumentLayout::FromMarker(const json& d) {
  DeletionMarker m;
  m.name = json_fields::String(d, "name");
  m.version = static_cast<uint32_t>(json_fields::Uint(d, "version"));
  m.deleted_at = json_fields::String(d, "deleted_at");
  m.deleted_unix = json_fields::Int(d, "deleted_unix");
  m.deleted_by = json_fields::String(d, "deleted_by");
  return m;
}

}  // namespace keyring_locker
