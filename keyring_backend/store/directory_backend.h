// DirectoryBackend: a DocumentBackend that keeps each document as one file
// below a root directory on the database host (issue #9), so that
// DocumentKeyStore over it is a key store with no locker server; the cloud
// KMS wrappers (issue #12) pair with it. Files hold wrapped keys only
// (DocumentKeyStore refuses bare ones): reading the directory without the
// wrapper's key reveals no key, as with a Vault KV mount without Transit.
//
// Layout: document "a/b/keys/<name>/<version>" is the file
// <root>/a/b/keys/<name>/<version> (DocumentLayout). Each path segment must
// be DocumentLayout's alphabet [A-Za-z0-9_.%-], not empty, "." or "..";
// anything else is refused before a file is touched. Every file is reached
// from a descriptor of the root by openat() one segment at a time with
// O_NOFOLLOW, so no symlink below the root, planted or swapped in later,
// leads a read or write elsewhere (directory_tree.h).
//
// Create-only, and whole or absent after a crash at any step (Store):
//   1. the document goes to a temporary file "#tmp.<leaf>.<random>" in its
//      folder (O_CREAT|O_EXCL, mode 0600), is fsync'd and closed;
//      [crash point directory.before_link]
//   2. link() gives it its name. link() never replaces a name: EEXIST is
//      kAlreadyExists, so of racing writers (threads, processes, servers on
//      one NFS export) exactly one wins, and a retried Create that had
//      landed is recognised by the envelope reading it back;
//      [crash point directory.after_link]
//   3. the temporary name is unlinked and the folder fsync'd, so the new
//      name survives a power cut (new folders: their parent is fsync'd when
//      they are made, before anything is linked into them).
// A kill before 2 leaves only a temporary file; one after 2 a whole
// document (and perhaps a second, temporary name for it). '#' is outside
// the path alphabet: temporary files are never listed, read or taken for a
// document, and a later Store into the same folder removes those older than
// `stale_temp_age` (a younger one may be a writer still at work).
//
// The root is made (mode 0700) when missing, its parent must exist. It is
// refused when it is a symlink, not owned by the effective user, lacks rwx
// for it, or is writable by group or others; folders below it are checked
// the same way on every use. Folders are made 0700, files 0600.
//
// Reads (Fetch) open files without blocking and without following links,
// accept only regular files of at most max_document_bytes, and parse them
// with strict JSON (a key given twice is refused): anything else is
// kDataLoss naming the file. Every call first checks that the caller's
// OperationDeadline has time left; file-system calls themselves are not
// interruptible (a hung NFS server is the operator's business).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/safe_file.h"
#include "keyring_backend/store/document_backend.h"

namespace keyring_locker {

struct DirectoryBackendOptions {
  std::string root;                           // absolute path
  size_t max_document_bytes = 64 * 1024;      // a key document is < 1 KiB; larger is not ours
  size_t max_folder_entries = 1000000;        // bound on one listing
  std::chrono::seconds stale_temp_age{600};   // temporary files older than this are leftovers
};

class DirectoryBackend : public DocumentBackend {
 public:
  // Makes the root if missing, checks it (see above) and keeps it open.
  static StatusOr<std::unique_ptr<DirectoryBackend>> Open(const DirectoryBackendOptions& options);

  std::string Describe() const override { return "directory " + root_; }  // "directory /var/lib/klk"
  Status Connect() override;  // the root is still a usable directory

  Status Store(const std::string& path, const nlohmann::json& document) override;
  StatusOr<nlohmann::json> Fetch(const std::string& path) override;
  // Documents (regular files) and folders ("name/") directly below `prefix`,
  // sorted; temporary files and anything else (links, FIFOs) are left out.
  StatusOr<std::vector<std::string>> List(const std::string& prefix) override;
  // Unlinks one document and fsyncs its folder; nothing there is success.
  Status Remove(const std::string& path) override;

  // reachable: the root is still the directory opened, usable by us.
  StatusOr<LockerHealth> Health() override;
  // {"directory", <canonical root path>}.
  KeyHomeIdentity Identity() const override;

  const std::string& root() const { return root_; }

 private:
  DirectoryBackend(DirectoryBackendOptions options, UniqueFd root_fd, std::string canonical_root);

  Status CheckRoot() const;
  // Step 1 of Store: the temporary file's name, written and fsync'd.
  StatusOr<std::string> WriteTemporary(int folder_fd, const std::string& folder_path, const std::string& leaf,
                                       const std::string& text) const;
  void RemoveStaleTemporaries(int folder_fd, const std::string& folder_path) const;
  std::string Shown(const std::string& relative) const { return root_ + "/" + relative; }

  DirectoryBackendOptions options_;
  UniqueFd root_fd_;
  std::string root_;  // canonical (realpath) at Open
};

}  // namespace keyring_locker
