#include "keyring_backend/http/retry_policy.h"

#include <algorithm>
#include <cctype>
#include <random>

namespace keyring_locker::http {

Disposition Classify(long http_status) {
  switch (http_status) {
    case 412:
    case 429:
      return Disposition::kRetrySame;
    case 500:
    case 502:
    case 503:
      return Disposition::kFailover;
    case 307:
    case 308:
      return Disposition::kRedirect;
    default:
      return Disposition::kReturn;
  }
}

std::chrono::milliseconds Backoff(int retry, std::chrono::milliseconds initial,
                                  std::chrono::milliseconds max) {
  if (initial.count() <= 0 || max.count() <= 0) return std::chrono::milliseconds(0);
  // Cap the shift before it can overflow; 2^20 * any sane initial is past max.
  const int shift = std::clamp(retry, 0, 20);
  const long long ceiling = std::min<long long>(max.count(), initial.count() << shift);
  // Jitter only spreads retries of many server threads apart; it needs no
  // cryptographic quality, and a per-thread engine avoids a shared lock.
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<long long> dist(0, ceiling);
  return std::chrono::milliseconds(dist(engine));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value) {
  size_t b = 0, e = value.size();
  while (b < e && std::isspace(static_cast<unsigned char>(value[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(value[e - 1]))) --e;
  if (b == e || e - b > 9) return std::nullopt;  // > 9 digits: nonsense, ignore
  long long seconds = 0;
  for (size_t i = b; i < e; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(value[i]))) return std::nullopt;
    seconds = seconds * 10 + (value[i] - '0');
  }
  return std::chrono::milliseconds(seconds * 1000);
}

}  // namespace keyring_locker::http
