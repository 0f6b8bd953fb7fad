#include "keyring_backend/http/http_options_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keyring_locker::http {
namespace {

// Readable regular file (or directory when `want_dir`), checked now so the
// error names the option instead of surfacing as a TLS failure later.
Status CheckPath(const std::string& path, const std::string& option, bool want_dir) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgument(option + " '" + path + "' cannot be accessed (" + std::strerror(errno) +
                           "); fix the path or the permissions of the server's OS user");
  }
  if (want_dir != S_ISDIR(st.st_mode)) {
    return InvalidArgument(option + " '" + path + "' is not a " +
                           (want_dir ? "directory" : "regular file") + "; point it at the " +
                           (want_dir ? "hashed CA directory" : "PEM file"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return InvalidArgument(option + " '" + path + "' is not readable (" + std::strerror(errno) +
                           "); let the server's OS user read it");
  }
  return Status::Ok();
}

Status CheckTls(const TlsOptions& tls, const std::string& group) {
  if (!tls.ca_file.empty()) RETURN_IF_ERROR(CheckPath(tls.ca_file, group + ".ca_file", false));
  if (!tls.ca_dir.empty()) RETURN_IF_ERROR(CheckPath(tls.ca_dir, group + ".ca_dir", true));
  if (!tls.client_key.empty() && tls.client_cert.empty())
    return InvalidArgument(group + ".client_key is set but " + group + ".client_cert is not; set both for mTLS");
  if (!tls.client_cert.empty())
    RETURN_IF_ERROR(CheckPath(tls.client_cert, group + ".client_cert", false));
  if (!tls.client_key.empty()) RETURN_IF_ERROR(CheckPath(tls.client_key, group + ".client_key", false));
  if (!tls.pinned_public_key.empty() && tls.pinned_public_key.rfind("sha256//", 0) != 0)
    RETURN_IF_ERROR(CheckPath(tls.pinned_public_key, group + ".pinned_public_key", false));
  if (tls.min_version != "1.2" && tls.min_version != "1.3")
    return InvalidArgument(group + ".min_version '" + tls.min_version +
                           "' is not supported; use \"1.2\" or \"1.3\"");
  return Status::Ok();
}

}  // namespace

Status ValidateHttpOptions(const HttpOptions& o, std::vector<Endpoint>* endpoints) {
  if (o.endpoints.empty())
    return InvalidArgument(o.naming.urls + " is empty; list at least one endpoint, e.g. "
                           "[\"https://vault.example.com:8200\"]");
  endpoints->clear();
  for (size_t i = 0; i < o.endpoints.size(); ++i) {
    const std::string name = o.naming.urls + "[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(o.endpoints[i], o.allow_plain_http, name));
    for (const Endpoint& prev : *endpoints) {
      if (prev.SameOrigin(e))
        return InvalidArgument(name + " repeats " + e.base + "; list each endpoint once");
    }
    endpoints->push_back(std::move(e));
  }
  RETURN_IF_ERROR(CheckTls(o.tls, o.naming.tls));
  if (o.connect_timeout.count() <= 0)
    return InvalidArgument("timeouts.connect_ms must be > 0; e.g. 2000");
  if (o.total_timeout.count() <= 0)
    return InvalidArgument("timeouts.total_ms must be > 0; e.g. 10000");
  if (o.connect_timeout > o.total_timeout)
    return InvalidArgument("timeouts.connect_ms (" + std::to_string(o.connect_timeout.count()) +
                           ") exceeds timeouts.total_ms (" +
                           std::to_string(o.total_timeout.count()) +
                           "); the total budget must cover at least one connect");
  if (o.max_retries < 0 || o.max_retries > 10)
    return InvalidArgument("retries.max must be between 0 and 10, got " +
                           std::to_string(o.max_retries));
  if (o.backoff_initial.count() < 0 || o.backoff_max.count() < 0)
    return InvalidArgument("retries.backoff_initial_ms and retries.backoff_max_ms must be >= 0");
  if (o.backoff_initial > o.backoff_max)
    return InvalidArgument("retries.backoff_initial_ms exceeds retries.backoff_max_ms; "
                           "make the initial backoff the smaller one");
  if (o.max_response_bytes == 0)
    return InvalidArgument("limits.max_response_bytes must be > 0; e.g. 4194304");
  return Status::Ok();
}

std::string DescribeHttpOptions(const HttpOptions& o) {
  std::string s = "locker.urls=[";
  for (size_t i = 0; i < o.endpoints.size(); ++i) s += (i ? "," : "") + o.endpoints[i];
  s += "]";
  for (const auto& [name, value] : o.fixed_headers) s += " header." + name + "=" + value;  // never secrets
  s += std::string(" tls.verify=") + (o.tls.verify ? "on" : "OFF");
  s += " tls.min_version=" + o.tls.min_version;
  if (!o.tls.ca_file.empty()) s += " tls.ca_file=" + o.tls.ca_file;
  if (!o.tls.ca_dir.empty()) s += " tls.ca_dir=" + o.tls.ca_dir;
  if (!o.tls.client_cert.empty()) s += " tls.client_cert=" + o.tls.client_cert;
  if (!o.tls.client_key_password.empty()) s += " tls.client_key_password=(set)";
  if (!o.tls.pinned_public_key.empty()) s += " tls.pinned_public_key=(set)";
  s += " timeouts.connect_ms=" + std::to_string(o.connect_timeout.count());
  s += " timeouts.total_ms=" + std::to_string(o.total_timeout.count());
  s += " retries.max=" + std::to_string(o.max_retries);
  s += " limits.max_response_bytes=" + std::to_string(o.max_response_bytes);
  return s;
}

std::string HttpOptionsWarning(const HttpOptions& o) {
  std::string w;
  if (!o.tls.verify)
    w = "TLS verification is OFF (tls.verify=false): anyone on the network path can read keys "
        "and tokens; never use this in production";
  if (o.allow_plain_http) {
    if (!w.empty()) w += "; ";
    w += "plain http is allowed (test-only setting): tokens and keys may cross the network unencrypted";
  }
  return w;
}

}  // namespace keyring_locker::http
