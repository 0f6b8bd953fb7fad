// The test-only CrashPoint (see crash_point.h). Linked into crashtest variants
// only: the shipped plugins contain neither this code nor its variable names.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "common/crash_point.h"

namespace keyring_locker {
namespace {

// One line per pass; O_APPEND keeps lines whole when threads or processes
// share the file.
void Trace(const char* name) {
  const char* path = std::getenv("KLK_CRASH_TRACE_FILE");
  if (path == nullptr || *path == '\0') return;
  const std::string line = std::string(name) + "\n";
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;  // a lost trace line shows up as a missing point in the test
  ::close(fd);
}

}  // namespace

void CrashPoint(const char* name) noexcept {
  try {
    // Serialises read-modify-write of the arming file between threads.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    Trace(name);
    const char* path = std::getenv("KLK_CRASH_POINT_FILE");
    if (path == nullptr || *path == '\0') return;
    std::string want;
    long nth = 1;
    {
      std::ifstream in(path);
      if (!(in >> want)) return;  // not armed
      if (!(in >> nth)) nth = 1;
    }
    if (want != name) return;
    if (nth > 1) {
      std::ofstream(path, std::ios::trunc) << want << " " << (nth - 1) << "\n";
      return;
    }
    // Disarm first: the restart after this kill must not die here again.
    if (::unlink(path) != 0) return;
    ::kill(::getpid(), SIGKILL);
    ::pause();  // not reached: a pending SIGKILL ends the process before user code resumes
  } catch (...) {
    // A test helper must not turn into an exception inside the server.
  }
}

}  // namespace keyring_locker
