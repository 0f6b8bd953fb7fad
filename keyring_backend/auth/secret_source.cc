#include "keyring_backend/auth/secret_source.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keyring_locker::auth {
namespace {

// A token or secret ID is tens of bytes; anything this large is the wrong file.
constexpr size_t kMaxSecretBytes = 64 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void StripTrailingSpace(std::string* s) {
  size_t end = s->size();
  while (end > 0 && (std::strchr(" \t\r\n", (*s)[end - 1]) != nullptr)) --end;
  if (end < s->size()) OPENSSL_cleanse(s->data() + end, s->size() - end);
  s->resize(end);
}

}  // namespace

StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& option) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return InvalidArgument(option + " '" + path + "' cannot be opened (" + std::strerror(errno) +
                           "); fix the path or let the server's OS user read it");
  // fstat on the opened descriptor: the mode checked is the file's we read.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return Internal(option + " '" + path + "': fstat failed (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode))
    return InvalidArgument(option + " '" + path + "' is not a regular file; point it at the file "
                           "holding the secret");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDenied(option + " '" + path + "' is readable or writable by group/others (mode " +
                            mode + "); run: chmod 600 " + path);
  }
  if (static_cast<size_t>(st.st_size) > kMaxSecretBytes)
    return InvalidArgument(option + " '" + path + "' is " + std::to_string(st.st_size) +
                           " bytes, too large for a token or secret ID; check the path");
  std::string secret(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < secret.size()) {
    ssize_t n = ::read(fd.get(), secret.data() + got, secret.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Wipe(&secret);
      return InvalidArgument(option + " '" + path + "' could not be read (" +
                             std::strerror(errno) + ")");
    }
    if (n == 0) break;  // file shrank while reading: take what is there
    got += static_cast<size_t>(n);
  }
  secret.resize(got);
  StripTrailingSpace(&secret);
  if (secret.empty())
    return InvalidArgument(option + " '" + path + "' is empty; write the secret into it");
  return secret;
}

StatusOr<std::string> ReadSecretEnv(const std::string& name, const std::string& option) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || value[0] == '\0')
    return Unauthenticated(option + ": environment variable " + name +
                           " is not set or empty; export it in the server's environment");
  std::string secret(value);
  StripTrailingSpace(&secret);
  if (secret.empty())
    return Unauthenticated(option + ": environment variable " + name + " holds only whitespace");
  return secret;
}

}  // namespace keyring_locker::auth
