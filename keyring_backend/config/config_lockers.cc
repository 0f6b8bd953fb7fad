// The "store", "wrapper" and "kmip" groups: which locker plays which role.
// Without "store" and "wrapper" a config means what it always meant: Vault
// KV documents wrapped by Vault Transit, from the "locker" group.
#include <set>

#include "keyring_backend/config/config_groups.h"

namespace keyring_locker::config_internal {
namespace {

const std::set<std::string> kStores = {"vault", "kmip", "directory"};
const std::set<std::string> kWrappers = {"vault", "kmip", "aws_kms", "azure_key_vault", "none"};

std::string OneOf(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\"";
  return out;
}

Status CheckAbsolute(const GroupReader& g, const char* key, const std::string& path) {
  if (path.empty() || path.front() == '/') return Status::Ok();
  return g.Error(key, "\"" + path + "\" is not an absolute path",
                 "give the full path; the server's working directory is its data directory");
}

}  // namespace

Status ParseRoles(const GroupReader& root, Config* config) {
  LockerRoles& roles = config->roles;
  GroupReader s = root.Group("store");
  RETURN_IF_ERROR(s.Expect({"type", "path"}));
  RETURN_IF_ERROR(s.String("type", &roles.store));
  if (!kStores.count(roles.store)) {
    return s.Error("type", "\"" + roles.store + "\" is not a key store", "use one of " + OneOf(kStores));
  }
  RETURN_IF_ERROR(s.String("path", &roles.directory));
  if (roles.store == "directory") {
    if (roles.directory.empty()) {
      return s.Error("path", "is required for store.type \"directory\"",
                     "name the folder that keeps the wrapped keys, e.g. \"/var/lib/mysql/keyring_locker\"");
    }
    RETURN_IF_ERROR(CheckAbsolute(s, "path", roles.directory));
  } else if (s.Has("path")) {
    return s.Error("path", "is set but store.type is \"" + roles.store + "\"",
                   "remove it, or set store.type to \"directory\"");
  }

  GroupReader w = root.Group("wrapper");
  RETURN_IF_ERROR(w.Expect({"type"}));
  // A KMIP server keeps its managed objects protected itself (as Oracle Key
  // Vault and Percona's KMIP keyring use them); the other stores need one.
  roles.wrapper = roles.store == "kmip" ? "none" : "vault";
  if (roles.store == "directory" && !w.Has("type")) {
    return w.Error("type", "is required for store.type \"directory\"",
                   "name who wraps the keys kept on disk: \"vault\" (Transit), \"kmip\", \"aws_kms\" or "
                   "\"azure_key_vault\"");
  }
  RETURN_IF_ERROR(w.String("type", &roles.wrapper));
  if (!kWrappers.count(roles.wrapper)) {
    return w.Error("type", "\"" + roles.wrapper + "\" is not a key wrapper", "use one of " + OneOf(kWrappers));
  }
  if ((roles.wrapper == "aws_kms" || roles.wrapper == "azure_key_vault") && roles.store == "kmip") {
    const std::string cloud = roles.wrapper == "aws_kms" ? "AWS KMS" : "Azure Key Vault";
    return w.Error("type", "\"" + roles.wrapper + "\" cannot wrap keys kept as KMIP objects",
                   "keep " + cloud + "-wrapped keys in store.type \"directory\" or \"vault\"");
  }
  if (roles.wrapper == "none" && roles.store != "kmip") {
    return w.Error("type", "\"none\" would keep keys unwrapped in store.type \"" + roles.store + "\"",
                   "use \"none\" only with store.type \"kmip\" (the KMIP server protects its keys); "
                   "otherwise choose \"vault\", \"kmip\", \"aws_kms\" or \"azure_key_vault\"");
  }
  // Groups of a locker no role uses are a mistake worth naming: the user
  // believes a setting applies that does not.
  if (!roles.UsesVault()) {
    for (const char* group : {"locker", "auth", "tls"}) {
      if (root.Has(group)) {
        return root.Error(group, "is set, but neither store.type nor wrapper.type is \"vault\"",
                          std::string("remove it") +
                              (std::string(group) == "tls" ? "; the KMIP connection's TLS settings are in \"kmip\"" : ""));
      }
    }
  }
  if (!roles.UsesAwsKms() && root.Has("aws_kms")) {
    return root.Error("aws_kms", "is set, but wrapper.type is \"" + roles.wrapper + "\"",
                      "remove it, or set wrapper.type to \"aws_kms\"");
  }
  if (!roles.UsesKmip() && root.Has("kmip")) {
    return root.Error("kmip", "is set, but neither store.type nor wrapper.type is \"kmip\"",
                      "remove it, or set store.type or wrapper.type to \"kmip\"");
  }
  if (!roles.UsesAzure() && root.Has("azure")) {
    return root.Error("azure", "is set, but wrapper.type is not \"azure_key_vault\"",
                      "remove it, or set wrapper.type to \"azure_key_vault\"");
  }
  return Status::Ok();
}

Status ParseKmip(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("kmip");
  RETURN_IF_ERROR(g.Expect({"servers", "ca_file", "client_cert", "client_key", "server_name", "verify",
                            "min_tls_version", "max_version", "wrapping_key", "abandoned_after_s"}));
  KmipOptions& k = config->kmip;
  if (!g.Has("servers")) {
    return g.Error("servers", "is required", "list the KMIP servers, e.g. [\"kmip1.example.com:5696\"]");
  }
  RETURN_IF_ERROR(g.StringList("servers", &k.transport.servers));
  if (k.transport.servers.empty()) {
    return g.Error("servers", "must list at least one server", "add one, e.g. [\"kmip1.example.com:5696\"]");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < k.transport.servers.size(); ++i) {
    const std::string& s = k.transport.servers[i];
    const std::string key = "servers[" + std::to_string(i) + "]";
    if (s.empty() || s.find_first_of("/ \t@") != std::string::npos) {
      return g.Error("servers", key + " \"" + s + "\" is not host or host:port",
                     "write it as \"kmip1.example.com:5696\" (no scheme, no path)");
    }
    if (!seen.insert(s).second) return g.Error("servers", key + " \"" + s + "\" is listed twice", "list it once");
  }
  for (auto [key, out] : {std::pair{"ca_file", &k.transport.ca_file}, std::pair{"client_cert", &k.transport.cert_file},
                          std::pair{"client_key", &k.transport.key_file}}) {
    RETURN_IF_ERROR(g.String(key, out));
    RETURN_IF_ERROR(CheckAbsolute(g, key, *out));
  }
  if (k.transport.cert_file.empty() || k.transport.key_file.empty()) {
    return g.Error(k.transport.cert_file.empty() ? "client_cert" : "client_key", "is required",
                   "KMIP servers know their clients by certificate: set kmip.client_cert and kmip.client_key "
                   "(docs/locker-setup.md, \"KMIP\")");
  }
  RETURN_IF_ERROR(g.String("server_name", &k.transport.server_name));
  RETURN_IF_ERROR(g.Bool("verify", &k.transport.verify_peer));
  if (!k.transport.verify_peer) {
    config->warnings.push_back(
        "kmip.verify is false: the KMIP server's certificate and name are NOT checked, so anyone on the network "
        "path can pose as it and receive every key. Set kmip.verify to true and kmip.ca_file to the CA that "
        "signed the server's certificate");
  }
  RETURN_IF_ERROR(g.String("min_tls_version", &k.transport.min_tls_version));
  if (k.transport.min_tls_version != "1.2" && k.transport.min_tls_version != "1.3") {
    return g.Error("min_tls_version", "must be \"1.2\" or \"1.3\", got \"" + k.transport.min_tls_version + "\"",
                   "use \"1.2\" (KMIP servers such as PyKMIP speak only TLS 1.2)");
  }
  RETURN_IF_ERROR(g.String("max_version", &k.max_version));
  if (k.max_version != "1.4" && k.max_version != "1.2") {
    return g.Error("max_version", "must be \"1.4\" or \"1.2\", got \"" + k.max_version + "\"",
                   "leave it out: the client offers 1.4 and speaks what the server chooses");
  }
  RETURN_IF_ERROR(g.String("wrapping_key", &k.wrapping_key));
  if (config->roles.wrapper == "kmip" && k.wrapping_key.empty()) {
    return g.Error("wrapping_key", "is required with wrapper.type \"kmip\"",
                   "name the AES-256 key-encryption key in the KMIP server, e.g. \"keyring_locker-kek\"");
  }
  if (config->roles.wrapper != "kmip" && !k.wrapping_key.empty()) {
    return g.Error("wrapping_key", "is set but wrapper.type is \"" + config->roles.wrapper + "\"",
                   "remove it, or set wrapper.type to \"kmip\"");
  }
  int64_t abandoned = k.abandoned_after.count();
  RETURN_IF_ERROR(g.Int("abandoned_after_s", 1, 86400, "seconds", &abandoned));
  k.abandoned_after = std::chrono::seconds(abandoned);
  // The connection's timeouts are the config's one pair (timeouts group).
  k.transport.connect_timeout = config->http.connect_timeout;
  k.transport.io_timeout = config->http.total_timeout;
  k.transport.option_prefix = "kmip.";
  return Status::Ok();
}

}  // namespace keyring_locker::config_internal
