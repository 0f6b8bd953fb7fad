// Helpers shared by the KeyService source files (key_service.cc and
// key_service_generations.cc); not part of any adapter-facing API.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

namespace keyring_locker::key_service_internal {

// keyring_locker/2: the wrapped plaintext names its key (envelope/key_binding.h).
// keyring_locker/1: written before that; read while keys.unbound_documents
// is "read" (the default), never written any more.
constexpr const char* kFormat = "keyring_locker/2";
constexpr const char* kUnboundFormat = "keyring_locker/1";
constexpr const char* kDeletedFormat = "keyring_locker/deleted/1";
constexpr const char* kDeletedSuffix = ".deleted";

inline std::string Rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
inline std::string NowRfc3339() { return Rfc3339(std::time(nullptr)); }

// A version folder entry: decimal 1..0xFFFFFFFE (~0u means "invalid" to MariaDB).
inline bool ParseVersion(const std::string& s, uint32_t* out) {
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

// "<version>.deleted": the soft-delete marker of a generation.
inline bool ParseDeletedMarker(const std::string& s, uint32_t* out) {
  const std::string suffix = kDeletedSuffix;
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return ParseVersion(s.substr(0, s.size() - suffix.size()), out);
}

// Field readers for documents that come from the locker: a field of the
// wrong type reads as `fallback` instead of throwing (nlohmann's value()
// throws type_error), so damaged documents become clear errors, not crashes.
inline std::string StringField(const nlohmann::json& d, const char* key, const std::string& fallback = "") {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : fallback;
}
inline uint64_t UintField(const nlohmann::json& d, const char* key, uint64_t fallback = 0) {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}
inline int64_t IntField(const nlohmann::json& d, const char* key, int64_t fallback = 0) {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace keyring_locker::key_service_internal
