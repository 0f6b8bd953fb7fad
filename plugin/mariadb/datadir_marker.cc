#include "plugin/mariadb/datadir_marker.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "common/durable_file.h"
#include "common/safe_file.h"
#include "keyring_backend/config/config.h"  // CheckNoNulByte

namespace keyring_locker::mariadb {
namespace {

constexpr const char* kFormat = "keyring_locker-datadir/1";

std::string NowUtc() { return NowRfc3339(); }

}  // namespace

ScopeIdentity ScopeIdentity::From(const KeyHomeIdentity& home) {
  ScopeIdentity id;
  id.fields = home.fields;
  id.urls = home.endpoints;
  return id;
}

bool ScopeIdentity::SameKeys(const ScopeIdentity& other) const {
  auto a = fields, b = other.fields;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

std::string ScopeIdentity::Describe() const {
  std::string out;
  for (const auto& [name, value] : fields) out += (out.empty() ? "" : " ") + name + "=\"" + value + "\"";
  return out;
}

StatusOr<ScopeIdentity> ReadMarker(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return NotFound("no datadir marker at " + path);
  // The shared reader opens without blocking: a FIFO in the datadir must
  // not hang the server start (issue #15).
  ReadFileOptions options;
  options.open.what = "datadir marker";
  options.open.open_fix = "make it readable by the server's user";
  options.open.not_regular_fix = "restore the marker file from a backup of this datadir";
  options.max_bytes = 64 * 1024;  // a few hundred bytes when we write it
  StatusOr<std::string> text = ReadRegularFile(path, options);
  if (!text.ok()) {
    return FailedPrecondition(text.status().message());
  }
  if (Status nul = CheckNoNulByte(*text, "the datadir marker " + path); !nul.ok()) {
    return DataLoss(nul.message() + "; or restore the marker from a backup of this datadir");
  }
  try {
    // ordered_json: the fields come back in the order they were written.
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(*text);
    if (doc.value("format", "") != kFormat) throw std::runtime_error("unknown format");
    ScopeIdentity id;
    for (const auto& [name, value] : doc.items()) {
      if (name == "format" || name == "written" || name == "note") continue;
      if (name == "urls") {
        id.urls = value.get<std::string>();
        continue;
      }
      if (name == "create_keys_default") {
        id.create_keys_default = value.get<std::string>();
        continue;
      }
      id.fields.emplace_back(name, value.get<std::string>());
    }
    if (id.fields.empty()) throw std::runtime_error("names no key scope");
    return id;
  } catch (const std::exception& e) {
    return DataLoss("the datadir marker " + path + " is damaged (" + e.what() +
                    "); restore it from a backup of this datadir, or rewrite it with the scope this datadir's "
                    "keys live in (docs/mariadb.md shows its fields)");
  }
}

Status WriteMarker(const std::string& path, const ScopeIdentity& id) {
  nlohmann::ordered_json doc = {{"format", kFormat}};
  for (const auto& [name, value] : id.fields) doc[name] = value;
  doc["urls"] = id.urls;
  if (!id.create_keys_default.empty()) doc["create_keys_default"] = id.create_keys_default;
  doc["written"] = NowUtc();
  doc["note"] = "keys of this datadir live in this locker scope; see docs/mariadb.md";
  // Durable: a power cut must leave either no marker or a whole one, never
  // an empty file that would make the next start refuse as "damaged".
  Status written = WriteFileDurably(path, doc.dump(2) + "\n", 0644, "marker.before_rename");
  if (!written.ok()) {
    return FailedPrecondition(written.message() +
                              "; the server's user needs write access to its data directory (and space on it)");
  }
  return Status::Ok();
}

Status CheckMarker(const std::string& path, const ScopeIdentity& configured, bool scope_has_keys,
                   bool* write_marker, std::string* recorded_create_keys) {
  *write_marker = false;
  auto marker = ReadMarker(path);
  if (!marker.ok()) {
    if (marker.status().code() != Code::kNotFound) return marker.status();
    *write_marker = true;  // first start of this datadir with the plugin
    return Status::Ok();
  }
  if (!marker->SameKeys(configured)) {
    return FailedPrecondition(path + " says this datadir's keys live in " + marker->Describe() +
                              " (locker " + marker->urls + ") but the plugin is configured for " +
                              configured.Describe() +
                              "; no data may be written under keys that do not belong to it. Fix the keyring_locker "
                              "settings to name the recorded scope (only if the keys were copied to the new scope, "
                              "delete " + path + ")");
  }
  if (!scope_has_keys) {
    return FailedPrecondition(path + " says this datadir was encrypted with keys from " + marker->Describe() +
                              " but the locker has no keys in that scope; refusing to start (fresh keys would "
                              "make the existing data unreadable). Point keyring_locker at the locker that holds "
                              "the keys, restore the scope from the locker's backup, or check the token's read "
                              "policy on the kv mount");
  }
  if (recorded_create_keys != nullptr) *recorded_create_keys = marker->create_keys_default;
  return Status::Ok();
}

}  // namespace keyring_locker::mariadb
