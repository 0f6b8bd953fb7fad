// One client TLS connection on a non-blocking socket: TCP connect, TLS
// handshake, writing and reading, each ending by a deadline (every wait is
// a poll() with the time left). Writes use send(MSG_NOSIGNAL) through a
// small BIO of ours, so a peer that went away is an error, not a SIGPIPE in
// the database server. Internal to keyring_backend/kmip.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/safe_file.h"
#include "common/status.h"
#include "keyring_backend/kmip/kmip_resolver.h"
#include "keyring_backend/kmip/kmip_tls_setup.h"

namespace keyring_locker::kmip::internal {

// Statuses returned below: kDeadlineExceeded when `until` passed (the
// message says during what), kUnavailable when the peer closed the
// connection or an I/O or TLS error happened (the message is the reason and,
// for handshakes, the fix). They never name the server: the caller does.
class TlsConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to `address` and completes the TLS handshake, verifying the
  // peer as `ctx` and `peer` say. `option_prefix` names options in fixes.
  static StatusOr<std::unique_ptr<TlsConnection>> Open(SSL_CTX* ctx, const ResolvedAddress& address,
                                                       const PeerIdentity& peer,
                                                       const std::string& option_prefix,
                                                       Clock::time_point until);
  ~TlsConnection();  // sends close_notify if the connection is healthy (never waits), closes
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // All `size` bytes or an error. Until it returns OK, the peer cannot have
  // the whole of them.
  Status WriteAll(const uint8_t* data, size_t size, Clock::time_point until);
  // Exactly `size` bytes or an error; `*received` counts what arrived.
  Status ReadExactly(uint8_t* out, size_t size, Clock::time_point until, size_t* received);

  // Without waiting: false when the peer closed the connection, it broke,
  // or bytes arrived that nobody asked for (the stream is out of step).
  // TLS 1.3 session tickets that arrived since are consumed here.
  bool Usable();

  // The last failed read was the server's TLS alert refusing our
  // certificate. With TLS 1.3 the client's handshake ends before the server
  // has checked the client certificate, so this arrives at the first read;
  // the server never processed application data it sent after it.
  bool peer_refused_handshake() const { return peer_refused_handshake_; }

  // What the socket is connected to ("127.0.0.1"), for messages.
  const std::string& address_text() const { return address_text_; }

  // Read by our BIO; one per connection, never moved.
  struct BioState {
    int fd = -1;
    bool eof = false;
  };

 private:
  TlsConnection() = default;
  Status Handshake(const PeerIdentity& peer, const std::string& option_prefix, Clock::time_point until);
  // After SSL_get_error said WANT_READ / WANT_WRITE: waits for the socket.
  Status WaitForSsl(int ssl_error, Clock::time_point until, const char* doing);
  Status IoFailure(int ret, int ssl_error, const char* doing);

  UniqueFd fd_;
  BioState bio_state_;
  SSL* ssl_ = nullptr;
  BIO_METHOD* bio_method_ = nullptr;  // this connection's socket BIO method
  std::string address_text_;
  bool handshake_done_ = false;
  bool broken_ = false;  // a fatal error: no close_notify, never reused
  bool peer_refused_handshake_ = false;
};

}  // namespace keyring_locker::kmip::internal
