#include "keyring_backend/audit/audit_line.h"

#include "common/rfc3339.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace keyring_locker::audit_internal {
namespace {

using nlohmann::json;

// Invalid UTF-8 in a key id or detail must not make dump() throw, and the
// replacement must be the same when the verifier re-serialises the line.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Canonical(const LineFields& f) {
  // nlohmann::json keeps keys sorted, which makes this dump canonical.
  return json{{"seq", f.seq},         {"ts", f.ts},         {"actor", f.actor},
              {"op", f.op},           {"key_id", f.key_id}, {"version", f.version},
              {"locker", f.locker},   {"result", f.result}, {"latency_us", f.latency_us},
              {"detail", f.detail},   {"prev", f.prev}};
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const char* const kFields[] = {"seq",    "ts",     "actor",      "op",     "key_id", "version",
                               "locker", "result", "latency_us", "detail", "prev",   "hash"};

}  // namespace

const std::string kZeroHash(64, '0');

std::string FormatTimestamp(std::chrono::system_clock::time_point when) {
  return Rfc3339Micros(std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count());
}

std::string ChainHash(const std::string& prev_hex, const std::string& canonical) {
  return crypto::HexEncode(crypto::Sha256(prev_hex + canonical));
}

std::string BuildLine(const LineFields& f, std::string* hash) {
  *hash = ChainHash(f.prev, Dump(Canonical(f)));
  // The written order follows the documentation, for people reading the file.
  nlohmann::ordered_json line{{"seq", f.seq},          {"ts", f.ts},
                              {"actor", f.actor},      {"op", f.op},
                              {"key_id", f.key_id},    {"version", f.version},
                              {"locker", f.locker},    {"result", f.result},
                              {"latency_us", f.latency_us}, {"detail", f.detail},
                              {"prev", f.prev},        {"hash", *hash}};
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string CheckLine(const std::string& text, LineFields* f, std::string* hash) {
  try {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return "not valid JSON (line edited or cut short)";
    if (!j.is_object()) return "not a JSON object (line edited)";
    for (const char* key : kFields) {
      if (!j.contains(key)) return std::string("field \"") + key + "\" is missing (line edited)";
    }
    if (j.size() != std::size(kFields)) return "has fields that the writer never writes (line edited)";
    auto str = [&](const char* key, std::string* out) {
      if (!j[key].is_string()) return false;
      *out = j[key].get<std::string>();
      return true;
    };
    bool types_ok = j["seq"].is_number_unsigned() && j["version"].is_number_integer() &&
                    j["latency_us"].is_number_integer() && str("ts", &f->ts) &&
                    str("actor", &f->actor) && str("op", &f->op) && str("key_id", &f->key_id) &&
                    str("locker", &f->locker) && str("result", &f->result) &&
                    str("detail", &f->detail) && str("prev", &f->prev) && str("hash", hash);
    if (!types_ok) return "a field has the wrong type (line edited)";
    f->seq = j["seq"].get<uint64_t>();
    f->version = j["version"].get<int64_t>();
    f->latency_us = j["latency_us"].get<int64_t>();
    if (!IsHex64(f->prev) || !IsHex64(*hash)) return "prev or hash is not 64 hex digits (line edited)";
    std::string expected_hash;
    std::string rebuilt = BuildLine(*f, &expected_hash);
    if (expected_hash != *hash) return "hash does not match the line's content (line edited)";
    // Same hash but different bytes: whitespace, key order or a duplicate
    // key was changed, which could show readers something the hash does not cover.
    if (rebuilt != text) return "line is not in the form the writer produces (line edited)";
    return "";
  } catch (const std::exception&) {
    return "could not be checked (out of memory)";
  }
}

}  // namespace keyring_locker::audit_internal
