// TLS material and the server SSL_CTX for the dev locker. Test/demo only: the
// keys are written unencrypted (mode 0600) so tests can hand them to clients.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace devlocker {

// Creates, when absent, DIR/ca.pem + ca-key.pem (self-signed CA),
// DIR/server.pem + server-key.pem (SAN IP:127.0.0.1, DNS:localhost) and
// DIR/client.pem + client-key.pem (CN keyring-locker-client). Existing files
// are reused so a restarted locker keeps the identity clients already trust.
bool EnsureTlsMaterial(const std::string& dir, std::string* error);

// Loads the server identity, asks for (but does not require) a client
// certificate verified against DIR/ca.pem, enforces TLS >= 1.2 and counts
// completed handshakes into *handshakes (so tests can observe connection reuse).
bool ConfigureServerContext(SSL_CTX& ctx, const std::string& dir,
                            std::atomic<uint64_t>* handshakes);

}  // namespace devlocker
