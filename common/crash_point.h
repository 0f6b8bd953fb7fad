// Crash points: named steps of a multi-step change to durable state (a key
// document, the datadir marker, a page 0) where a kill -9 must leave
// something the next start recovers from. docs/crash-safety.md lists them.
//
// Shipped binaries link crash_point_off.cc, where CrashPoint does nothing.
// Test variants (keyring_locker_crashtest.so, the MySQL plugin's crashtest
// variant, the crash harness) link crash_point_armed.cc instead, from the
// same object files otherwise:
//   KLK_CRASH_POINT_FILE  names a file holding "<point> [N]": the Nth pass
//                         (default 1) through <point> removes the file, so
//                         the restart runs normally, and SIGKILLs the process.
//   KLK_CRASH_TRACE_FILE  when set, every point passed is appended to it, one
//                         per line: how tests learn the points a flow crosses.
#pragma once

namespace keyring_locker {

void CrashPoint(const char* name) noexcept;

}  // namespace keyring_locker
