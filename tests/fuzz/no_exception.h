// The contract of the fuzz targets that drive a whole layer (VaultLocker,
// KeyService): no exception ever leaves the core. Inside the server one
// would cross the C ABI and terminate it.
#pragma once

#include <cstdio>
#include <exception>

namespace keyring_locker::fuzz {

// Runs `run`; any exception that escapes it is a finding: its text goes to
// stderr (what names the layer) and the program traps.
template <typename Run>
int RunWithoutExceptions(const char* what, Run&& run) {
  try {
    run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception escaped %s: %s\n", what, e.what());
    __builtin_trap();
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}

}  // namespace keyring_locker::fuzz
