// The shipped CrashPoint: nothing. Kept out of line so the test variants can
// swap in crash_point_armed.cc at link time without recompiling callers.
#include "common/crash_point.h"

namespace keyring_locker {

void CrashPoint(const char*) noexcept {}

}  // namespace keyring_locker
