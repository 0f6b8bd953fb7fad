#include "keyring_backend/store/directory_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "crypto/crypto.h"

namespace keyring_locker::directory_tree {
namespace {

constexpr size_t kMaxSegmentBytes = 255;  // NAME_MAX on every Linux file system we support
constexpr size_t kMaxSegments = 32;
constexpr size_t kMaxPathBytes = 2048;
constexpr const char* kTempPrefix = "#tmp.";

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool InAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '%' || c == '-';
}

StatusOr<SplitPath> Split(const std::string& path, bool document) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("directory store: refused path '" + path + "': " + why +
                           "; paths must stay below the store's root (segments of [A-Za-z0-9_.%-], "
                           "not empty, '.' or '..'): check keys.prefix and keys.scope");
  };
  if (path.size() > kMaxPathBytes) return bad("longer than " + std::to_string(kMaxPathBytes) + " bytes");
  std::string rest = path;
  if (!document && rest.size() > 1 && rest.back() == '/') rest.pop_back();
  SplitPath out;
  if (rest.empty()) {
    if (document) return bad("it is empty");
    return out;
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = rest.find('/', start);
    std::string segment = rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty()) {
      return bad(start == 0 ? "it starts with '/'" : "it has an empty segment ('//' or a trailing '/')");
    }
    if (segment == "." || segment == "..") return bad("it has a '" + segment + "' segment");
    if (segment.size() > kMaxSegmentBytes) {
      return bad("a segment is " + std::to_string(segment.size()) + " bytes, more than a file name can hold (" +
                 std::to_string(kMaxSegmentBytes) + "); use a shorter key name");
    }
    for (char c : segment) {
      if (!InAlphabet(c)) return bad("a segment holds a character outside [A-Za-z0-9_.%-]");
    }
    out.folders.push_back(std::move(segment));
    if (out.folders.size() > kMaxSegments) return bad("deeper than " + std::to_string(kMaxSegments) + " folders");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (document) {
    out.leaf = std::move(out.folders.back());
    out.folders.pop_back();
  }
  return out;
}

const char* KindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a file";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a folder";
}

}  // namespace

StatusOr<SplitPath> SplitDocumentPath(const std::string& path) { return Split(path, true); }
StatusOr<SplitPath> SplitFolderPath(const std::string& path) { return Split(path, false); }

bool IsValidSegment(const std::string& segment) {
  if (segment.empty() || segment.size() > kMaxSegmentBytes || segment == "." || segment == "..") return false;
  for (char c : segment) {
    if (!InAlphabet(c)) return false;
  }
  return true;
}

StatusOr<std::string> TempName(const std::string& leaf) {
  uint8_t random[8];
  RETURN_IF_ERROR(crypto::RandomBytes(random, sizeof random));
  static const char* hex = "0123456789abcdef";
  std::string name = kTempPrefix + leaf + ".";
  for (uint8_t b : random) {
    name += hex[b >> 4];
    name += hex[b & 15];
  }
  return name;
}

bool IsTempName(const std::string& name) { return name.rfind(kTempPrefix, 0) == 0; }

std::string Joined(const std::string& root_path, const std::vector<std::string>& segments, size_t count) {
  std::string out = root_path;
  for (size_t i = 0; i < count && i < segments.size(); ++i) out += "/" + segments[i];
  return out;
}

Status CheckPrivateFolder(const struct stat& st, const std::string& what, const std::string& path) {
  if (!S_ISDIR(st.st_mode)) {
    return FailedPrecondition(what + " " + path + " is " + KindOf(st.st_mode) + ", not a directory; " +
                              "move it away so the store can use a directory of its own there");
  }
  if (st.st_uid != ::geteuid()) {
    return PermissionDenied(what + " " + path + " is owned by uid " + std::to_string(st.st_uid) +
                            ", not by the server's user (uid " + std::to_string(::geteuid()) +
                            "): someone else could replace key documents; run: chown -R " +
                            std::to_string(::geteuid()) + " " + path);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return PermissionDenied(what + " " + path + " is writable by group or others (mode " + Octal(st.st_mode) +
                            "): they could add or remove key documents; run: chmod 700 " + path);
  }
  if ((st.st_mode & S_IRWXU) != S_IRWXU) {
    return PermissionDenied(what + " " + path + " does not give its owner read, write and search access (mode " +
                            Octal(st.st_mode) + "); run: chmod 700 " + path);
  }
  return Status::Ok();
}

StatusOr<UniqueFd> OpenFolder(int root_fd, const std::string& root_path, const std::vector<std::string>& folders,
                              const OpenFolderOptions& options) {
  UniqueFd current(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (current.get() < 0) {
    const int err = errno;
    return ResourceExhausted("directory store " + root_path + ": cannot duplicate a descriptor (" + ErrnoText(err) +
                             "); raise the open files limit");
  }
  for (size_t i = 0; i < folders.size(); ++i) {
    const std::string shown = Joined(root_path, folders, i + 1);
    bool made = false;
    if (options.create) {
      if (::mkdirat(current.get(), folders[i].c_str(), 0700) == 0) {
        made = true;
      } else if (errno != EEXIST) {
        const int err = errno;
        return Unavailable("directory store: cannot create folder " + shown + " (" + ErrnoText(err) +
                           "); check free space and that the server's user can write " +
                           Joined(root_path, folders, i));
      }
    }
    UniqueFd next(::openat(current.get(), folders[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      const int err = errno;
      if (err == ENOENT) return NotFound("directory store: no folder " + shown);
      struct stat st {};
      if ((err == ENOTDIR || err == ELOOP) &&
          ::fstatat(current.get(), folders[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return FailedPrecondition("directory store: " + shown + " is " + KindOf(st.st_mode) +
                                  " where a folder belongs; the store follows no links below its root: "
                                  "move it away (keys live in real folders only)");
      }
      return Unavailable("directory store: cannot open folder " + shown + " (" + ErrnoText(err) +
                         "); check that the server's user can read it");
    }
    struct stat st {};
    if (::fstat(next.get(), &st) != 0) {
      const int err = errno;
      return Unavailable("directory store: cannot stat folder " + shown + " (" + ErrnoText(err) + ")");
    }
    if (made) {
      // mkdir's mode passed through the umask: make it exactly 0700, then
      // make the new name durable in its parent.
      if (::fchmod(next.get(), 0700) != 0 || ::fstat(next.get(), &st) != 0) {
        const int err = errno;
        return Unavailable("directory store: cannot set the mode of new folder " + shown + " (" + ErrnoText(err) +
                           ")");
      }
      RETURN_IF_ERROR(SyncFolder(current.get(), Joined(root_path, folders, i)));
    }
    RETURN_IF_ERROR(CheckPrivateFolder(st, "directory store folder", shown));
    current = std::move(next);
  }
  return current;
}

StatusOr<std::vector<FolderEntry>> ReadFolder(int folder_fd, const std::string& shown_path, size_t max_entries) {
  // fdopendir owns the descriptor it gets: give it a copy of ours.
  const int copy = ::fcntl(folder_fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = copy < 0 ? nullptr : ::fdopendir(copy);
  if (dir == nullptr) {
    const int err = errno;
    if (copy >= 0) ::close(copy);
    return Unavailable("directory store: cannot list folder " + shown_path + " (" + ErrnoText(err) + ")");
  }
  ::rewinddir(dir);  // the copy shares the file offset
  std::vector<FolderEntry> out;
  Status status;
  for (;;) {
    errno = 0;
    const struct dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) {
        const int err = errno;
        status = Unavailable("directory store: cannot list folder " + shown_path + " (" + ErrnoText(err) + ")");
      }
      break;
    }
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (out.size() >= max_entries) {
      status = ResourceExhausted("directory store: folder " + shown_path + " holds more than " +
                                 std::to_string(max_entries) +
                                 " entries; it is not a folder the store wrote: check the root");
      break;
    }
    FolderEntry entry;
    entry.name = name;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {  // some file systems (XFS v4, NFS) leave it to stat
      struct stat st {};
      if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
      }
    }
    entry.kind = type == DT_REG   ? FolderEntry::Kind::kFile
                 : type == DT_DIR ? FolderEntry::Kind::kFolder
                                  : FolderEntry::Kind::kOther;
    out.push_back(std::move(entry));
  }
  ::closedir(dir);
  if (!status.ok()) return status;
  return out;
}

Status SyncFolder(int folder_fd, const std::string& shown_path) {
  if (::fsync(folder_fd) != 0) {
    const int err = errno;
    return Unavailable("directory store: cannot fsync folder " + shown_path + " (" + ErrnoText(err) +
                       "); the last change may not survive a power cut: check the file system");
  }
  return Status::Ok();
}

}  // namespace keyring_locker::directory_tree
