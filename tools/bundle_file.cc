#include "tools/bundle_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "common/durable_file.h"
#include "common/printable.h"
#include "common/safe_file.h"
#include "crypto/crypto.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

std::string Checksum(const json& manifest, const json& records) {
  const json covered = {{"manifest", manifest}, {"records", records}};
  return "sha256:" + crypto::HexEncode(crypto::Sha256(covered.dump()));
}

json RecordJson(const KeyRecord& r) {
  return {{"format", r.format},   {"type", r.type},       {"length", r.length},
          {"wrapper", r.wrapper}, {"wrapped", r.wrapped}, {"created", r.created},
          {"creator", r.creator}, {"origin", r.origin}};
}

json MarkerJson(const DeletionMarker& m) {
  return {{"deleted_at", m.deleted_at}, {"deleted_unix", m.deleted_unix}, {"deleted_by", m.deleted_by}};
}

// Reads the fields of one object of the bundle, naming the first one that
// is missing or of the wrong type ("record 3 (key 7 v2): field wrapped ...").
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {
    if (!obj_.is_object()) Bad("is not a JSON object");
  }
  std::string Str(const char* key, size_t max = 64 * 1024) {
    auto it = obj_.find(key);
    if (it == obj_.end() || !it->is_string()) {
      Bad(std::string("has no text field \"") + key + "\"");
      return "";
    }
    std::string s = it->get<std::string>();
    if (s.size() > max) Bad(std::string("field \"") + key + "\" is longer than " + std::to_string(max) + " bytes");
    return s;
  }
  uint64_t Uint(const char* key, uint64_t max) {
    auto it = obj_.find(key);
    if (it == obj_.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max) {
      Bad(std::string("field \"") + key + "\" is not a number from 0 to " + std::to_string(max));
      return 0;
    }
    return it->get<uint64_t>();
  }
  int64_t Int(const char* key) {
    auto it = obj_.find(key);
    if (it == obj_.end() || !it->is_number_integer()) {
      Bad(std::string("field \"") + key + "\" is not a whole number");
      return 0;
    }
    return it->get<int64_t>();
  }
  // The object or null at `key`; nullptr when null.
  const json* Optional(const char* key) {
    auto it = obj_.find(key);
    if (it == obj_.end()) {
      Bad(std::string("has no field \"") + key + "\" (an object or null)");
      return nullptr;
    }
    if (it->is_null()) return nullptr;
    if (!it->is_object()) Bad(std::string("field \"") + key + "\" is neither an object nor null");
    return it->is_object() ? &*it : nullptr;
  }
  void Bad(const std::string& why) {
    if (error_.empty()) error_ = where_ + " " + why;
  }
  const std::string& error() const { return error_; }

 private:
  const json& obj_;
  std::string where_;
  std::string error_;
};

Status CheckName(const std::string& name, const std::string& where) {
  if (name.empty() || name.size() > 256 || name.find('\n') != std::string::npos) {
    return InvalidArgument(where + " names key '" + Printable(name, 80) +
                           "': a key name is 1..256 characters without newlines");
  }
  return Status::Ok();
}

}  // namespace

std::string BundleEntry::State() const {
  if (!has_record) return "purged";
  return deleted ? "deleted" : "live";
}

StatusOr<std::string> EncodeBundle(const Bundle& b) {
  json identity = json::object();
  for (const auto& f : b.store_identity) identity[f.first] = f.second;
  json manifest_records = json::array(), records = json::array();
  for (const auto& e : b.entries) {
    manifest_records.push_back({{"name", e.name},
                                {"version", e.version},
                                {"generation", e.version},
                                {"state", e.State()},
                                {"created", e.has_record ? e.record.created : ""},
                                {"fingerprint", e.fingerprint}});
    records.push_back({{"name", e.name},
                       {"version", e.version},
                       {"record", e.has_record ? RecordJson(e.record) : json(nullptr)},
                       {"marker", e.deleted ? MarkerJson(e.marker) : json(nullptr)}});
  }
  const json manifest = {{"scope", b.scope},
                         {"store", b.store},
                         {"store_identity", identity},
                         {"wrapper", b.wrapper},
                         {"wrapper_describe", b.wrapper_describe},
                         {"exported_at", b.exported_at},
                         {"exported_by", b.exported_by},
                         {"records", manifest_records}};
  try {
    const json doc = {
        {"format", kBundleFormat}, {"manifest", manifest}, {"records", records}, {"checksum", Checksum(manifest, records)}};
    return doc.dump(1) + "\n";
  } catch (const json::exception&) {
    // nlohmann refuses strings that are not UTF-8 (a foreign key name).
    return InvalidArgument("a key name or record field is not UTF-8 text; the bundle (JSON) cannot hold it unchanged");
  }
}

StatusOr<Bundle> DecodeBundle(const std::string& text, const std::string& shown) {
  StrictJson parsed = ParseStrictJson(text);
  if (parsed.value.is_discarded()) {
    return DataLoss(shown + " is not complete JSON: it is truncated, damaged, or not a keyring-locker bundle; "
                            "use another copy of the bundle");
  }
  if (!parsed.duplicate.empty()) {
    return DataLoss(shown + " holds the field \"" + Printable(parsed.duplicate, 80) +
                    "\" twice: it was altered; use another copy of the bundle");
  }
  const json& doc = parsed.value;
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != kBundleFormat) {
    return InvalidArgument(shown + " is not a keyring-locker bundle (no \"format\": \"" + kBundleFormat +
                           "\"); give the file 'keyring-locker export' wrote");
  }
  if (!doc.contains("manifest") || !doc.contains("records") || !doc.contains("checksum") ||
      !doc["checksum"].is_string()) {
    return DataLoss(shown + " lacks its manifest, records or checksum: it was altered; use another copy");
  }
  const json& manifest = doc["manifest"];
  const json& records = doc["records"];
  if (doc["checksum"].get<std::string>() != Checksum(manifest, records)) {
    return DataLoss(shown + ": the checksum does not match the content (a changed byte, or a damaged copy); "
                            "nothing was written; use another copy of the bundle");
  }
  // The checksum only says the file is as some writer made it; every field
  // is still checked, so a hand-made bundle fails clearly, not in the store.
  Bundle b;
  Fields m(manifest, shown + ": the manifest");
  b.scope = m.Str("scope", 1024);
  b.store = m.Str("store", 4096);
  b.wrapper = m.Str("wrapper", 1024);
  b.wrapper_describe = m.Str("wrapper_describe", 4096);
  b.exported_at = m.Str("exported_at", 64);
  b.exported_by = m.Str("exported_by", 1024);
  if (!m.error().empty()) return DataLoss(m.error());
  if (manifest.contains("store_identity") && manifest["store_identity"].is_object()) {
    for (const auto& f : manifest["store_identity"].items()) {
      if (f.value().is_string()) b.store_identity.emplace_back(f.key(), f.value().get<std::string>());
    }
  }
  if (!manifest.contains("records") || !manifest["records"].is_array() || !records.is_array() ||
      manifest["records"].size() != records.size()) {
    return DataLoss(shown + ": the manifest and the records do not list the same number of key versions");
  }
  std::set<std::pair<std::string, uint32_t>> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string where = shown + ": record " + std::to_string(i + 1);
    Fields r(records[i], where);
    BundleEntry e;
    e.name = r.Str("name", 256);
    e.version = static_cast<uint32_t>(r.Uint("version", 0xFFFFFFFEu));
    const json* record = r.Optional("record");
    const json* marker = r.Optional("marker");
    if (!r.error().empty()) return DataLoss(r.error());
    RETURN_IF_ERROR(CheckName(e.name, where));
    const std::string key = where + " (key " + Printable(e.name, 80) + " v" + std::to_string(e.version) + ")";
    if (e.version == 0) return DataLoss(key + " has version 0; versions start at 1");
    if (!seen.insert({e.name, e.version}).second) return DataLoss(key + " is in the bundle twice");
    if (record == nullptr && marker == nullptr) return DataLoss(key + " has neither a record nor a marker");
    if (record != nullptr) {
      Fields f(*record, key + ": its record");
      e.has_record = true;
      e.record.name = e.name;
      e.record.version = e.version;
      e.record.format = f.Str("format", 64);
      e.record.type = f.Str("type", 16);
      e.record.length = f.Uint("length", 64 * 1024);
      e.record.wrapper = f.Str("wrapper", 1024);
      e.record.wrapped = f.Str("wrapped");
      e.record.created = f.Str("created", 64);
      e.record.creator = f.Str("creator", 1024);
      e.record.origin = f.Str("origin", 64);
      if (!f.error().empty()) return DataLoss(f.error());
      if (e.record.wrapped.empty()) return DataLoss(key + ": its record holds no wrapped key");
    }
    if (marker != nullptr) {
      Fields f(*marker, key + ": its deletion marker");
      e.deleted = true;
      e.marker.name = e.name;
      e.marker.version = e.version;
      e.marker.deleted_at = f.Str("deleted_at", 64);
      e.marker.deleted_unix = f.Int("deleted_unix");
      e.marker.deleted_by = f.Str("deleted_by", 1024);
      if (!f.error().empty()) return DataLoss(f.error());
    }
    Fields mr(manifest["records"][i], shown + ": manifest entry " + std::to_string(i + 1));
    const std::string m_name = mr.Str("name", 256);
    const uint64_t m_version = mr.Uint("version", 0xFFFFFFFEu);
    const std::string m_state = mr.Str("state", 16);
    e.fingerprint = mr.Str("fingerprint", 64);
    if (!mr.error().empty()) return DataLoss(mr.error());
    if (m_name != e.name || m_version != e.version || m_state != e.State()) {
      return DataLoss(key + " does not match manifest entry " + std::to_string(i + 1) + " (" +
                      Printable(m_name, 80) + " v" + std::to_string(m_version) + ", " + Printable(m_state, 16) + ")");
    }
    if (e.has_record && e.fingerprint.size() != 16) {
      return DataLoss(key + ": its manifest entry has no fingerprint (16 hex digits)");
    }
    b.entries.push_back(std::move(e));
  }
  return b;
}

Status CheckNewFile(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    return AlreadyExists(path + " exists; export never replaces a file: name a new bundle, or move the old one away");
  }
  return Status::Ok();
}

Status WriteNewFile(const std::string& path, const std::string& text) {
  RETURN_IF_ERROR(CheckNewFile(path));
  const std::string tmp = path + ".partial." + std::to_string(::getpid());
  auto failed = [&](const std::string& step, const std::string& file) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return FailedPrecondition("cannot " + step + " " + file + ": " + why);
  };
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      const std::string why = std::strerror(errno);
      return FailedPrecondition("cannot create " + tmp + ": " + why + " (is the folder writable?)");
    }
    if (::fchmod(fd.get(), 0600) != 0) return failed("set the mode of", tmp);
    if (!WriteAll(fd.get(), text)) return failed("write", tmp);
    if (::fsync(fd.get()) != 0) return failed("fsync", tmp);
    const int raw = fd.release();
    if (::close(raw) != 0) return failed("close", tmp);
  }
  // link(2), unlike rename(2), never replaces: an existing bundle stays.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const bool exists = errno == EEXIST;
    Status s = failed("link " + tmp + " to", path);
    return exists ? AlreadyExists(path + " appeared while exporting; export never replaces a file") : s;
  }
  ::unlink(tmp.c_str());
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    return FailedPrecondition("wrote " + path + " but cannot fsync its folder " + dir + ": " + std::strerror(errno) +
                              "; run 'sync' before relying on it");
  }
  return Status::Ok();
}

StatusOr<std::string> ReadBundleText(const std::string& path) {
  ReadFileOptions o;
  o.open.what = "bundle";
  o.open.open_fix = "give the path of a file 'keyring-locker export' wrote";
  o.max_bytes = kMaxBundleBytes;
  return ReadRegularFile(path, o);
}

}  // namespace keyring_locker
