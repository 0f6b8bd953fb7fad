// The security-relevant groups: locker addresses, tls and auth.
#include <algorithm>
#include <cctype>
#include <set>

#include "common/safe_file.h"
#include "keyring_backend/config/config_files.h"
#include "keyring_backend/config/config_groups.h"

namespace keyring_locker::config_internal {
namespace {

bool StartsWithNoCase(const std::string& s, const char* prefix) {
  size_t n = std::char_traits<char>::length(prefix);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// Environment variable names are not secret, but a token pasted into the
// *_env field by mistake would be: never echo the value.
Status CheckEnvName(const GroupReader& g, const char* key, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 255 &&
            !std::isdigit(static_cast<unsigned char>(name[0])) &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            });
  if (ok) return Status::Ok();
  return g.Error(key, "must be the name of an environment variable (letters, digits and '_')",
                 "write the variable's name, e.g. \"VAULT_TOKEN\", never the secret itself");
}

Status CheckAbsolutePath(const GroupReader& g, const char* key, const std::string& path) {
  if (path.empty() || path.front() == '/') return Status::Ok();
  return g.Error(key, "\"" + path + "\" is not an absolute path",
                 "give the full path; the server's working directory is its data directory");
}

// "exactly one of a file or an environment variable" for token and SecretID.
Status ExactlyOne(const GroupReader& g, const char* file_key, const std::string& file,
                  const char* env_key, const std::string& env, const std::string& why) {
  if (file.empty() == env.empty()) {
    return g.Error(file_key, std::string(file.empty() ? "neither " : "both ") +
                   g.PathOf(file_key) + (file.empty() ? " nor " : " and ") + g.PathOf(env_key) +
                   (file.empty() ? " is set" : " are set") + " (" + why + ")",
                   "set exactly one of them");
  }
  RETURN_IF_ERROR(CheckAbsolutePath(g, file_key, file));
  if (!env.empty()) RETURN_IF_ERROR(CheckEnvName(g, env_key, env));
  return Status::Ok();
}

}  // namespace

Status CheckUrls(const GroupReader& g, std::vector<std::string>* urls) {
  if (urls->empty()) {
    return g.Error("urls", "must list at least one address",
                   "add the locker's address, e.g. [\"https://vault1:8200\"]");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < urls->size(); ++i) {
    std::string& url = (*urls)[i];
    std::string field = "urls[" + std::to_string(i) + "]";
    const char* key = field.c_str();
    if (StartsWithNoCase(url, "http://")) {
      return g.Error(key, "plain http:// is refused: keys and tokens would cross the network "
                     "unencrypted", "use the locker's https:// address (there is no plain-http mode)");
    }
    if (!StartsWithNoCase(url, "https://")) {
      return g.Error(key, "must start with https://", "write it as \"https://host:port\"");
    }
    if (url.find('@') != std::string::npos) {
      return g.Error(key, "contains user credentials (user@host)",
                     "remove them from the address; authentication is set in the auth group");
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    std::string host = url.substr(8);
    if (host.empty()) return g.Error(key, "has no host name", "write \"https://host:port\"");
    if (std::any_of(host.begin(), host.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
      return g.Error(key, "contains whitespace", "remove the spaces from the address");
    }
    size_t extra = host.find_first_of("/?#");
    if (extra != std::string::npos) {
      return g.Error(key, "must be https://host[:port] without a path, got \"" + url + "\"",
                     "remove \"" + host.substr(extra) + "\"; the /v1/ API path is added "
                     "automatically");
    }
    if (!seen.insert(url).second) {
      return g.Error(key, "\"" + url + "\" is listed twice", "list each address once");
    }
  }
  return Status::Ok();
}

Status ParseTls(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("tls");
  RETURN_IF_ERROR(g.Expect({"verify", "ca_file", "ca_dir", "client_cert", "client_key",
                            "client_key_password_file", "pinned_public_key", "min_version"}));
  TlsOptions& tls = config->http.tls;
  RETURN_IF_ERROR(g.Bool("verify", &tls.verify));
  for (auto [key, out] : {std::pair{"ca_file", &tls.ca_file}, std::pair{"ca_dir", &tls.ca_dir},
                          std::pair{"client_cert", &tls.client_cert},
                          std::pair{"client_key", &tls.client_key}}) {
    RETURN_IF_ERROR(g.String(key, out));
    RETURN_IF_ERROR(CheckAbsolutePath(g, key, *out));
  }
  if (tls.client_cert.empty() != tls.client_key.empty()) {
    return g.Error(tls.client_cert.empty() ? "client_cert" : "client_key",
                   "is missing while its pair is set",
                   "set both tls.client_cert and tls.client_key, or neither");
  }
  std::string password_file;
  RETURN_IF_ERROR(g.String("client_key_password_file", &password_file));
  if (!password_file.empty()) {
    if (tls.client_key.empty()) {
      return g.Error("client_key_password_file", "is set but tls.client_key is not",
                     "set tls.client_key to the encrypted key, or remove this option");
    }
    StatusOr<std::string> password =
        ReadSecretFile(password_file, g.PathOf("client_key_password_file"));
    if (!password.ok()) return password.status().Annotate(g.source());
    tls.client_key_password = std::move(password).value();
    for (std::string& w : InsecureDirectoryWarnings(password_file, g.PathOf("client_key_password_file")))
      config->warnings.push_back(std::move(w));
  }
  RETURN_IF_ERROR(g.String("pinned_public_key", &tls.pinned_public_key));
  const std::string& pin = tls.pinned_public_key;
  if (!pin.empty() && pin.rfind("sha256//", 0) != 0 && pin.front() != '/') {
    return g.Error("pinned_public_key", "is neither sha256// pins nor an absolute path",
                   "write \"sha256//<base64>;sha256//<base64>\" or the full path of a PEM/DER "
                   "public key file");
  }
  RETURN_IF_ERROR(g.String("min_version", &tls.min_version));
  if (tls.min_version != "1.2" && tls.min_version != "1.3") {
    return g.Error("min_version", "must be \"1.2\" or \"1.3\", got \"" + tls.min_version + "\"",
                   "older TLS versions are not supported");
  }
  if (!tls.verify) {
    config->warnings.push_back(
        "TLS verification is OFF (tls.verify=false): anyone on the network path can read keys; "
        "never use in production");
  }
  return Status::Ok();
}

Status ParseAuth(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("auth");
  RETURN_IF_ERROR(g.Expect({"method", "token_file", "token_env", "approle", "cert",
                            "renew_fraction"}));
  AuthOptions& auth = config->auth;
  std::string method;
  if (!g.Has("method")) {
    return g.Error("method", "is required", "set it to \"token\", \"approle\" or \"cert\"");
  }
  RETURN_IF_ERROR(g.String("method", &method));
  RETURN_IF_ERROR(g.String("token_file", &auth.token_file));
  RETURN_IF_ERROR(g.String("token_env", &auth.token_env));
  RETURN_IF_ERROR(g.Number("renew_fraction", 0.1, 0.9, &auth.renew_fraction));

  GroupReader approle = g.Group("approle");
  RETURN_IF_ERROR(approle.Expect({"mount", "role_id", "secret_id_file", "secret_id_env"}));
  RETURN_IF_ERROR(approle.String("mount", &auth.approle_mount));
  RETURN_IF_ERROR(approle.String("role_id", &auth.role_id));
  RETURN_IF_ERROR(approle.String("secret_id_file", &auth.secret_id_file));
  RETURN_IF_ERROR(approle.String("secret_id_env", &auth.secret_id_env));
  GroupReader cert = g.Group("cert");
  RETURN_IF_ERROR(cert.Expect({"mount", "role"}));
  RETURN_IF_ERROR(cert.String("mount", &auth.cert_mount));
  RETURN_IF_ERROR(cert.String("role", &auth.cert_role));
  for (auto [group, key, value] :
       {std::tuple{&approle, "mount", &auth.approle_mount},
        std::tuple{&cert, "mount", &auth.cert_mount}}) {
    std::string problem = NameProblem(*value, true);
    if (!problem.empty()) return group->Error(key, problem, "use the auth mount's path");
  }
  if (!auth.cert_role.empty() && !NameProblem(auth.cert_role, false).empty()) {
    return cert.Error("role", NameProblem(auth.cert_role, false),
                      "use the name of the certificate role on the locker");
  }

  bool token_set = !auth.token_file.empty() || !auth.token_env.empty();
  bool approle_set = g.Has("approle"), cert_set = g.Has("cert");
  if (method == "token") {
    auth.method = AuthOptions::Method::kToken;
    RETURN_IF_ERROR(ExactlyOne(g, "token_file", auth.token_file, "token_env", auth.token_env,
                               "auth.method \"token\" reads the token from one of them"));
  } else if (method == "approle") {
    auth.method = AuthOptions::Method::kAppRole;
    if (auth.role_id.empty()) {
      return approle.Error("role_id", "is required for auth.method \"approle\"",
                           "set it to the RoleID shown by `vault read auth/approle/role/NAME/role-id`");
    }
    RETURN_IF_ERROR(ExactlyOne(approle, "secret_id_file", auth.secret_id_file, "secret_id_env",
                               auth.secret_id_env, "AppRole login needs a SecretID"));
  } else if (method == "cert") {
    auth.method = AuthOptions::Method::kCert;
    if (config->http.tls.client_cert.empty()) {
      return g.Error("method", "\"cert\" needs a client certificate, but tls.client_cert and "
                     "tls.client_key are not set", "set both to the PEM files of the certificate "
                     "the locker's cert auth method trusts");
    }
  } else {
    return g.Error("method", "\"" + method + "\" is not a supported method",
                   "use \"token\", \"approle\" or \"cert\"");
  }
  // Settings for another method are harmless but usually mean a half-edited
  // config, so say which ones are ignored.
  auto ignored = [&](bool set, const char* what) {
    if (set) {
      config->warnings.push_back(std::string(what) + " is set but ignored because auth.method "
                                 "is \"" + method + "\"");
    }
  };
  ignored(method != "token" && token_set, "auth.token_file/auth.token_env");
  ignored(method != "approle" && approle_set, "auth.approle");
  ignored(method != "cert" && cert_set, "auth.cert");
  // Whoever can write a directory above a secret file can swap the file.
  for (auto [file, what] : {std::pair{&auth.token_file, "auth.token_file"},
                            std::pair{&auth.secret_id_file, "auth.approle.secret_id_file"}}) {
    if (file->empty()) continue;
    for (std::string& w : InsecureDirectoryWarnings(*file, what)) config->warnings.push_back(std::move(w));
  }
  return Status::Ok();
}

}  // namespace keyring_locker::config_internal
