// KmipTransport: carries whole KMIP messages (TTLV) to a KMIP server over
// verified TLS and brings back whole responses. It knows the frame, never
// the content: the codec and the operations live above it.
//
// What it guarantees
// - One persistent TLS connection, reused across calls (no handshake per
//   call). Callers take turns on it: a keyring talks to its locker on cache
//   misses and rotations only, so one connection keeps the server's
//   connection count and handshake cost at one per database host, and a
//   server's per-client connection limit is never hit. A caller waiting for
//   its turn gives up at its own OperationDeadline.
// - Every call ends by the thread's OperationDeadline::Current() (when one
//   is open) and by the configured timeouts: sockets are non-blocking and
//   every wait is a poll() with the remaining time, name lookups included
//   (getaddrinfo_a, abandoned at the deadline). A server that accepts and
//   never answers costs at most the budget, then kDeadlineExceeded.
// - TLS 1.2 or newer, the server's certificate checked against ca_file (or
//   the system store) and against the host name or IP address (server_name
//   when set); SNI is sent for names. Client certificate for mutual TLS.
//   verify_peer = false is possible only as the user's explicit choice, and
//   warning() then says so for the caller to log.
// - Servers are tried in order when a connection has to be made, starting
//   with the one that last worked; a server that cannot be connected to is
//   skipped for the next (failover). A request is never sent to two servers.
// - Delivery: on failure RoundTrip says whether the request may have reached
//   the server (Delivery::kMaybeDelivered) or certainly did not
//   (kNotSent). Re-sending a Create or Register is only safe after kNotSent.
//   A connection the server closed while idle is found before sending and
//   replaced without the caller seeing it; one that fails after the whole
//   request was written is reported as kMaybeDelivered, never re-sent.
// - A response whose header announces more than max_message_bytes is
//   refused before its body is read (kResourceExhausted), and the connection
//   is dropped. A response cut short is kUnavailable.
// - Key bytes: the client key file is read once, through safe_file's rules
//   (regular file, no group/other access), parsed from memory and wiped;
//   request and response bytes live in SecureBuffers and OpenSSL is told to
//   cleanse its plaintext buffers (SSL_OP_CLEANSE_PLAINTEXT). Error messages
//   carry server names, option names and OpenSSL reasons, never message or
//   key bytes. Writes use MSG_NOSIGNAL: a dropped connection never raises
//   SIGPIPE in the server process.
//
// Errors: options -> kInvalidArgument / kPermissionDenied at Create, naming
// the option and the fix. Connecting, TLS handshakes, timeouts and dropped
// connections -> kUnavailable naming the server, the OpenSSL reason
// ("unable to get local issuer certificate", "hostname mismatch",
// "certificate has expired", "tlsv13 alert certificate required") and the
// fix. The call's deadline -> kDeadlineExceeded. A malformed response frame
// -> kDataLoss. A request that is not one framed message -> kInvalidArgument.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::kmip {

// The standard KMIP port (IANA), used when a server address has none.
constexpr int kDefaultKmipPort = 5696;
// Every KMIP message starts with tag (3 bytes), type (1 byte, 0x01 =
// structure) and the big-endian length of the value (4 bytes).
constexpr size_t kKmipHeaderBytes = 8;

struct KmipTransportOptions {
  // "host:port", "host" (port 5696), "[ipv6]:port". Tried in order.
  std::vector<std::string> servers;
  std::string ca_file;    // PEM CA bundle that signed the servers' certificates; empty: system store
  std::string cert_file;  // client certificate (PEM, chain allowed), for mutual TLS
  std::string key_file;   // its private key (PEM, unencrypted, mode 0600); both or neither
  // The name (or IP address) to verify in the servers' certificates and to
  // send as SNI, when it differs from the addresses in `servers` (servers
  // listed by IP address, certificates issued for a DNS name).
  std::string server_name;
  bool verify_peer = true;  // false: the user's explicit choice; see warning()
  std::string min_tls_version = "1.2";  // "1.2" or "1.3"
  std::chrono::milliseconds connect_timeout{3000};  // TCP connect + TLS handshake, per server
  std::chrono::milliseconds io_timeout{10000};      // writing one request + reading its response
  size_t max_message_bytes = 1024 * 1024;           // largest accepted response, header included
  // A connection unused for this long is replaced before the next request:
  // firewalls and load balancers drop idle connections without telling
  // either end, and a request sent into such a connection would only fail
  // after io_timeout, as kMaybeDelivered. 0 keeps connections forever.
  std::chrono::milliseconds idle_reconnect{60000};
  // How errors name the options: prefix + field name ("kmip.ca_file").
  std::string option_prefix = "kmip.";
};

// What the caller may assume about a request RoundTrip did not answer.
enum class Delivery {
  kNotSent,         // the server cannot have received the whole request: re-sending is safe
  kMaybeDelivered,  // the whole request was written: the server may have acted on it
};

// Counters for status variables.
struct KmipTransportStats {
  uint64_t requests = 0;    // RoundTrip calls
  uint64_t connects = 0;    // TLS connections established
  uint64_t reconnects = 0;  // connections replaced: closed by the server, idle, or broken
  uint64_t failovers = 0;   // connections made to another server than the preferred one
  uint64_t errors = 0;      // RoundTrip calls that failed
  std::string active_server;  // the server of the current/last connection, as configured
};

class KmipTransport {
 public:
  // Checks the options and loads the TLS material (no connection yet):
  // servers parse, files are readable regular files, the CA bundle holds
  // certificates, the key is unencrypted and matches the certificate.
  static StatusOr<std::unique_ptr<KmipTransport>> Create(const KmipTransportOptions& options);
  virtual ~KmipTransport() = default;

  // Sends `request` (exactly one framed KMIP message) and returns the one
  // whole response message. Thread-safe. `delivery` (may be null) is set on
  // every return; on success it is kMaybeDelivered.
  virtual StatusOr<crypto::SecureBuffer> RoundTrip(const crypto::SecureBuffer& request,
                                                   Delivery* delivery) = 0;

  virtual KmipTransportStats stats() const = 0;
  // Non-empty when the options are dangerous (verify_peer off): the caller
  // logs it as a warning at startup.
  virtual const std::string& warning() const = 0;
  // One line for the server log: servers, TLS settings, timeouts; no secrets.
  virtual std::string Describe() const = 0;
};

}  // namespace keyring_locker::kmip
