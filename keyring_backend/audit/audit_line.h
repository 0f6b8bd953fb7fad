// One audit line: building it (writer) and checking it (verifier, and the
// writer when it reopens a log). Both sides go through BuildLine so the bytes
// hashed and the bytes written can never drift apart. Internal to audit/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace keyring_locker::audit_internal {

// "prev" of the first line of a chain segment.
extern const std::string kZeroHash;

struct LineFields {
  uint64_t seq = 0;
  std::string ts, actor, op, key_id;
  int64_t version = -1;
  std::string locker, result;
  int64_t latency_us = 0;
  std::string detail, prev;
};

// "2026-11-23T19:00:00.123456Z" (UTC, microseconds).
std::string FormatTimestamp(std::chrono::system_clock::time_point when);

// hex(sha256(prev_hex || canonical)), the chain step.
std::string ChainHash(const std::string& prev_hex, const std::string& canonical);

// The line (without '\n', fields in documented order, "hash" last) and its
// hash. Strings that are not valid UTF-8 are written with U+FFFD in place of
// the bad bytes. Throws only std::bad_alloc.
std::string BuildLine(const LineFields& fields, std::string* hash);

// Parses and re-builds `text`; returns "" when it is a canonical, correctly
// hashed line (and fills *fields / *hash), else what is wrong with it.
// Never throws.
std::string CheckLine(const std::string& text, LineFields* fields, std::string* hash);

}  // namespace keyring_locker::audit_internal
