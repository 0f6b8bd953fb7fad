// The "azure" group: Azure Key Vault as the key wrapper (wrapper.type
// "azure_key_vault"). Every combination that cannot work is refused here,
// naming the field and the fix, so a server never starts half-configured.
#include "keyring_backend/config/config_groups.h"
#include "keyring_backend/http/endpoint.h"

namespace keyring_locker::config_internal {
namespace {

bool OnlyChars(const std::string& s, const char* extra, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && std::string(extra).find(c) == std::string::npos) return false;
  }
  return true;
}

Status Url(const GroupReader& g, const char* key, bool allow_http, std::string* out) {
  RETURN_IF_ERROR(g.String(key, out));
  while (!out->empty() && out->back() == '/') out->pop_back();
  StatusOr<http::Endpoint> e = http::ParseEndpoint(*out, allow_http, g.PathOf(key));
  if (!e.ok()) return g.Error(key, e.status().message(), "write it as https://host[:port], with no path");
  return Status::Ok();
}

Status AbsoluteFile(const GroupReader& g, const char* key, std::string* out) {
  RETURN_IF_ERROR(g.String(key, out));
  if (!out->empty() && out->front() != '/') {
    return g.Error(key, "\"" + *out + "\" is not an absolute path",
                   "give the full path; the server's working directory is its data directory");
  }
  return Status::Ok();
}

}  // namespace

Status ParseAzure(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("azure");
  RETURN_IF_ERROR(g.Expect({"vault_url", "endpoints", "key_name", "key_version", "algorithm", "auth", "tenant_id",
                            "client_id", "secret_file", "certificate_file", "authority_host", "imds_endpoint",
                            "ca_file", "verify"}));
  azure::AzureOptions& a = config->azure;
  if (!g.Has("vault_url")) {
    return g.Error("vault_url", "is required with wrapper.type \"azure_key_vault\"",
                   "give the vault's URL, e.g. \"https://myvault.vault.azure.net\"");
  }
  RETURN_IF_ERROR(Url(g, "vault_url", false, &a.vault_url));
  RETURN_IF_ERROR(g.StringList("endpoints", &a.endpoints));
  for (size_t i = 0; i < a.endpoints.size(); ++i) {
    std::string& url = a.endpoints[i];
    while (!url.empty() && url.back() == '/') url.pop_back();
    StatusOr<http::Endpoint> e = http::ParseEndpoint(url, false, "azure.endpoints[" + std::to_string(i) + "]");
    if (!e.ok()) return g.Error("endpoints", e.status().message(), "list https://host[:port] addresses, no paths");
  }

  if (!g.Has("key_name")) {
    return g.Error("key_name", "is required", "name the RSA key in the vault that wraps keys, e.g. \"keyring-locker\"");
  }
  RETURN_IF_ERROR(g.String("key_name", &a.key_name));
  if (!OnlyChars(a.key_name, "-", 127)) {
    return g.Error("key_name", "\"" + a.key_name + "\" is not a Key Vault key name",
                   "use 1-127 letters, digits and dashes, as the key is named in the vault");
  }
  RETURN_IF_ERROR(g.String("key_version", &a.key_version));
  if (g.Has("key_version") && !OnlyChars(a.key_version, "", 64)) {
    return g.Error("key_version", "\"" + a.key_version + "\" is not a key version",
                   "give the 32-character version from the key's kid, or leave it out to wrap with the latest version");
  }
  RETURN_IF_ERROR(g.String("algorithm", &a.algorithm));
  if (a.algorithm != "RSA-OAEP-256" && a.algorithm != "RSA-OAEP") {
    return g.Error("algorithm", "must be \"RSA-OAEP-256\" or \"RSA-OAEP\", got \"" + a.algorithm + "\"",
                   "leave it out (RSA-OAEP-256)");
  }

  std::string auth;
  if (!g.Has("auth")) {
    return g.Error("auth", "is required",
                   "choose \"managed_identity\" (an Azure VM or pod), \"client_secret\" or \"client_certificate\" "
                   "(a service principal)");
  }
  RETURN_IF_ERROR(g.String("auth", &auth));
  if (auth == "client_secret") {
    a.auth = azure::AuthMethod::kClientSecret;
  } else if (auth == "client_certificate") {
    a.auth = azure::AuthMethod::kClientCertificate;
  } else if (auth == "managed_identity") {
    a.auth = azure::AuthMethod::kManagedIdentity;
  } else {
    return g.Error("auth", "\"" + auth + "\" is not an Azure sign-in method",
                   "use \"managed_identity\", \"client_secret\" or \"client_certificate\"");
  }
  const bool principal = a.auth != azure::AuthMethod::kManagedIdentity;
  RETURN_IF_ERROR(g.String("tenant_id", &a.tenant_id));
  RETURN_IF_ERROR(g.String("client_id", &a.client_id));
  RETURN_IF_ERROR(AbsoluteFile(g, "secret_file", &a.secret_file));
  RETURN_IF_ERROR(AbsoluteFile(g, "certificate_file", &a.certificate_file));
  if (principal) {
    for (const char* key : {"tenant_id", "client_id"}) {
      if (!g.Has(key)) {
        return g.Error(key, "is required with azure.auth \"" + auth + "\"",
                       std::string("give the service principal's ") +
                           (std::string(key) == "tenant_id" ? "directory (tenant) id" : "application (client) id"));
      }
    }
    if (!OnlyChars(a.tenant_id, "-.", 100)) {
      return g.Error("tenant_id", "\"" + a.tenant_id + "\" is not a tenant id",
                     "give the directory id (a GUID) or the tenant's domain name");
    }
    const char* needed = a.auth == azure::AuthMethod::kClientSecret ? "secret_file" : "certificate_file";
    const char* other = a.auth == azure::AuthMethod::kClientSecret ? "certificate_file" : "secret_file";
    if (!g.Has(needed)) {
      return g.Error(needed, "is required with azure.auth \"" + auth + "\"",
                     a.auth == azure::AuthMethod::kClientSecret
                         ? "name a file (mode 0600) holding the client secret"
                         : "name a PEM file (mode 0600) holding the RSA private key and the certificate registered "
                           "on the application");
    }
    if (g.Has(other)) {
      return g.Error(other, "is set but azure.auth is \"" + auth + "\"",
                     std::string("remove it, or set azure.auth to \"") +
                         (a.auth == azure::AuthMethod::kClientSecret ? "client_certificate" : "client_secret") + "\"");
    }
    if (g.Has("imds_endpoint")) {
      return g.Error("imds_endpoint", "is set but azure.auth is \"" + auth + "\"",
                     "remove it (it is only for \"managed_identity\")");
    }
    RETURN_IF_ERROR(Url(g, "authority_host", false, &a.authority_host));
  } else {
    for (const char* key : {"tenant_id", "secret_file", "certificate_file", "authority_host"}) {
      if (g.Has(key)) {
        return g.Error(key, "is set but azure.auth is \"managed_identity\"",
                       "remove it (a managed identity signs in through the instance metadata service), or choose "
                       "\"client_secret\" / \"client_certificate\"");
      }
    }
    RETURN_IF_ERROR(Url(g, "imds_endpoint", true, &a.imds_endpoint));
  }
  if (g.Has("client_id") && !OnlyChars(a.client_id, "-", 100)) {
    return g.Error("client_id", "\"" + a.client_id + "\" is not a client id",
                   "give the application (client) id, a GUID");
  }

  RETURN_IF_ERROR(AbsoluteFile(g, "ca_file", &a.http.tls.ca_file));
  RETURN_IF_ERROR(g.Bool("verify", &a.http.tls.verify));
  if (!a.http.tls.verify) {
    config->warnings.push_back(
        "azure.verify is false: the certificates of Key Vault and of the sign-in service are NOT checked, so anyone "
        "on the network path can pose as them and receive tokens and every key. Set azure.verify to true");
  }
  // The config's one set of timeouts, retries and limits.
  a.http.connect_timeout = config->http.connect_timeout;
  a.http.total_timeout = config->http.total_timeout;
  a.http.max_retries = config->http.max_retries;
  a.http.backoff_initial = config->http.backoff_initial;
  a.http.backoff_max = config->http.backoff_max;
  a.http.max_response_bytes = config->http.max_response_bytes;
  return Status::Ok();
}

}  // namespace keyring_locker::config_internal
