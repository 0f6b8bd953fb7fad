// The file-system steps under DirectoryBackend (directory_backend.h): document
// paths checked and split, folders reached from the root's descriptor one
// segment at a time without following symlinks, bounded folder listings, and
// fsync. No policy about documents: that is the backend's.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/safe_file.h"
#include "common/status.h"

namespace keyring_locker::directory_tree {

// A document path split into segments. Every segment is DocumentLayout's
// alphabet [A-Za-z0-9_.%-] (encoded names, versions, "<v>.deleted", the
// prefix and scope), never empty, "." or ".."; so a checked path cannot
// leave the root, and temporary files (TempName) can never be documents.
struct SplitPath {
  std::vector<std::string> folders;  // from the root down
  std::string leaf;                  // empty for a folder path
};

// `path` names a document: "a/b/keys/k/1". Refused with a clear error when a
// segment breaks the rules above, or the path is too deep or too long.
StatusOr<SplitPath> SplitDocumentPath(const std::string& path);
// `path` names a folder ("a/b/keys", with or without a trailing '/'; "" is
// the root): every segment goes to `folders`.
StatusOr<SplitPath> SplitFolderPath(const std::string& path);

// True for a name that can be a document or folder below the root.
bool IsValidSegment(const std::string& segment);

// "#tmp.<leaf>.<16 hex digits>": '#' is outside the path alphabet, so such
// a file is never listed, read or mistaken for a document.
StatusOr<std::string> TempName(const std::string& leaf);
bool IsTempName(const std::string& name);

struct OpenFolderOptions {
  // Make missing folders (mode 0700, each parent fsync'd after the mkdir so
  // the new entry survives a power cut). Otherwise a missing one is kNotFound.
  bool create = false;
};

// Opens `root_fd`/folders[0]/.../folders[n-1], one openat(O_NOFOLLOW |
// O_DIRECTORY) per segment: a symlink anywhere below the root is refused,
// not followed. Each folder must be owned by this process's user and not
// writable by group or others. `root_path` only names things in errors.
StatusOr<UniqueFd> OpenFolder(int root_fd, const std::string& root_path, const std::vector<std::string>& folders,
                              const OpenFolderOptions& options);

// The checks the root and every folder below it pass: a directory, owned by
// the effective user, with rwx for it, not writable by group or others.
// `what` starts the message ("directory store root", "folder").
Status CheckPrivateFolder(const struct stat& st, const std::string& what, const std::string& path);

struct FolderEntry {
  enum class Kind { kFile, kFolder, kOther };  // kOther: symlink, FIFO, socket, device
  std::string name;
  Kind kind = Kind::kOther;
};

// Every entry of the open folder except "." and "..", unsorted; more than
// `max_entries` is an error (a runaway folder must not exhaust memory).
StatusOr<std::vector<FolderEntry>> ReadFolder(int folder_fd, const std::string& shown_path, size_t max_entries);

// fsync of a folder: makes the names created or removed in it durable.
Status SyncFolder(int folder_fd, const std::string& shown_path);

// "/root" + "/a/b" for messages.
std::string Joined(const std::string& root_path, const std::vector<std::string>& segments, size_t count);

}  // namespace keyring_locker::directory_tree
