#include "keyring_backend/config/config_files.h"

#include <sys/stat.h>

#include "common/safe_file.h"

namespace keyring_locker::config_internal {
namespace {

// Config errors are all kInvalidArgument ("fix the config"), whatever the
// shared reader chose.
Status AsConfigError(const Status& s) { return Status(Code::kInvalidArgument, s.message()); }

}  // namespace

StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& field) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(field + ": \"" + path + "\" is not an absolute path; the server's "
                           "working directory is its data directory, so give the full path");
  }
  StatusOr<std::string> secret = keyring_locker::ReadSecretFile(path, field);
  if (!secret.ok()) return AsConfigError(secret.status());
  return secret;
}

StatusOr<std::string> ReadConfigText(const std::string& path) {
  ReadFileOptions options;
  options.open.what = "config file";
  options.open.open_fix = "check the path and that the server's OS user can read it";
  options.open.not_regular_fix = "point the server at the JSON config file itself";
  options.max_bytes = 1024 * 1024;
  // Whoever can write the config can point the server at their own locker.
  options.refused_mode = S_IWOTH;
  options.mode_problem = "is world-writable: anyone could redirect the server to their own locker";
  options.mode_fix = "chmod o-w " + path;
  // An inline secret may sit in the text.
  options.wipe = true;
  StatusOr<std::string> text = ReadRegularFile(path, options);
  if (!text.ok()) return AsConfigError(text.status());
  return text;
}

}  // namespace keyring_locker::config_internal
