// RFC 3339 UTC timestamps, the one way every file, document, log line and
// status variable writes a time ("2026-12-05T07:19:05Z"; with microseconds
// where order within a second matters: the audit log, the dev locker).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace keyring_locker {

inline std::string Rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline std::string Rfc3339(std::chrono::system_clock::time_point tp) {
  return Rfc3339(std::chrono::system_clock::to_time_t(tp));
}

inline std::string NowRfc3339() { return Rfc3339(std::time(nullptr)); }

// Microseconds since the epoch -> "....T..:..:...ffffffZ".
inline std::string Rfc3339Micros(int64_t micros) {
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  long frac = static_cast<long>(micros % 1000000);
  if (frac < 0) frac += 1000000, secs -= 1;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", frac);
  return buf;
}

inline std::string NowRfc3339Micros() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return Rfc3339Micros(us.count());
}

}  // namespace keyring_locker
