#include "keyring_backend/config/config_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <openssl/crypto.h>

namespace keyring_locker::config_internal {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Reads at most `cap` bytes; more is an error because neither a config nor a
// secret is ever that large, and a huge file is a sign of a wrong path.
Status ReadAll(int fd, size_t cap, const std::string& what, std::string* out) {
  char chunk[4096];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      OPENSSL_cleanse(chunk, sizeof chunk);
      return InvalidArgument("cannot read " + what + ": " + ErrnoText(err) +
                             "; check that the file is readable by the server user");
    }
    if (n == 0) break;
    if (out->size() + static_cast<size_t>(n) > cap) {
      OPENSSL_cleanse(chunk, sizeof chunk);
      return InvalidArgument(what + " is larger than " + std::to_string(cap) +
                             " bytes; check that the path names the right file");
    }
    out->append(chunk, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& field) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(field + ": \"" + path + "\" is not an absolute path; the server's "
                           "working directory is its data directory, so give the full path");
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    int err = errno;
    return InvalidArgument(field + ": cannot open " + path + ": " + ErrnoText(err) +
                           "; create the file or fix the path, and make it readable by the "
                           "server user");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return InvalidArgument(field + ": cannot stat " + path + ": " + ErrnoText(err) +
                           "; check the file system");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(field + ": " + path + " is not a regular file; point " + field +
                           " at a plain file holding only the secret");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return InvalidArgument(field + ": " + path + " is accessible by group or others (mode " +
                           Octal(st.st_mode) + "); run chmod 600 " + path);
  }
  std::string secret;
  Status read = ReadAll(fd.get(), 64 * 1024, field + ": " + path, &secret);
  if (!read.ok()) {
    OPENSSL_cleanse(secret.data(), secret.size());
    return read;
  }
  // Editors and `echo` add a newline that is not part of the secret.
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) {
    return InvalidArgument(field + ": " + path + " is empty; write the secret into it");
  }
  return secret;
}

StatusOr<std::string> ReadConfigText(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    int err = errno;
    return InvalidArgument("cannot open config file " + path + ": " + ErrnoText(err) +
                           "; check the path and that the server user can read it");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    int err = errno;
    return InvalidArgument("cannot stat config file " + path + ": " + ErrnoText(err) +
                           "; check the file system");
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("config file " + path + " is not a regular file; point the "
                           "server at the JSON config file itself");
  }
  // Whoever can write the config can point the server at their own locker.
  if ((st.st_mode & S_IWOTH) != 0) {
    return InvalidArgument("config file " + path + " is world-writable (mode " +
                           Octal(st.st_mode) + "): anyone could redirect the server to "
                           "their own locker; run chmod o-w " + path);
  }
  std::string text;
  RETURN_IF_ERROR(ReadAll(fd.get(), 1024 * 1024, "config file " + path, &text));
  return text;
}

}  // namespace keyring_locker::config_internal
