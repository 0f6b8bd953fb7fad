// The "azure" group: Azure Key Vault as the key wrapper (docs/configuration.md,
// "Azure Key Vault"). Filled by config/config_azure.cc.
#pragma once

#include <string>
#include <vector>

#include "keyring_backend/http/http_client.h"

namespace keyring_locker::azure {

enum class AuthMethod {
  kClientSecret,       // service principal, secret read from secret_file
  kClientCertificate,  // service principal, RSA key + certificate in certificate_file (PEM)
  kManagedIdentity,    // the VM's / pod's identity, from IMDS
};

struct AzureOptions {
  std::string vault_url;               // "https://NAME.vault.azure.net", no trailing '/'
  std::vector<std::string> endpoints;  // where to reach the vault, in order; empty = vault_url
  std::string key_name;                // the RSA key that wraps
  std::string key_version;             // wrap with this version only; empty = the latest version
  std::string algorithm = "RSA-OAEP-256";  // or "RSA-OAEP"; unwrap uses what each record names

  AuthMethod auth = AuthMethod::kManagedIdentity;
  std::string tenant_id;         // service principal: the directory (tenant) id
  std::string client_id;         // application id; managed identity: a user-assigned identity (optional)
  std::string secret_file;       // client_secret
  std::string certificate_file;  // client_certificate
  std::string authority_host = "https://login.microsoftonline.com";
  std::string imds_endpoint = "http://169.254.169.254";

  // Timeouts, retries, limits (the config's one set) and TLS (ca_file,
  // verify) for the vault and the login endpoint; endpoints are set per use.
  HttpOptions http;
};

}  // namespace keyring_locker::azure
