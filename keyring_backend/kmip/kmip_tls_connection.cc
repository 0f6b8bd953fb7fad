#include "keyring_backend/kmip/kmip_tls_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

namespace keyring_locker::kmip::internal {
namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// --- A socket BIO that writes with MSG_NOSIGNAL ---------------------------
// OpenSSL's socket BIO writes with write(2): a peer that reset the connection
// would raise SIGPIPE, and a database server must not depend on ignoring it.

TlsConnection::BioState* StateOf(BIO* b) { return static_cast<TlsConnection::BioState*>(BIO_get_data(b)); }

int BioWrite(BIO* b, const char* data, int size) {
  BIO_clear_retry_flags(b);
  ssize_t n;
  do {
    n = ::send(StateOf(b)->fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int BioRead(BIO* b, char* out, int size) {
  BIO_clear_retry_flags(b);
  ssize_t n;
  do {
    n = ::recv(StateOf(b)->fd, out, static_cast<size_t>(size), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
  if (n == 0) StateOf(b)->eof = true;
  return static_cast<int>(n);
}

long BioCtrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
    case BIO_CTRL_EOF: return StateOf(b)->eof ? 1 : 0;  // lets OpenSSL tell EOF from errors
    default: return 0;
  }
}

int BioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int BioDestroy(BIO*) { return 1; }  // the socket belongs to TlsConnection

// One method per connection, freed with it (after SSL_free has freed the
// BIO that uses it): a method made once and kept in a static would outlive
// an unloaded plugin as a leak, and freeing a shared one at unload could
// race a connection destroyed later.
BIO_METHOD* NewNoSigpipeSocketMethod() {
  // The type index once per load: OpenSSL hands out only 255 of them.
  static const int index = BIO_get_new_index();
  if (index == -1) return nullptr;
  BIO_METHOD* m = BIO_meth_new(index | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "keyring_locker socket");
  if (m == nullptr) return m;
  BIO_meth_set_write(m, BioWrite);
  BIO_meth_set_read(m, BioRead);
  BIO_meth_set_ctrl(m, BioCtrl);
  BIO_meth_set_create(m, BioCreate);
  BIO_meth_set_destroy(m, BioDestroy);
  return m;
}

// --- Waiting and error text -----------------------------------------------

std::string ConnectFailure(int err) {
  return "TCP connect failed (" + ErrnoText(err) +
         "); check that the KMIP server runs and listens on this address and port, and that no "
         "firewall is in the way";
}

// Returns OK when the socket is ready (or in error: the next I/O call says
// which), kDeadlineExceeded when `until` passed.
Status WaitForSocket(int fd, short events, TlsConnection::Clock::time_point until, const char* doing) {
  for (;;) {
    const auto left = until - TlsConnection::Clock::now();
    if (left <= TlsConnection::Clock::duration::zero()) {
      return DeadlineExceeded(std::string("timed out ") + doing);
    }
    // Round up: poll(0 ms) would spin for the last fraction of a millisecond.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms > INT_MAX ? INT_MAX : static_cast<int>(ms));
    if (r > 0) return Status::Ok();
    if (r < 0 && errno != EINTR) {
      return Unavailable(std::string("poll() failed ") + doing + " (" + ErrnoText(errno) + ")");
    }
  }
}

// The first entry of OpenSSL's error queue (the queue is cleared).
std::string OpenSslReason(unsigned long* code) {
  const unsigned long e = ERR_peek_error();
  if (code != nullptr) *code = e;
  std::string reason = "unknown TLS error";
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    reason = r != nullptr ? r : "OpenSSL error " + std::to_string(ERR_GET_REASON(e));
  }
  ERR_clear_error();
  return reason;
}

// Alerts a server sends when it does not accept the client's certificate.
bool IsCertificateRefusal(unsigned long e) {
  if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(e)) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return true;
    default:
      return false;
  }
}

std::string CertificateRefusalFix(const std::string& p) {
  return "the server refused this client's certificate: set " + p + "cert_file and " + p +
         "key_file to a client certificate (extended key usage clientAuth) issued by a CA the "
         "KMIP server trusts, and check it is neither expired nor revoked";
}

// Why the server's certificate failed verification, and what to change.
std::string VerifyFailure(long result, const PeerIdentity& peer, const std::string& p) {
  std::string s = std::string("certificate verify failed: ") + X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return s + " (the server's certificate does not name " + (peer.is_ip ? "IP address '" : "host '") +
             peer.name + "'); set " + p + "server_name to a name in the certificate's " +
             "subjectAltName, or reissue the certificate with '" + peer.name + "' in it";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return s + " (unknown CA: the server's certificate was not issued by a CA in " + p +
             "ca_file); put the CA that signed the KMIP server's certificate into " + p + "ca_file";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return s + "; renew the KMIP server's certificate, or fix this host's clock if it is wrong";
    default:
      return s + "; check the KMIP server's certificate chain against " + p + "ca_file";
  }
}

std::string HandshakeReasonFix(unsigned long code, const std::string& p) {
  if (IsCertificateRefusal(code)) return CertificateRefusalFix(p);
  if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(code)) {
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
        return "the peer does not speak TLS on this port; check the port (KMIP over TLS is 5696)";
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "the server and this client share no TLS version (" + p +
               "min_tls_version; TLS 1.2 is the least accepted here)";
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return "the server closed the connection during the handshake; check its log (a client "
               "certificate it does not accept, or a connection limit)";
      default:
        break;
    }
  }
  return "check the KMIP server's TLS settings and log";
}

}  // namespace

StatusOr<std::unique_ptr<TlsConnection>> TlsConnection::Open(SSL_CTX* ctx, const ResolvedAddress& address,
                                                             const PeerIdentity& peer,
                                                             const std::string& option_prefix,
                                                             Clock::time_point until) {
  std::unique_ptr<TlsConnection> c(new TlsConnection());
  c->address_text_ = address.text;
  c->fd_ = UniqueFd(::socket(address.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (c->fd_.get() < 0) return Unavailable("socket() failed (" + ErrnoText(errno) + ")");
  const int fd = c->fd_.get();
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address.addr), address.len) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return Unavailable(ConnectFailure(errno));
    RETURN_IF_ERROR(WaitForSocket(fd, POLLOUT, until, "connecting (TCP)"));
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Unavailable(ConnectFailure(err));
  }
  // Requests and answers are single small writes: never hold them back.
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);

  c->bio_state_.fd = fd;
  ERR_clear_error();
  c->ssl_ = SSL_new(ctx);
  c->bio_method_ = NewNoSigpipeSocketMethod();
  BIO* bio = c->bio_method_ != nullptr ? BIO_new(c->bio_method_) : nullptr;
  if (c->ssl_ == nullptr || bio == nullptr) {
    BIO_free(bio);
    return Unavailable("out of memory for a TLS connection (" + OpenSslReason(nullptr) + ")");
  }
  BIO_set_data(bio, &c->bio_state_);
  SSL_set_bio(c->ssl_, bio, bio);  // one reference, owned by ssl_ from here
  RETURN_IF_ERROR(c->Handshake(peer, option_prefix, until));
  return c;
}

Status TlsConnection::Handshake(const PeerIdentity& peer, const std::string& p, Clock::time_point until) {
  if (!peer.name.empty()) {
    const bool named =
        peer.is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), peer.name.c_str()) == 1
                   : SSL_set1_host(ssl_, peer.name.c_str()) == 1 &&
                         SSL_set_tlsext_host_name(ssl_, peer.name.c_str()) == 1;
    if (!named) {
      return Unavailable("cannot set '" + peer.name + "' as the name to verify (" +
                         OpenSslReason(nullptr) + "); check " + p + "server_name");
    }
  }
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_connect(ssl_);
    if (r == 1) break;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(WaitForSsl(e, until, "in the TLS handshake"));
      continue;
    }
    broken_ = true;
    const int saved_errno = errno;
    const long verify = SSL_get_verify_result(ssl_);
    if (SSL_get_verify_mode(ssl_) != SSL_VERIFY_NONE && verify != X509_V_OK) {
      ERR_clear_error();
      return Unavailable("TLS handshake failed: " + VerifyFailure(verify, peer, p));
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return Unavailable(std::string("TLS handshake failed: ") +
                         (saved_errno != 0 ? ErrnoText(saved_errno)
                                           : "the server closed the connection") +
                         "; " + HandshakeReasonFix(0, p));
    }
    unsigned long code = 0;
    const std::string reason = OpenSslReason(&code);
    return Unavailable("TLS handshake failed: " + reason + "; " + HandshakeReasonFix(code, p));
  }
  handshake_done_ = true;
  return Status::Ok();
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) {
    // One non-blocking close_notify, as a courtesy; never after a fatal error.
    if (handshake_done_ && !broken_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    SSL_free(ssl_);
    ERR_clear_error();
  }
  BIO_meth_free(bio_method_);  // after the BIO that used it
}

Status TlsConnection::WaitForSsl(int ssl_error, Clock::time_point until, const char* doing) {
  const short events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
  Status s = WaitForSocket(fd_.get(), events, until, doing);
  if (!s.ok()) broken_ = true;
  return s;
}

Status TlsConnection::IoFailure(int ret, int ssl_error, const char* doing) {
  broken_ = true;
  const int saved_errno = errno;
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    broken_ = false;  // an orderly close: our close_notify answers it
    ERR_clear_error();
    return Unavailable(std::string("the server closed the connection (TLS close_notify) ") + doing);
  }
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return Unavailable(std::string("the connection broke ") + doing + " (" +
                       (saved_errno != 0 ? ErrnoText(saved_errno) : "closed without TLS close_notify") +
                       ")");
  }
  unsigned long code = 0;
  const std::string reason = OpenSslReason(&code);
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return Unavailable(std::string("the server closed the connection ") + doing +
                       " (without TLS close_notify)");
  }
  if (IsCertificateRefusal(code)) {
    peer_refused_handshake_ = true;
    return Unavailable("TLS handshake refused by the server: " + reason);
  }
  (void)ret;
  return Unavailable(std::string("TLS error ") + doing + ": " + reason);
}

Status TlsConnection::WriteAll(const uint8_t* data, size_t size, Clock::time_point until) {
  size_t done = 0;
  while (done < size) {
    ERR_clear_error();
    errno = 0;
    size_t written = 0;
    // Partial writes are off (OpenSSL's default): 1 means everything asked
    // for went out; a retry after WANT_* repeats the same arguments.
    const int r = SSL_write_ex(ssl_, data + done, size - done, &written);
    if (r == 1) {
      done += written;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(WaitForSsl(e, until, "sending the request"));
      continue;
    }
    return IoFailure(r, e, "while the request was being sent");
  }
  return Status::Ok();
}

Status TlsConnection::ReadExactly(uint8_t* out, size_t size, Clock::time_point until, size_t* received) {
  size_t got = 0;
  *received = 0;
  peer_refused_handshake_ = false;
  while (got < size) {
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, out + got, size - got, &n);
    if (r == 1) {
      got += n;
      *received = got;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      RETURN_IF_ERROR(WaitForSsl(e, until, "waiting for the response"));
      continue;
    }
    return IoFailure(r, e, "before the whole response arrived");
  }
  return Status::Ok();
}

bool TlsConnection::Usable() {
  if (broken_ || !handshake_done_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  const int r = ::poll(&p, 1, 0);
  if (r == 0) return true;
  if (r < 0) return errno == EINTR;
  if ((p.revents & (POLLERR | POLLNVAL)) != 0) {
    broken_ = true;
    return false;
  }
  // Readable: a session ticket, a close_notify, an EOF, or stray bytes.
  unsigned char byte = 0;
  size_t n = 0;
  ERR_clear_error();
  const int ret = SSL_peek_ex(ssl_, &byte, 1, &n);
  if (ret == 1) return false;  // data nobody asked for: the stream is out of step
  const int e = SSL_get_error(ssl_, ret);
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  if (e != SSL_ERROR_ZERO_RETURN) broken_ = true;
  return false;
}

}  // namespace keyring_locker::kmip::internal
