#include "common/safe_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <system_error>
#include <utility>

#include <openssl/crypto.h>

#include "crypto/secure_buffer.h"

namespace keyring_locker {
namespace {

// A token or secret ID is tens of bytes; anything this large is the wrong file.
constexpr size_t kMaxSecretBytes = 64 * 1024;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string Named(const std::string& what, const std::string& path) {
  return what + " '" + path + "'";
}

// Directories from dirname(path) up to "/", lexically.
void AddParents(const std::string& path, std::vector<std::string>* out) {
  std::string dir = path;
  for (;;) {
    size_t slash = dir.find_last_of('/');
    if (slash == std::string::npos) return;
    dir = slash == 0 ? "/" : dir.substr(0, slash);
    out->push_back(dir);
    if (dir == "/") return;
  }
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() { return std::exchange(fd_, -1); }

StatusOr<OpenedFile> OpenRegularFile(const std::string& path, const OpenFileOptions& options) {
  return OpenRegularFileAt(AT_FDCWD, path, path, options);
}

StatusOr<OpenedFile> OpenRegularFileAt(int dir_fd, const std::string& name, const std::string& path,
                                       const OpenFileOptions& options) {
  // No O_NOFOLLOW unless options.flags asks: secret files are often
  // symlinks (Kubernetes secret volumes, Vault Agent sinks); fstat below
  // checks the file we really got.
  OpenedFile f;
  // O_RDONLY is 0: options.flags alone selects O_RDWR/O_WRONLY.
  f.fd = UniqueFd(::openat(dir_fd, name.c_str(), options.flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
                           options.create_mode));
  if (f.fd.get() < 0) {
    const int err = errno;
    return InvalidArgument(Named(options.what, path) + " cannot be opened (" + ErrnoText(err) +
                           "); " + options.open_fix);
  }
  if (::fstat(f.fd.get(), &f.st) != 0) {
    const int err = errno;
    return Internal(Named(options.what, path) + ": fstat failed (" + ErrnoText(err) +
                    "); check the file system");
  }
  if (!S_ISREG(f.st.st_mode)) {
    return InvalidArgument(Named(options.what, path) + " is " + KindOf(f.st.st_mode) +
                           ", not a regular file; " +
                           (options.not_regular_fix.empty()
                                ? "point " + options.what + " at a plain file"
                                : options.not_regular_fix));
  }
  // Regular files never block, but clear the flag anyway: reads and writes
  // must not see EAGAIN on file systems that honour it (some FUSE mounts).
  const int fl = ::fcntl(f.fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(f.fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
    const int err = errno;
    return Internal(Named(options.what, path) + ": fcntl failed (" + ErrnoText(err) + ")");
  }
  return f;
}

StatusOr<UniqueFile> OpenRegularStream(const std::string& path, const OpenFileOptions& options) {
  ASSIGN_OR_RETURN(OpenedFile f, OpenRegularFile(path, options));
  UniqueFile stream(::fdopen(f.fd.get(), "rb"));
  if (!stream) return ResourceExhausted(Named(options.what, path) + ": out of memory for a stdio stream");
  f.fd.release();  // the stream owns it now
  return stream;
}

StatusOr<std::string> ReadRegularFile(const std::string& path, const ReadFileOptions& options) {
  return ReadRegularFileAt(AT_FDCWD, path, path, options);
}

StatusOr<std::string> ReadRegularFileAt(int dir_fd, const std::string& name, const std::string& path,
                                        const ReadFileOptions& options) {
  ASSIGN_OR_RETURN(OpenedFile f, OpenRegularFileAt(dir_fd, name, path, options.open));
  if ((f.st.st_mode & options.refused_mode) != 0) {
    return PermissionDenied(Named(options.open.what, path) + " " + options.mode_problem + " (mode " +
                            Octal(f.st.st_mode) + "); run: " + options.mode_fix);
  }
  const std::string too_large = Named(options.open.what, path) + " is larger than " +
                                std::to_string(options.max_bytes) +
                                " bytes; check that the path names the right file";
  if (static_cast<unsigned long long>(f.st.st_size) > options.max_bytes) {
    return InvalidArgument(too_large);
  }
  std::string text;
  text.reserve(static_cast<size_t>(f.st.st_size) + 1);
  char chunk[4096];
  Status status;
  for (;;) {
    ssize_t n = ::read(f.fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      status = InvalidArgument(Named(options.open.what, path) + " could not be read (" +
                               ErrnoText(err) + "); check that the server's OS user can read it");
      break;
    }
    if (n == 0) break;
    // The file may grow after fstat: the cap holds for what is read.
    if (text.size() + static_cast<size_t>(n) > options.max_bytes) {
      status = InvalidArgument(too_large);
      break;
    }
    if (options.wipe && text.capacity() < text.size() + static_cast<size_t>(n)) {
      // Grow by hand so the old buffer is wiped, not freed with the secret in it.
      std::string bigger;
      bigger.reserve(std::max(text.capacity() * 2, text.size() + static_cast<size_t>(n)));
      bigger.assign(text);
      crypto::WipeString(&text);
      text.swap(bigger);
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  if (!status.ok()) {
    if (options.wipe) crypto::WipeString(&text);
    return status;
  }
  return text;
}

Status CheckSingleLineSecret(const std::string& secret, const std::string& source) {
  for (size_t i = 0; i < secret.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(secret[i]);
    if (c < 0x20 || c == 0x7f) {
      const char* kind = c == '\r' ? "a carriage return (CR)"
                         : c == '\n' ? "a line feed (LF)"
                         : c == '\0' ? "a NUL byte"
                                     : "a control character";
      return InvalidArgument(source + " holds " + kind + " at byte " + std::to_string(i) +
                             " inside the secret; the file must hold the token or secret on a "
                             "single line, with nothing before or after it (rewrite it, e.g. "
                             "with printf '%s' ...)");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& option) {
  ReadFileOptions options;
  options.open.what = option;
  options.max_bytes = kMaxSecretBytes;
  options.refused_mode = S_IRWXG | S_IRWXO;
  options.mode_problem = "is readable or writable by group/others";
  options.mode_fix = "chmod 600 " + path;
  options.wipe = true;
  ASSIGN_OR_RETURN(std::string secret, ReadRegularFile(path, options));
  // Editors and `echo` add a newline that is not part of the secret.
  size_t end = secret.size();
  while (end > 0 && (secret[end - 1] == ' ' || secret[end - 1] == '\t' ||
                     secret[end - 1] == '\r' || secret[end - 1] == '\n')) {
    --end;
  }
  if (end < secret.size()) OPENSSL_cleanse(secret.data() + end, secret.size() - end);
  secret.resize(end);
  if (secret.empty()) {
    return InvalidArgument(Named(option, path) + " is empty; write the secret into it");
  }
  Status one_line = CheckSingleLineSecret(secret, Named(option, path));
  if (!one_line.ok()) {
    crypto::WipeString(&secret);
    return one_line;
  }
  return secret;
}

std::vector<std::string> InsecureDirectoryWarnings(const std::string& path, const std::string& what) {
  std::vector<std::string> dirs;
  AddParents(path, &dirs);
  // A symlink's target can sit elsewhere (Kubernetes: ..data/token).
  if (char* real = ::realpath(path.c_str(), nullptr)) {
    if (path != real) AddParents(real, &dirs);
    std::free(real);
  }
  std::vector<std::string> warnings;
  std::set<std::string> seen;
  for (const std::string& dir : dirs) {
    if (!seen.insert(dir).second) continue;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st.st_mode & S_ISVTX) != 0) continue;
    warnings.push_back(what + " " + path + " sits in directory " + dir +
                       ", which is group- or world-writable without the sticky bit (mode " +
                       Octal(st.st_mode) + "): anyone who can write there can replace the "
                       "file; run chmod o-w,g-w " + dir +
                       " or move the file to a directory only root and the server's user can "
                       "write");
  }
  return warnings;
}

}  // namespace keyring_locker
