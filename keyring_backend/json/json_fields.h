// Field readers for JSON that comes from a locker or a file: a field of the
// wrong type reads as `fallback` instead of throwing (nlohmann's value()
// throws type_error), so damaged documents become clear errors, not crashes.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace keyring_locker::json_fields {

inline std::string String(const nlohmann::json& d, const char* key, const std::string& fallback = "") {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : fallback;
}
inline uint64_t Uint(const nlohmann::json& d, const char* key, uint64_t fallback = 0) {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}
inline int64_t Int(const nlohmann::json& d, const char* key, int64_t fallback = 0) {
  if (!d.is_object()) return fallback;
  auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace keyring_locker::json_fields
