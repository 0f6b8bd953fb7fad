// Pure retry decisions for HttpClient, kept apart from libcurl so they can be
// reasoned about (and tested) on their own.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace keyring_locker::http {

// What Send() does after one attempt got an HTTP answer.
enum class Disposition {
  kReturn,    // final: hand the response to the caller
  kRetrySame, // 412/429: the same endpoint asked us to come back later
  kFailover,  // 500/502/503: this node cannot serve; try the next endpoint
  kRedirect,  // 307/308: HA standby pointing at the active node
};
Disposition Classify(long http_status);

// Full-jitter exponential backoff: uniform in [0, min(max, initial * 2^n)].
// `retry` counts from 0 for the first retry.
std::chrono::milliseconds Backoff(int retry, std::chrono::milliseconds initial,
                                  std::chrono::milliseconds max);

// Retry-After as delta-seconds (what Vault sends). HTTP-dates are not used by
// lockers; they yield nullopt and the caller falls back to backoff.
std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value);

}  // namespace keyring_locker::http
