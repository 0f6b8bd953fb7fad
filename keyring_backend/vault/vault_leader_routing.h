// Which node of a Vault/OpenBao HA cluster the plugin talks to.
//
// A standby forwards requests to the active node by default, so a client
// that reached any node is served, but it stays on that standby: one more
// hop per request, a leader it does not know, and an Active_endpoint status
// that names a standby. With several locker.urls (the nodes of one cluster)
// the client asks standbys not to forward (X-Vault-No-Request-Forwarding):
// they answer 307 with the active node's api_addr, which the HTTP client
// follows when it is one of locker.urls (http_client.h) and then keeps as
// its active endpoint, so the plugin talks to the leader and says so. With
// one URL (a load balancer, or a single node) forwarding stays on: a 307 to
// a node behind the balancer could not be followed.
#pragma once

#include "keyring_backend/http/http_client.h"

namespace keyring_locker {

constexpr const char* kVaultNoForwardingHeader = "X-Vault-No-Request-Forwarding";

// `http` with the no-forwarding header added when it lists several endpoints.
inline HttpOptions WithVaultLeaderRedirects(HttpOptions http) {
  if (http.endpoints.size() > 1) http.fixed_headers.emplace_back(kVaultNoForwardingHeader, "true");
  return http;
}

}  // namespace keyring_locker
