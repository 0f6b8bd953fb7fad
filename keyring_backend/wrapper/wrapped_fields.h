#pragma once
// The text form shared by the wrappers whose wrapped keys read
// "<prefix><field>:<field>:<field>" (kmip:v1:gcm:..., azure-kv:v1:...):
// the checks every Parse starts with, in one place.

#include <array>
#include <optional>
#include <string>

#include "common/printable.h"

namespace keyring_locker {

// Checks `wrapped`'s length (at most max_chars) and prefix and splits the
// rest into exactly three ':'-separated fields. Returns why it is not of
// that form (for the caller's "not a ... key (why); expected ..." error),
// or nothing with *fields set.
inline std::optional<std::string> SplitWrappedFields(const std::string& wrapped, const std::string& prefix,
                                                     size_t max_chars, std::array<std::string, 3>* fields) {
  if (wrapped.size() > max_chars) return std::to_string(wrapped.size()) + " characters";
  if (wrapped.compare(0, prefix.size(), prefix) != 0) {
    return "it starts with \"" + Printable(wrapped.substr(0, prefix.size()), 16) + "\"";
  }
  const std::string rest = wrapped.substr(prefix.size());
  const size_t a = rest.find(':');
  const size_t b = a == std::string::npos ? a : rest.find(':', a + 1);
  if (b == std::string::npos || rest.find(':', b + 1) != std::string::npos) return "it has not three fields";
  *fields = {rest.substr(0, a), rest.substr(a + 1, b - a - 1), rest.substr(b + 1)};
  return std::nullopt;
}

}  // namespace keyring_locker
