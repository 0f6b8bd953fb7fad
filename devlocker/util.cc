#include "devlocker/util.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "common/rfc3339.h"
#include "crypto/crypto.h"

namespace devlocker {

namespace {
json Envelope() {
  return json{{"request_id", NewUuid()}, {"lease_id", ""},      {"renewable", false},
              {"lease_duration", 0},     {"data", nullptr},     {"wrap_info", nullptr},
              {"warnings", nullptr},     {"auth", nullptr}};
}
}  // namespace

Reply Ok(json data) {
  Reply r;
  r.body = Envelope();
  r.body["data"] = std::move(data);
  return r;
}

Reply OkAuth(json auth) {
  Reply r;
  r.body = Envelope();
  r.body["auth"] = std::move(auth);
  return r;
}

Reply NoContent() {
  Reply r;
  r.status = 204;
  return r;
}

Reply Error(int status, const std::string& message) {
  Reply r;
  r.status = status;
  r.body = json{{"errors", json::array({message})}};
  return r;
}

Reply NotFoundEmpty() {
  Reply r;
  r.status = 404;
  r.body = json{{"errors", json::array()}};
  return r;
}

Reply PermissionDenied() { return Error(403, "permission denied"); }
Reply PolicyDenied() { return Error(403, "1 error occurred:\n\t* permission denied\n\n"); }

Reply ListReply(std::vector<std::string> keys) {
  if (keys.empty()) return NotFoundEmpty();
  return Ok(json{{"keys", std::move(keys)}});
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rfc3339(int64_t unix_seconds) { return keyring_locker::Rfc3339(static_cast<std::time_t>(unix_seconds)); }

std::string NowRfc3339() { return keyring_locker::NowRfc3339Micros(); }

std::string NewUuid() {
  uint8_t b[16] = {};
  if (!keyring_locker::crypto::RandomBytes(b, sizeof b).ok()) {
    // RAND failing means the process cannot do anything secure; ids that
    // collide would silently merge state, so stop here.
    std::abort();
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string hex = keyring_locker::crypto::HexEncode(b, sizeof b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::optional<int64_t> ParseDuration(const json& value) {
  if (value.is_null()) return 0;
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number()) return static_cast<int64_t>(value.get<double>());
  if (!value.is_string()) return std::nullopt;
  const std::string s = value.get<std::string>();
  if (s.empty()) return 0;
  size_t pos = 0;
  int64_t total = 0;
  while (pos < s.size()) {
    size_t digits = pos;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == pos || digits - pos > 12) return std::nullopt;  // 12 digits: no overflow
    int64_t n = std::stoll(s.substr(pos, digits - pos));
    if (digits == s.size()) return total + n;  // bare number = seconds
    int64_t unit = 0;
    switch (s[digits]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return std::nullopt;
    }
    total += n * unit;
    pos = digits + 1;
  }
  return total;
}

int64_t IntField(const json& body, const char* name, int64_t fallback) {
  if (!body.is_object() || !body.contains(name) || body[name].is_null()) return fallback;
  const json& v = body[name];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    auto d = ParseDuration(v);
    return d ? *d : fallback;
  }
  return fallback;
}

bool BoolField(const json& body, const char* name, bool fallback) {
  if (!body.is_object() || !body.contains(name) || body[name].is_null()) return fallback;
  const json& v = body[name];
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) return v.get<std::string>() == "true";
  if (v.is_number()) return v.get<double>() != 0;
  return fallback;
}

std::string StringField(const json& body, const char* name, const std::string& fallback) {
  if (!body.is_object() || !body.contains(name) || !body[name].is_string()) return fallback;
  return body[name].get<std::string>();
}

std::vector<std::string> StringListField(const json& body, const char* name) {
  std::vector<std::string> out;
  if (!body.is_object() || !body.contains(name)) return out;
  const json& v = body[name];
  if (v.is_array()) {
    for (const auto& item : v)
      if (item.is_string()) out.push_back(item.get<std::string>());
  } else if (v.is_string()) {  // "a,b" form accepted by Vault
    std::string s = v.get<std::string>();
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::vector<std::string> ListChildren(const std::vector<std::string>& paths, const std::string& folder) {
  const std::string prefix = folder.empty() || folder.back() == '/' ? folder : folder + "/";
  std::set<std::string> keys;
  for (const auto& p : paths) {
    if (p.size() <= prefix.size() || p.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = p.substr(prefix.size());
    size_t slash = rest.find('/');
    keys.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
  }
  return {keys.begin(), keys.end()};
}

std::string GoBase64Error(const std::string& text) {
  auto is_alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  };
  size_t pos = 0;
  size_t quantum_start = 0;  // Go skips CR and LF; counted positions include them
  int in_quantum = 0;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') break;  // padding: Go checks what follows it; report where it stands
    if (!is_alphabet(c)) return "illegal base64 data at input byte " + std::to_string(pos);
    if (in_quantum == 0) quantum_start = pos;
    in_quantum = (in_quantum + 1) % 4;
  }
  const size_t at = pos < text.size() ? pos : (in_quantum == 0 ? text.size() : quantum_start);
  return "illegal base64 data at input byte " + std::to_string(at);
}

}  // namespace devlocker
