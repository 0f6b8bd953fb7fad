#include "plugin/mariadb/local_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

namespace keyring_locker::mariadb {
namespace {

std::string Fix(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
      return "make it readable by the user mariadbd runs as (e.g. chown mysql and chmod 0400 the file, and let "
             "that user enter every directory above it)";
    case ENOENT:
      return "create the file or correct the path in the setting";
    case ENOTDIR:
      return "a part of the path is not a directory: correct the path in the setting";
    case ELOOP:
      return "the path has a symlink loop: correct the path or the links";
    default:
      return "correct the path or the file so that the user mariadbd runs as can read it";
  }
}

// Empty if `path` opens for reading as a regular file.
std::string Check(const std::string& setting, const std::string& path) {
  const std::string named = setting + " '" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    return named + ": " + std::error_code(err, std::generic_category()).message() + "; fix: " + Fix(err);
  }
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  ::close(fd);
  if (stat_ok && !S_ISREG(st.st_mode)) {
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" : "not a regular file";
    return named + ": is " + kind + "; fix: point the setting at a regular file";
  }
  return "";
}

}  // namespace

std::string LocalFileProblem(const Config& config) {
  std::vector<std::pair<std::string, std::string>> files;  // setting, path
  if (config.roles.UsesVault()) {
    const AuthOptions& a = config.auth;
    if (a.method == AuthOptions::Method::kToken && !a.token_file.empty()) files.emplace_back("auth.token_file", a.token_file);
    if (a.method == AuthOptions::Method::kAppRole && !a.secret_id_file.empty())
      files.emplace_back("auth.approle.secret_id_file", a.secret_id_file);
    const TlsOptions& t = config.http.tls;
    if (!t.ca_file.empty()) files.emplace_back("tls.ca_file", t.ca_file);
    if (!t.client_cert.empty()) files.emplace_back("tls.client_cert", t.client_cert);
    if (!t.client_key.empty()) files.emplace_back("tls.client_key", t.client_key);
  }
  if (config.roles.UsesKmip()) {
    const auto& k = config.kmip.transport;
    if (!k.ca_file.empty()) files.emplace_back("kmip.ca_file", k.ca_file);
    if (!k.cert_file.empty()) files.emplace_back("kmip.cert_file", k.cert_file);
    if (!k.key_file.empty()) files.emplace_back("kmip.key_file", k.key_file);
  }
  for (const auto& [setting, path] : files) {
    std::string problem = Check(setting, path);
    if (!problem.empty()) return problem;
  }
  return "";
}

std::string LocalStartFailure(const std::string& problem, const std::string& retry) {
  return "cannot start: local file problem, nothing was written: " + problem + "; then " + retry;
}

std::string LockerStartFailure(const Status& status, const std::string& retry) {
  return "cannot start without the locker, nothing was written: " + status.ToString() +
         " -- fix the problem named here (or wait until the locker is reachable and unsealed), then " + retry;
}

}  // namespace keyring_locker::mariadb
