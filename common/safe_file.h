// Reading the small files the plugins and the CLI open by name (config,
// token, secret ID, password, datadir marker, audit log): one place for the
// rules, so a FIFO, a device or a huge file is refused the same way
// everywhere instead of hanging the server start or the CLI.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace keyring_locker {

// A file descriptor closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

struct OpenFileOptions {
  // How errors name the file: "auth.token_file" gives "auth.token_file '/p' ...".
  std::string what = "file";
  int flags = 0;            // added to O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (e.g. O_RDWR|O_APPEND|O_CREAT)
  mode_t create_mode = 0600;
  // What to do when open() fails.
  std::string open_fix = "create the file or fix the path, and let the server's OS user read it";
  // What to do when it is a FIFO, device or directory; empty: "point <what> at a plain file".
  std::string not_regular_fix;
};

struct OpenedFile {
  UniqueFd fd;      // blocking again (O_NONBLOCK cleared)
  struct stat st {};  // of the opened descriptor, not of the path
};

// Opens without blocking (a FIFO would otherwise block open() until a
// writer appears: the server start would hang past every budget and
// ignore SIGTERM), refuses anything but a regular file by fstat on the
// descriptor, then clears O_NONBLOCK for ordinary reads and writes.
// Symlinks are followed on purpose (Kubernetes secret mounts and Vault
// Agent sinks are symlinks); the checks apply to the final file.
StatusOr<OpenedFile> OpenRegularFile(const std::string& path, const OpenFileOptions& options);
// The same for `name` inside the directory open at `dir_fd` (openat(2)), for
// stores that reach their files from a directory descriptor so that no path
// can lead elsewhere; errors name `shown_path`. AT_FDCWD: a plain path.
StatusOr<OpenedFile> OpenRegularFileAt(int dir_fd, const std::string& name, const std::string& shown_path,
                                       const OpenFileOptions& options);

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// OpenRegularFile for reading through stdio ("rb"); the stream owns the
// descriptor.
StatusOr<UniqueFile> OpenRegularStream(const std::string& path, const OpenFileOptions& options);

struct ReadFileOptions {
  OpenFileOptions open;            // what, and the fixes for open and kind errors
  size_t max_bytes = 1024 * 1024;  // more is an error: a sign of a wrong path
  mode_t refused_mode = 0;         // st_mode bits that must be clear (077, S_IWOTH)
  std::string mode_problem;        // "is readable or writable by group/others"
  std::string mode_fix;            // "chmod 600 /p"
  bool wipe = false;               // the content is a secret: wipe every buffer it passed through
};

// OpenRegularFile, the mode and size checks, then the whole content.
StatusOr<std::string> ReadRegularFile(const std::string& path, const ReadFileOptions& options);
// ReadRegularFile through OpenRegularFileAt.
StatusOr<std::string> ReadRegularFileAt(int dir_fd, const std::string& name, const std::string& shown_path,
                                        const ReadFileOptions& options);

// A file holding one secret (token, secret ID, key password): no access for
// group or others, at most 64 KiB, trailing whitespace stripped, not empty,
// and on one line (an inner CR, LF, NUL or other control character is
// refused: it would otherwise fail far away, in an HTTP header). `option`
// names the config setting in errors; the content never appears in them.
StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& option);

// The single-line rule of ReadSecretFile, for secrets from elsewhere
// (environment variables). `source` names where it came from.
Status CheckSingleLineSecret(const std::string& secret, const std::string& source);

// One warning per directory from `path`'s own up to "/" (and those of the
// file a symlink leads to) that is group- or world-writable without the
// sticky bit: whoever can write there can swap the file. `what` names the
// file ("config file", "auth.token_file"). Missing directories are skipped.
std::vector<std::string> InsecureDirectoryWarnings(const std::string& path, const std::string& what);

}  // namespace keyring_locker
