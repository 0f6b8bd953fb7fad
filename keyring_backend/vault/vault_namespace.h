// The Vault Enterprise / OpenBao namespace travels as a header on every
// request (X-Vault-Namespace). The HTTP client knows no locker: the Vault
// code puts the header into the client's fixed headers and reads it back
// when it names the namespace in a message.
#pragma once

#include <string>

#include "keyring_backend/http/http_client.h"

namespace keyring_locker {

constexpr const char* kVaultNamespaceHeader = "X-Vault-Namespace";

// `http` with the namespace header added (nothing added for "").
inline HttpOptions WithVaultNamespace(HttpOptions http, const std::string& ns) {
  if (!ns.empty()) http.fixed_headers.emplace_back(kVaultNamespaceHeader, ns);
  return http;
}

// The namespace the client sends with every request; "" = none.
inline std::string VaultNamespaceOf(const HttpOptions& http) {
  for (const auto& [name, value] : http.fixed_headers) {
    if (name == kVaultNamespaceHeader) return value;
  }
  return "";
}

}  // namespace keyring_locker
