// Fuzz target: ParseConfig over arbitrary text (the config file is written by
// an operator, but a typo or a half-written file must still be an error, not
// a crash), then DescribeConfig over whatever parsed.
#include <cstdint>
#include <string>

#include "keyring_backend/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto config = keyring_locker::ParseConfig(text, "fuzz.json");
    if (!config.ok()) {
      // Errors start with the source name so the operator knows which file.
      if (config.status().message().find("fuzz.json") == std::string::npos) __builtin_trap();
      return 0;
    }
    // Whatever parses is usable: a scope and at least one endpoint.
    if (config->keys.scope.empty() || config->http.endpoints.empty()) __builtin_trap();
    (void)keyring_locker::DescribeConfig(*config);
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
