#include "keyring_backend/config/config_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace keyring_locker::config_internal {
namespace {

using nlohmann::json;

// Field names that would hold a secret inline. Config files end up in
// backups, tickets and `ps`-visible command lines, so secrets are only ever
// referenced by file or environment variable.
const char* InlineSecretFix(const std::string& key) {
  if (key == "token" || key == "client_token" || key == "vault_token")
    return "put the token in a file only the server user can read and set auth.token_file, "
           "or name an environment variable in auth.token_env";
  if (key == "secret_id")
    return "put the SecretID in a file only the server user can read and set "
           "auth.approle.secret_id_file, or name an environment variable in "
           "auth.approle.secret_id_env";
  if (key == "client_secret")
    return "put the Azure client secret in a file only the server user can read and set azure.secret_file";
  if (key == "password" || key == "client_key_password" || key == "passphrase")
    return "put the password in a file only the server user can read and set "
           "tls.client_key_password_file";
  return nullptr;
}

std::string Join(std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

GroupReader::GroupReader(const std::string& source, std::string path, const json* value)
    : source_(source), path_(std::move(path)), value_(value) {}

std::string GroupReader::PathOf(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

Status GroupReader::Error(const char* key, const std::string& problem,
                          const std::string& fix) const {
  std::string field = key ? PathOf(key) : (path_.empty() ? "(top level)" : path_);
  return InvalidArgument(source_ + ": " + field + ": " + problem + "; " + fix);
}

Status GroupReader::Expect(std::initializer_list<const char*> known_keys) {
  if (value_ == nullptr) return Status::Ok();
  if (!value_->is_object()) {
    return Error(nullptr, "must be a JSON object {...}, got " + Shown(*value_),
                 "write it as an object with the options documented in docs/configuration.md");
  }
  for (const auto& item : value_->items()) {
    const std::string& key = item.key();
    bool known = std::any_of(known_keys.begin(), known_keys.end(),
                             [&](const char* k) { return key == k; });
    if (known) continue;
    if (const char* fix = InlineSecretFix(key)) {
      return Error(key.c_str(), "secrets are never written inline in the config", fix);
    }
    const char* best = nullptr;
    size_t best_distance = std::numeric_limits<size_t>::max();
    for (const char* k : known_keys) {
      size_t d = EditDistance(key, k);
      if (d < best_distance) best_distance = d, best = k;
    }
    // Only suggest when the typo is plausibly the same word.
    size_t limit = std::max<size_t>(2, key.size() / 3);
    std::string where = path_.empty() ? "at the top level" : "in " + path_;
    if (best != nullptr && best_distance <= limit) {
      return Error(key.c_str(), "is not a known option",
                   "did you mean " + PathOf(best) + "?");
    }
    return Error(key.c_str(), "is not a known option",
                 "remove it; the options " + where + " are: " + Join(known_keys));
  }
  return Status::Ok();
}

const json* GroupReader::Get(const char* key) const {
  if (value_ == nullptr || !value_->is_object()) return nullptr;
  auto it = value_->find(key);
  return it == value_->end() ? nullptr : &*it;
}

bool GroupReader::Has(const char* key) const { return Get(key) != nullptr; }

Status GroupReader::String(const char* key, std::string* out) const {
  const json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) {
    return Error(key, "must be a string, got " + Shown(*v), "put the value in double quotes");
  }
  *out = v->get<std::string>();
  return Status::Ok();
}

Status GroupReader::Bool(const char* key, bool* out) const {
  const json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) {
    return Error(key, "must be true or false, got " + Shown(*v),
                 "write true or false without quotes");
  }
  *out = v->get<bool>();
  return Status::Ok();
}

Status GroupReader::Int(const char* key, int64_t lo, int64_t hi, const char* unit,
                        int64_t* out) const {
  const json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  std::string kind = std::string(lo >= 1 ? "a positive integer" : "a non-negative integer") +
                     " (" + unit + ")";
  std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!v->is_number_integer()) {
    return Error(key, "must be " + kind + ", got " + Shown(*v),
                 "write a plain number without quotes or units, in " + range);
  }
  // Unsigned values above INT64_MAX are out of range by definition.
  if (v->is_number_unsigned() &&
      v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Error(key, "is out of range, got " + Shown(*v), "use a value in " + range);
  }
  int64_t n = v->get<int64_t>();
  if (n < lo || n > hi) {
    return Error(key, std::string("must be in ") + range + " (" + unit + "), got " + Shown(*v),
                 "use a value in that range");
  }
  *out = n;
  return Status::Ok();
}

Status GroupReader::Number(const char* key, double lo, double hi, double* out) const {
  const json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_number()) {
    return Error(key, "must be a number, got " + Shown(*v), "write a number such as 0.67");
  }
  double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    char range[64];
    std::snprintf(range, sizeof range, "%g..%g", lo, hi);
    return Error(key, std::string("must be in ") + range + ", got " + Shown(*v),
                 "use a value in that range");
  }
  *out = d;
  return Status::Ok();
}

Status GroupReader::StringList(const char* key, std::vector<std::string>* out) const {
  const json* v = Get(key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) {
    return Error(key, "must be a list of strings, got " + Shown(*v),
                 "write it as [\"...\", \"...\"]");
  }
  std::vector<std::string> items;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string()) {
      std::string field = std::string(key) + "[" + std::to_string(i) + "]";
      return Error(field.c_str(), "must be a string, got " + Shown(item),
                   "put the value in double quotes");
    }
    items.push_back(item.get<std::string>());
  }
  *out = std::move(items);
  return Status::Ok();
}

GroupReader GroupReader::Group(const char* key) const {
  return GroupReader(source_, PathOf(key), Get(key));
}

std::string NameProblem(const std::string& name, bool allow_slash) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 128) return "is longer than 128 characters";
  if (name.front() == '/' || name.back() == '/') return "must not start or end with '/'";
  if (name.find("..") != std::string::npos) return "must not contain \"..\"";
  if (name.find("//") != std::string::npos) return "must not contain an empty segment (\"//\")";
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || (allow_slash && c == '/');
    if (!ok) {
      return allow_slash ? "may only contain letters, digits, '_', '.', '-' and '/'"
                         : "may only contain letters, digits, '_', '.' and '-'";
    }
  }
  // "." alone as a segment would be collapsed by the locker's path handling.
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (name.compare(start, end - start, ".") == 0) return "must not have a \".\" segment";
    start = end + 1;
  }
  return "";
}

}  // namespace keyring_locker::config_internal
