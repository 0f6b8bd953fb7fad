// Helpers for fault_matrix_test.cc that the dev-locker fixture does not
// offer: TLS material with deliberately bad server certificates, a dev
// locker started without the fixture's verified health check (it would
// refuse exactly those certificates), a port that accepts TCP and never
// speaks, and an HttpClient decorator that rewrites chosen replies.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "keyring_backend/http/http_client.h"
#include "tests/support/test_certs.h"

namespace keyring_locker::fault_matrix {

using testing::MakeCertificate;
using testing::NewKey;
using testing::PkeyPtr;
using testing::WriteCertPem;
using testing::WriteKeyPem;
using testing::X509Ptr;

// Writes ca.pem/ca-key.pem and server.pem/server-key.pem into `dir` (which
// must exist); the dev locker then only adds its client pair.
inline bool MakeTlsDir(const std::string& dir, const char* server_san, long not_before_s, long not_after_s) {
  PkeyPtr ca_key = NewKey(), srv_key = NewKey();
  if (!ca_key || !srv_key) return false;
  X509Ptr ca = MakeCertificate(ca_key.get(), "fault-matrix CA", nullptr, nullptr, -7200, 3600L * 24 * 365,
                               nullptr, nullptr);
  if (!ca) return false;
  X509Ptr srv = MakeCertificate(srv_key.get(), "server", "serverAuth", server_san, not_before_s, not_after_s,
                                ca.get(), ca_key.get());
  return srv && WriteCertPem(dir + "/ca.pem", ca.get()) && WriteKeyPem(dir + "/ca-key.pem", ca_key.get()) &&
         WriteCertPem(dir + "/server.pem", srv.get()) && WriteKeyPem(dir + "/server-key.pem", srv_key.get());
}

// A dev locker on its own TLS dir, started without any TLS check of ours.
class RawDevLocker {
 public:
  RawDevLocker(const std::string& tls_dir, const std::string& root_token) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    std::string args[] = {KLK_DEVLOCKER_BIN, "--listen", "127.0.0.1:0", "--tls-dir", tls_dir, "--root-token",
                          root_token};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(),
                    args[4].data(), args[5].data(), args[6].data(), nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c;
      if (::read(out[0], &c, 1) != 1 || c == '\n') break;
      line += c;
    }
    ::close(out[0]);
    const std::string prefix = "devlocker listening on https://127.0.0.1:";
    if (line.compare(0, prefix.size(), prefix) == 0) port_ = std::stoi(line.substr(prefix.size()));
  }
  ~RawDevLocker() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  RawDevLocker(const RawDevLocker&) = delete;
  RawDevLocker& operator=(const RawDevLocker&) = delete;
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A listening socket nobody accept()s: the kernel completes the TCP
// handshake, then nothing is ever said (a wedged process, a black hole).
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port that was free a moment ago: connecting to it is refused.
inline int UnusedPort() {
  SilentListener l;
  return l.port();  // closed again when `l` goes
}

// Passes requests to a real client and lets the test rewrite replies whose
// path contains `path_part`: what a compromised or buggy locker could send.
class TamperingHttpClient : public HttpClient {
 public:
  using Rewrite = std::function<void(HttpResponse*)>;
  TamperingHttpClient(HttpClient* inner, std::string path_part, Rewrite rewrite)
      : inner_(inner), path_part_(std::move(path_part)), rewrite_(std::move(rewrite)) {}
  StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    auto r = inner_->Send(request);
    if (r.ok() && request.path.find(path_part_) != std::string::npos) rewrite_(&*r);
    return r;
  }
  HttpStats stats() const override { return inner_->stats(); }
  const HttpOptions& options() const override { return inner_->options(); }

 private:
  HttpClient* inner_;
  std::string path_part_;
  Rewrite rewrite_;
};

}  // namespace keyring_locker::fault_matrix
