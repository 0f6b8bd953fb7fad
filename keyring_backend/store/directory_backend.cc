#include "keyring_backend/store/directory_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <system_error>

#include "common/crash_point.h"
#include "common/durable_file.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/json/strict_json.h"
#include "keyring_backend/store/directory_tree.h"

namespace keyring_locker {

namespace tree = directory_tree;

namespace {

constexpr const char* kRootWhat = "directory store root";

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Local calls do not wait on a network, but a caller whose budget is spent
// must still not start one more (KeyStore: every request within the deadline).
Status TimeLeft(const char* op, const std::string& what) {
  const auto deadline = OperationDeadline::Current();
  if (deadline && OperationDeadline::Clock::now() >= *deadline) {
    return DeadlineExceeded(std::string("directory store: the call's time budget (timeouts.total_ms) ran out before ") +
                            op + " " + what);
  }
  return Status::Ok();
}

StatusOr<std::string> Serialize(const nlohmann::json& document, const std::string& shown) {
  if (!document.is_object()) {
    return InvalidArgument("document for " + shown + " is not a JSON object; nothing was written");
  }
  try {
    return document.dump() + "\n";
  } catch (const nlohmann::json::exception&) {  // only a string that is not UTF-8
    return InvalidArgument("document for " + shown + " holds a string that is not valid UTF-8; nothing was written");
  }
}

StatusOr<std::string> CanonicalPath(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) {
    const int err = errno;
    return Unavailable(std::string(kRootWhat) + " " + path + ": cannot resolve its path (" + ErrnoText(err) + ")");
  }
  std::string out = real;
  std::free(real);
  return out;
}

Status SyncParentOf(const std::string& path) {
  const std::string parent = path.substr(0, std::max<size_t>(1, path.find_last_of('/')));
  UniqueFd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    return Unavailable("directory store: cannot open " + parent + " to make the new root durable (" +
                       ErrnoText(err) + ")");
  }
  return tree::SyncFolder(fd.get(), parent);
}

}  // namespace

StatusOr<std::unique_ptr<DirectoryBackend>> DirectoryBackend::Open(const DirectoryBackendOptions& options) {
  std::string root = options.root;
  if (root.empty() || root[0] != '/') {
    return InvalidArgument(std::string(kRootWhat) + " '" + root +
                           "' is not an absolute path; give the full path of a directory only the server's user "
                           "can write, e.g. /var/lib/mysql-keys");
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (options.max_document_bytes == 0 || options.max_folder_entries == 0) {
    return InvalidArgument("directory store: max_document_bytes and max_folder_entries must be positive");
  }
  const std::string named = std::string(kRootWhat) + " " + root;
  const std::string link_fix = ": a link can be re-pointed by whoever can write its folder; point the store at the "
                               "real directory (readlink -f " + root + ")";

  struct stat st {};
  bool made = false;
  if (::lstat(root.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      const int err = errno;
      return Unavailable(named + " cannot be examined (" + ErrnoText(err) + "); check the permissions of its parent");
    }
    if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
      const int err = errno;
      return FailedPrecondition(named + " is missing and cannot be created (" + ErrnoText(err) +
                                "); create it (mkdir -m 700 " + root + ") or fix the path");
    }
    made = true;
  } else if (S_ISLNK(st.st_mode)) {
    return FailedPrecondition(named + " is a symbolic link" + link_fix);
  }

  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if ((err == ENOTDIR || err == ELOOP) && ::lstat(root.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return FailedPrecondition(named + " is a symbolic link" + link_fix);
    }
    if (err == ENOTDIR) return FailedPrecondition(named + " is not a directory; point the store at a directory");
    return PermissionDenied(named + " cannot be opened (" + ErrnoText(err) +
                            "); it must belong to the server's user: chown it to that user and chmod 700 " + root);
  }
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return Unavailable(named + ": fstat failed (" + ErrnoText(err) + ")");
  }
  if (made && st.st_uid == ::geteuid()) {
    // mkdir's mode went through the umask: make it exactly 0700, and the
    // new root's name durable in its parent.
    if (::fchmod(fd.get(), 0700) != 0 || ::fstat(fd.get(), &st) != 0) {
      const int err = errno;
      return Unavailable(named + ": cannot set its mode to 0700 (" + ErrnoText(err) + ")");
    }
    RETURN_IF_ERROR(SyncParentOf(root));
  }
  RETURN_IF_ERROR(tree::CheckPrivateFolder(st, kRootWhat, root));
  ASSIGN_OR_RETURN(std::string canonical, CanonicalPath(root));
  return std::unique_ptr<DirectoryBackend>(new DirectoryBackend(options, std::move(fd), std::move(canonical)));
}

DirectoryBackend::DirectoryBackend(DirectoryBackendOptions options, UniqueFd root_fd, std::string canonical_root)
    : options_(std::move(options)), root_fd_(std::move(root_fd)), root_(std::move(canonical_root)) {}

Status DirectoryBackend::CheckRoot() const {
  const std::string named = std::string(kRootWhat) + " " + root_;
  struct stat opened {}, now {};
  if (::fstat(root_fd_.get(), &opened) != 0) {
    const int err = errno;
    return Unavailable(named + ": fstat failed (" + ErrnoText(err) + ")");
  }
  if (opened.st_nlink == 0) {
    return Unavailable(named + " was removed while in use; restore it with its documents (mkdir -m 700 " + root_ +
                       ", then the backup) and restart the server");
  }
  if (::lstat(root_.c_str(), &now) != 0 || now.st_dev != opened.st_dev || now.st_ino != opened.st_ino) {
    return Unavailable(named + " is no longer the directory opened at start (moved or replaced); put it back "
                       "and restart the server");
  }
  return tree::CheckPrivateFolder(opened, kRootWhat, root_);
}

Status DirectoryBackend::Connect() { return CheckRoot(); }

StatusOr<std::string> DirectoryBackend::WriteTemporary(int folder_fd, const std::string& folder_path,
                                                       const std::string& leaf, const std::string& text) const {
  for (int attempt = 0; attempt < 3; ++attempt) {  // a random name already taken is a leftover's
    ASSIGN_OR_RETURN(std::string name, tree::TempName(leaf));
    UniqueFd fd(::openat(folder_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                         0600));
    if (fd.get() < 0) {
      if (errno == EEXIST) continue;
      const int err = errno;
      return Unavailable("directory store: cannot create a temporary file in " + folder_path + " (" +
                         ErrnoText(err) + "); check free space and that the server's user can write there");
    }
    auto failed = [&](const char* step) {
      const int err = errno;
      ::unlinkat(folder_fd, name.c_str(), 0);
      return Unavailable(std::string("directory store: cannot ") + step + " temporary file " + folder_path + "/" +
                         name + " (" + ErrnoText(err) + "); check free space and the file system");
    };
    if (::fchmod(fd.get(), 0600) != 0) return failed("set the mode of");  // open's mode went through the umask
    if (!WriteAll(fd.get(), text)) return failed("write");
    if (::fsync(fd.get()) != 0) return failed("fsync");
    if (::close(fd.release()) != 0) return failed("close");
    return name;
  }
  return Internal("directory store: three random temporary names were all taken in " + folder_path);
}

void DirectoryBackend::RemoveStaleTemporaries(int folder_fd, const std::string& folder_path) const {
  auto entries = tree::ReadFolder(folder_fd, folder_path, options_.max_folder_entries);
  if (!entries.ok()) return;  // the write itself will report a folder it cannot use
  const time_t now = std::time(nullptr);
  for (const auto& e : *entries) {
    if (!tree::IsTempName(e.name)) continue;
    struct stat st {};
    if (::fstatat(folder_fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) continue;
    if (now - st.st_mtime >= static_cast<time_t>(options_.stale_temp_age.count())) {
      ::unlinkat(folder_fd, e.name.c_str(), 0);  // a leftover of a crash; losing it is harmless
    }
  }
}

Status DirectoryBackend::Store(const std::string& path, const nlohmann::json& document) {
  RETURN_IF_ERROR(TimeLeft("writing", Shown(path)));
  ASSIGN_OR_RETURN(tree::SplitPath split, tree::SplitDocumentPath(path));
  const std::string shown = Shown(path);
  ASSIGN_OR_RETURN(std::string text, Serialize(document, shown));
  if (text.size() > options_.max_document_bytes) {
    return InvalidArgument("document for " + shown + " is " + std::to_string(text.size()) + " bytes, more than the " +
                           std::to_string(options_.max_document_bytes) + " a read accepts; nothing was written");
  }
  const std::string folder_path = tree::Joined(root_, split.folders, split.folders.size());
  ASSIGN_OR_RETURN(UniqueFd folder, tree::OpenFolder(root_fd_.get(), root_, split.folders, {/*create=*/true}));
  RemoveStaleTemporaries(folder.get(), folder_path);

  // 1. The whole document, on disk, under a name no reader looks at.
  ASSIGN_OR_RETURN(std::string temp, WriteTemporary(folder.get(), folder_path, split.leaf, text));
  CrashPoint("directory.before_link");

  // 2. Its real name: link() fails with EEXIST rather than replace a name,
  //    which makes this the create-only step.
  const int linked = ::linkat(folder.get(), temp.c_str(), folder.get(), split.leaf.c_str(), 0);
  const int link_err = errno;
  if (linked == 0) CrashPoint("directory.after_link");

  // 3. Drop the temporary name (a failure leaves it for the sweep above),
  //    then make the new name durable.
  ::unlinkat(folder.get(), temp.c_str(), 0);
  if (linked != 0) {
    if (link_err == EEXIST) {
      return AlreadyExists("document " + shown + " exists already; documents are never overwritten");
    }
    const bool no_links = link_err == EPERM || link_err == EOPNOTSUPP || link_err == ENOSYS;
    return Unavailable("directory store: cannot link " + shown + " (" + ErrnoText(link_err) + "); " +
                       (no_links ? "the store needs a file system with hard links (ext4, XFS, btrfs, tmpfs, NFS)"
                                 : "check free space and that the server's user can write " + folder_path));
  }
  return tree::SyncFolder(folder.get(), folder_path);
}

StatusOr<nlohmann::json> DirectoryBackend::Fetch(const std::string& path) {
  RETURN_IF_ERROR(TimeLeft("reading", Shown(path)));
  ASSIGN_OR_RETURN(tree::SplitPath split, tree::SplitDocumentPath(path));
  const std::string shown = Shown(path);
  auto folder = tree::OpenFolder(root_fd_.get(), root_, split.folders, {});
  if (!folder.ok()) {
    if (folder.status().code() == Code::kNotFound) return NotFound("no document at " + shown);
    return folder.status();
  }
  auto damaged = [&](const std::string& why) {
    return DataLoss("document " + shown + " " + why +
                    "; it was not written by keyring_locker or was altered: restore it from a backup");
  };
  struct stat st {};
  if (::fstatat(folder->get(), split.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    if (err == ENOENT) return NotFound("no document at " + shown);
    return Unavailable("directory store: cannot examine " + shown + " (" + ErrnoText(err) + ")");
  }
  if (S_ISLNK(st.st_mode)) return damaged("is a symbolic link, which the store never writes nor follows");
  if (S_ISFIFO(st.st_mode)) return damaged("is a FIFO (named pipe), not a file");
  if (!S_ISREG(st.st_mode)) return damaged(S_ISDIR(st.st_mode) ? "is a folder, not a file" : "is not a regular file");
  if (static_cast<unsigned long long>(st.st_size) > options_.max_document_bytes) {
    return damaged("is " + std::to_string(st.st_size) + " bytes, more than the " +
                   std::to_string(options_.max_document_bytes) + " a key document can be");
  }

  // safe_file reads without blocking and without following a link swapped
  // in since the check above, regular files only, and caps what it reads.
  ReadFileOptions read;
  read.open.what = "document";
  read.open.flags = O_NOFOLLOW;
  read.open.open_fix = "let the server's OS user read it (chmod 600, owned by that user)";
  read.open.not_regular_fix = "it was replaced while being read: restore it from a backup";
  read.max_bytes = options_.max_document_bytes;
  auto text = ReadRegularFileAt(folder->get(), split.leaf, shown, read);
  if (!text.ok()) return Unavailable("directory store: " + text.status().message());

  StrictJson parsed = ParseStrictJson(*text);
  if (parsed.value.is_discarded()) return damaged("is not JSON (cut short or altered)");
  if (!parsed.duplicate.empty()) return damaged("gives field '" + parsed.duplicate + "' twice");
  if (!parsed.value.is_object()) return damaged("is not a JSON object");
  return std::move(parsed.value);
}

StatusOr<std::vector<std::string>> DirectoryBackend::List(const std::string& prefix) {
  RETURN_IF_ERROR(TimeLeft("listing", Shown(prefix)));
  ASSIGN_OR_RETURN(tree::SplitPath split, tree::SplitFolderPath(prefix));
  auto folder = tree::OpenFolder(root_fd_.get(), root_, split.folders, {});
  if (!folder.ok()) {
    if (folder.status().code() == Code::kNotFound) return std::vector<std::string>{};
    return folder.status();
  }
  const std::string folder_path = tree::Joined(root_, split.folders, split.folders.size());
  ASSIGN_OR_RETURN(std::vector<tree::FolderEntry> entries,
                   tree::ReadFolder(folder->get(), folder_path, options_.max_folder_entries));
  std::vector<std::string> out;
  for (auto& e : entries) {
    // Temporary files ('#') and names no document path can have are not ours.
    if (!tree::IsValidSegment(e.name)) continue;
    if (e.kind == tree::FolderEntry::Kind::kFile) out.push_back(std::move(e.name));
    if (e.kind == tree::FolderEntry::Kind::kFolder) out.push_back(e.name + "/");
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status DirectoryBackend::Remove(const std::string& path) {
  RETURN_IF_ERROR(TimeLeft("removing", Shown(path)));
  ASSIGN_OR_RETURN(tree::SplitPath split, tree::SplitDocumentPath(path));
  const std::string shown = Shown(path);
  auto folder = tree::OpenFolder(root_fd_.get(), root_, split.folders, {});
  if (!folder.ok()) return folder.status().code() == Code::kNotFound ? Status::Ok() : folder.status();
  if (::unlinkat(folder->get(), split.leaf.c_str(), 0) != 0) {
    const int err = errno;
    if (err == ENOENT) return Status::Ok();
    if (err == EISDIR) {
      return FailedPrecondition("directory store: " + shown + " is a folder, not a document; nothing was removed");
    }
    return Unavailable("directory store: cannot remove " + shown + " (" + ErrnoText(err) +
                       "); check that the server's user can write its folder");
  }
  return tree::SyncFolder(folder->get(), tree::Joined(root_, split.folders, split.folders.size()));
}

StatusOr<LockerHealth> DirectoryBackend::Health() {
  LockerHealth h;
  h.endpoint = root_;
  h.version = "local";
  const Status s = CheckRoot();
  h.reachable = s.ok();
  h.detail = s.ok() ? "directory " + root_ + " is usable" : s.message();
  return h;
}

KeyHomeIdentity DirectoryBackend::Identity() const { return KeyHomeIdentity{{{"directory", root_}}, root_}; }

}  // namespace keyring_locker
