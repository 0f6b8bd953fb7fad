// For KmipTransport unit tests: test certificates made with OpenSSL's API
// (a CA, a second CA nobody trusts, server certificates for localhost /
// 127.0.0.1, an expired one, a client certificate), and an in-process TLS
// server on 127.0.0.1 that reads framed KMIP messages and misbehaves on
// request (hangs, never speaks TLS, announces huge answers, cuts answers
// short, closes, drops the connection in the middle of a request).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_certs.h"

namespace keyring_locker::testing {

// ---- Certificates ---------------------------------------------------------

// Everything the tests need, as files in `dir`.
struct TestPki {
  std::string dir;
  std::string ca, other_ca;                // trusted CA; a CA the client does not trust
  std::string server_cert, server_key;     // SAN localhost, 127.0.0.1; signed by ca
  std::string expired_cert;                // same key, expired yesterday
  std::string client_cert, client_key;     // clientAuth, signed by ca
  std::string expired_client_cert;         // same key, expired yesterday
  std::string encrypted_client_key;        // client_key under a passphrase

  bool Make(const std::string& directory) {
    dir = directory;
    PkeyPtr ca_key = NewKey(), other_key = NewKey(), srv_key = NewKey(), cli_key = NewKey();
    if (!ca_key || !other_key || !srv_key || !cli_key) return false;
    X509Ptr ca_cert = MakeCertificate(ca_key.get(), "kmip test CA", nullptr, nullptr, -3600, 86400L * 30,
                                      nullptr, nullptr);
    X509Ptr other_cert = MakeCertificate(other_key.get(), "untrusted CA", nullptr, nullptr, -3600,
                                         86400L * 30, nullptr, nullptr);
    if (!ca_cert || !other_cert) return false;
    X509Ptr srv = MakeCertificate(srv_key.get(), "kmip server", "serverAuth", "DNS:localhost,IP:127.0.0.1",
                                  -3600, 86400L * 30, ca_cert.get(), ca_key.get());
    X509Ptr expired = MakeCertificate(srv_key.get(), "kmip server", "serverAuth",
                                      "DNS:localhost,IP:127.0.0.1", -86400L * 3, -86400L, ca_cert.get(),
                                      ca_key.get());
    X509Ptr cli = MakeCertificate(cli_key.get(), "kmip client", "clientAuth", nullptr, -3600, 86400L * 30,
                                  ca_cert.get(), ca_key.get());
    X509Ptr expired_cli = MakeCertificate(cli_key.get(), "kmip client", "clientAuth", nullptr, -86400L * 3,
                                          -86400L, ca_cert.get(), ca_key.get());
    if (!srv || !expired || !cli || !expired_cli) return false;
    ca = dir + "/ca.pem";
    other_ca = dir + "/other-ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server-key.pem";
    expired_cert = dir + "/expired.pem";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client-key.pem";
    expired_client_cert = dir + "/client-expired.pem";
    encrypted_client_key = dir + "/client-key-encrypted.pem";
    return WriteCertPem(ca, ca_cert.get()) && WriteCertPem(other_ca, other_cert.get()) &&
           WriteCertPem(server_cert, srv.get()) && WriteKeyPem(server_key, srv_key.get()) &&
           WriteCertPem(expired_cert, expired.get()) && WriteCertPem(client_cert, cli.get()) &&
           WriteCertPem(expired_client_cert, expired_cli.get()) &&
           WriteKeyPem(client_key, cli_key.get()) &&
           WriteKeyPem(encrypted_client_key, cli_key.get(), "test passphrase");
  }
};

// ---- Server ---------------------------------------------------------------

enum class ServerBehavior {
  kEcho,                        // answers every message with itself
  kHang,                        // reads the request, never answers
  kSilent,                      // accepts TCP, never speaks TLS
  kOversized,                   // announces a 2 MiB answer, sends nothing more
  kTruncated,                   // announces 64 bytes, sends 16, closes
  kNotKmip,                     // answers "HTTP/1.1 400 ..." (not a KMIP header)
  kCloseAfterReply,             // answers one message, then closes (close_notify + FIN)
  kDropMidRequest,              // reads a request's header, then closes with the rest unread
  kEchoOnceThenDropMidRequest,  // kEcho for one message, then kDropMidRequest
};

struct TestServerOptions {
  std::string cert, key;
  std::string client_ca;  // non-empty: a client certificate from this CA is required
  int max_tls_version = 0;  // 0: OpenSSL's newest (TLS 1.3)
  // Connection k (in accept order) behaves as script[min(k, size - 1)].
  std::vector<ServerBehavior> script{ServerBehavior::kEcho};
};

class TlsTestServer {
 public:
  explicit TlsTestServer(TestServerOptions options) : options_(std::move(options)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    ok_ = ctx_ != nullptr && SSL_CTX_use_certificate_chain_file(ctx_, options_.cert.c_str()) == 1 &&
          SSL_CTX_use_PrivateKey_file(ctx_, options_.key.c_str(), SSL_FILETYPE_PEM) == 1;
    if (ok_ && options_.max_tls_version != 0) {
      ok_ = SSL_CTX_set_max_proto_version(ctx_, options_.max_tls_version) == 1;
    }
    if (ok_ && !options_.client_ca.empty()) {
      ok_ = SSL_CTX_load_verify_locations(ctx_, options_.client_ca.c_str(), nullptr) == 1;
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ok_ = ok_ && ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          ::listen(listen_fd_, 64) == 0 &&
          ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    port_ = ntohs(addr.sin_port);
    if (ok_) accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TlsTestServer() {
    Stop();
    SSL_CTX_free(ctx_);
  }
  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepts() const { return accepts_.load(); }
  int handshakes() const { return handshakes_.load(); }
  int requests() const { return requests_.load(); }
  std::string last_sni() {
    std::lock_guard<std::mutex> g(mu_);
    return last_sni_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_) return;
      stopping_ = true;
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // unblocks reads and writes
    }
    cv_.notify_all();
    if (accept_thread_.joinable()) accept_thread_.join();
    for (std::thread& t : connection_threads_) t.join();
    connection_threads_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  void AcceptLoop() {
    // Writes to a client that went away must not kill the test program;
    // threads started from here inherit the mask. The client under test
    // runs on other threads, where SIGPIPE stays deadly on purpose.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (;;) {
      {
        std::lock_guard<std::mutex> g(mu_);
        if (stopping_) return;
      }
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int index = accepts_++;
      const ServerBehavior b =
          options_.script[std::min(static_cast<size_t>(index), options_.script.size() - 1)];
      std::lock_guard<std::mutex> g(mu_);
      open_fds_.insert(fd);
      connection_threads_.emplace_back([this, fd, b] { Serve(fd, b); });
    }
  }

  void WaitForStop() {
    std::unique_lock<std::mutex> g(mu_);
    cv_.wait(g, [this] { return stopping_; });
  }

  static bool ReadAll(SSL* ssl, unsigned char* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      size_t r = 0;
      if (SSL_read_ex(ssl, out + got, n - got, &r) != 1) return false;
      got += r;
    }
    return true;
  }
  static bool WriteAll(SSL* ssl, const unsigned char* data, size_t n) {
    size_t w = 0;
    return n == 0 || (SSL_write_ex(ssl, data, n, &w) == 1 && w == n);
  }

  void CloseFd(int fd) {
    std::lock_guard<std::mutex> g(mu_);
    open_fds_.erase(fd);
    ::close(fd);
  }

  // Closes so the peer reads what was sent before (the alert of a refused
  // handshake) instead of a reset: send FIN, drain for a moment, close.
  void GracefulClose(int fd) {
    ::shutdown(fd, SHUT_WR);
    char sink[4096];
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (::recv(fd, sink, sizeof sink, 0) <= 0) break;
    }
    CloseFd(fd);
  }

  void Serve(int fd, ServerBehavior behavior) {
    if (behavior == ServerBehavior::kSilent) {
      WaitForStop();
      CloseFd(fd);
      return;
    }
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      GracefulClose(fd);
      return;
    }
    ++handshakes_;
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
      std::lock_guard<std::mutex> g(mu_);
      last_sni_ = sni;
    } else {
      std::lock_guard<std::mutex> g(mu_);
      last_sni_.clear();
    }
    bool graceful = true;
    for (int served = 0;; ++served) {
      unsigned char header[8];
      if (!ReadAll(ssl, header, sizeof header)) break;
      if (behavior == ServerBehavior::kDropMidRequest ||
          (behavior == ServerBehavior::kEchoOnceThenDropMidRequest && served == 1)) {
        graceful = false;  // close with the rest unread: the kernel answers with a reset
        break;
      }
      const size_t length = (size_t{header[4]} << 24) | (size_t{header[5]} << 16) |
                            (size_t{header[6]} << 8) | size_t{header[7]};
      std::vector<unsigned char> message(8 + length);
      std::copy(header, header + 8, message.begin());
      if (!ReadAll(ssl, message.data() + 8, length)) break;
      ++requests_;
      if (behavior == ServerBehavior::kHang) {
        WaitForStop();
        break;
      }
      if (behavior == ServerBehavior::kOversized) {
        const unsigned char big[8] = {0x42, 0x00, 0x7B, 0x01, 0x00, 0x20, 0x00, 0x00};
        WriteAll(ssl, big, sizeof big);
        WaitForStop();
        break;
      }
      if (behavior == ServerBehavior::kTruncated) {
        unsigned char part[24] = {0x42, 0x00, 0x7B, 0x01, 0x00, 0x00, 0x00, 0x40};
        WriteAll(ssl, part, sizeof part);
        break;
      }
      if (behavior == ServerBehavior::kNotKmip) {
        const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
        WriteAll(ssl, reinterpret_cast<const unsigned char*>(http), sizeof http - 1);
        continue;
      }
      if (!WriteAll(ssl, message.data(), message.size())) break;
      if (behavior == ServerBehavior::kCloseAfterReply) break;
    }
    ERR_clear_error();
    if (graceful) SSL_shutdown(ssl);
    SSL_free(ssl);
    if (graceful) {
      ::shutdown(fd, SHUT_WR);
    }
    CloseFd(fd);
  }

  TestServerOptions options_;
  SSL_CTX* ctx_ = nullptr;
  bool ok_ = false;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::vector<std::thread> connection_threads_;  // guarded by mu_ while the accept loop runs
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<int> open_fds_;
  std::string last_sni_;
  std::atomic<int> accepts_{0}, handshakes_{0}, requests_{0};
};

// A port on 127.0.0.1 where nobody listens: connecting is refused.
inline int RefusingPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace keyring_locker::testing
