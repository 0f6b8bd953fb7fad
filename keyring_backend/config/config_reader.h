// GroupReader: reads one JSON object of the config ("tls", "auth.approle")
// and turns every mistake into an error that names the full field path and
// the fix. Internal to keyring_backend/config.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace keyring_locker::config_internal {

// Levenshtein distance, for "did you mean ...?" suggestions.
size_t EditDistance(const std::string& a, const std::string& b);

// Short rendering of a JSON value for "got ..." in messages.
std::string Shown(const nlohmann::json& value);

class GroupReader {
 public:
  // `value` may be null (group absent: every field takes its default).
  // `path` is "" for the root, else the dotted path of this group.
  GroupReader(const std::string& source, std::string path, const nlohmann::json* value);

  // Must be called first: rejects a non-object group, inline secrets and
  // unknown keys (with the closest known key as a suggestion).
  Status Expect(std::initializer_list<const char*> known_keys);

  const std::string& source() const { return source_; }
  bool Has(const char* key) const;
  std::string PathOf(const char* key) const;
  // "<source>: <path.key>: <problem>; <fix>"
  Status Error(const char* key, const std::string& problem, const std::string& fix) const;

  // Each reader leaves *out untouched when the key is absent.
  Status String(const char* key, std::string* out) const;
  Status Bool(const char* key, bool* out) const;
  // Integers in [lo, hi]; `unit` ("milliseconds") goes into the message.
  Status Int(const char* key, int64_t lo, int64_t hi, const char* unit, int64_t* out) const;
  Status Number(const char* key, double lo, double hi, double* out) const;
  Status StringList(const char* key, std::vector<std::string>* out) const;
  // A nested group; absent -> a reader over nothing.
  GroupReader Group(const char* key) const;

  const nlohmann::json* Get(const char* key) const;

 private:
  const std::string& source_;
  std::string path_;
  const nlohmann::json* value_;
};

// Mount, prefix, scope and namespace names: segments of [A-Za-z0-9_.-]
// separated by '/', no "..", no leading/trailing '/', at most 128 chars.
// Returns the problem, or "" when the name is valid.
std::string NameProblem(const std::string& name, bool allow_slash);

}  // namespace keyring_locker::config_internal
