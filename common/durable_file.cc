#include "common/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/crash_point.h"

namespace keyring_locker {
namespace {

// Closes on every path out, so an early return never leaks a descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool Close() {
    if (fd_ < 0) return true;
    const bool ok = ::close(fd_) == 0;
    fd_ = -1;
    return ok;
  }

 private:
  int fd_;
};

std::string DirOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

bool WriteAll(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

Status WriteFileDurably(const std::string& path, std::string_view text, mode_t mode, const char* crash_point) {
  const std::string tmp = path + ".tmp";
  auto failed = [&](const std::string& step, const std::string& file) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return FailedPrecondition("cannot " + step + " " + file + ": " + why);
  };
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (fd.get() < 0) return failed("create", tmp);
    // open(2) applies the umask and keeps the mode of a stale .tmp file:
    // fchmod makes the mode exactly what the caller asked for.
    if (::fchmod(fd.get(), mode) != 0) return failed("set the mode of", tmp);
    if (!WriteAll(fd.get(), text)) return failed("write", tmp);
    if (::fsync(fd.get()) != 0) return failed("fsync", tmp);
    if (!fd.Close()) return failed("close", tmp);
  }
  if (crash_point != nullptr) CrashPoint(crash_point);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failed("rename " + tmp + " to", path);
  // Without this the rename itself may not survive a power cut.
  const std::string dir = DirOf(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    const std::string why = std::strerror(errno);
    return FailedPrecondition("cannot fsync the directory " + dir + " after writing " + path + ": " + why);
  }
  return Status::Ok();
}

}  // namespace keyring_locker
