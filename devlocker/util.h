// Small helpers shared by every dev locker handler: the Vault response
// envelope, errors, time stamps and duration parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace devlocker {

using json = nlohmann::json;

// What a handler answers. `raw_body` (when set) is sent verbatim instead of
// `body`, for faults that must send something that is not valid JSON.
struct Reply {
  int status = 200;
  json body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> raw_body;
};

Reply Ok(json data);                 // 200 with data in the Vault envelope
Reply OkAuth(json auth);             // 200 with auth in the envelope
Reply NoContent();                   // 204
Reply Error(int status, const std::string& message);
Reply NotFoundEmpty();               // 404 {"errors":[]}, as Vault hides missing paths
Reply PermissionDenied();            // 403 {"errors":["permission denied"]}: no valid token
// 403 as Vault answers a valid token its policies refuse: the ACL check's
// go-multierror text, "1 error occurred:\n\t* permission denied\n\n".
Reply PolicyDenied();
Reply ListReply(std::vector<std::string> keys);  // 404 when empty, like Vault

int64_t NowUnix();
std::string Rfc3339(int64_t unix_seconds);  // "2024-01-02T03:04:05Z"
std::string NowRfc3339();                   // with microseconds
std::string NewUuid();                      // random v4 UUID (ids, accessors, tokens)

// Vault durations: 30, "30", "30s", "10m", "2h", "1d"; empty/null -> 0.
// nullopt when unparsable.
std::optional<int64_t> ParseDuration(const json& value);

// Field helpers that tolerate absent fields and the string/number mix
// clients send (hvac sends numbers as strings sometimes).
int64_t IntField(const json& body, const char* name, int64_t fallback);
bool BoolField(const json& body, const char* name, bool fallback);
std::string StringField(const json& body, const char* name, const std::string& fallback = "");
std::vector<std::string> StringListField(const json& body, const char* name);

// The error Vault passes on from Go's base64.StdEncoding for input it cannot
// decode: "illegal base64 data at input byte N", N where decoding stopped
// (an illegal character, or the start of an incomplete last quantum).
std::string GoBase64Error(const std::string& text);

// Keys directly below `prefix` among `paths` (folders end in '/').
std::vector<std::string> ListChildren(const std::vector<std::string>& paths, const std::string& prefix);

}  // namespace devlocker
