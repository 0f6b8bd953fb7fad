// The checks and the TLS client context behind KmipTransport::Create: every
// option problem is found here, before any connection, with the option's
// name and the fix. Internal to keyring_backend/kmip.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/kmip/kmip_transport.h"

namespace keyring_locker::kmip::internal {

struct ServerAddress {
  std::string configured;  // as written in the options, for messages and stats
  std::string host;        // name or IP address, IPv6 without brackets
  std::string port;        // decimal
};

// "host:port", "host", "[ipv6]:port", "[ipv6]". `option` names it in errors.
StatusOr<ServerAddress> ParseServerAddress(const std::string& text, const std::string& option);
bool IsIpAddress(const std::string& host);

// Whom a connection must reach: the name or IP address checked in the
// server's certificate, and whether it goes out as SNI (names only).
struct PeerIdentity {
  std::string name;
  bool is_ip = false;
};
PeerIdentity PeerFor(const ServerAddress& server, const KmipTransportOptions& options);

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Checks the options (servers, timeouts, sizes) and fills `servers`.
Status CheckTransportOptions(const KmipTransportOptions& options, std::vector<ServerAddress>* servers);

// The client context: TLS version floor, verification mode and CA store,
// client certificate chain and key (read through safe_file, parsed from
// memory, wiped), plaintext cleansing.
StatusOr<SslCtxPtr> BuildClientTlsContext(const KmipTransportOptions& options);

std::string TransportWarning(const KmipTransportOptions& options);
std::string DescribeTransport(const KmipTransportOptions& options);

}  // namespace keyring_locker::kmip::internal
