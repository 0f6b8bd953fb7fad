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

namespace keyring_locker::fault_matrix {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

inline bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// `issuer`/`issuer_key` null: self-signed CA. Validity is [now+from_s, now+to_s].
inline X509Ptr IssueCert(EVP_PKEY* key, const char* cn, const char* san, long from_s, long to_s,
                         X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(std::rand()) + 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_s) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_s) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1,
                                       -1, 0) == 1;
  X509* iss = issuer != nullptr ? issuer : cert.get();
  ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(iss)) == 1 &&
       AddExt(cert.get(), iss, NID_subject_key_identifier, "hash") &&
       AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (issuer == nullptr) {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth") &&
         AddExt(cert.get(), iss, NID_subject_alt_name, san);
  }
  ok = ok && X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

inline bool WritePem(const std::string& path, EVP_PKEY* key, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = key != nullptr ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1
                                 : PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  if (key != nullptr) ::chmod(path.c_str(), 0600);
  return ok;
}

// Writes ca.pem/ca-key.pem and server.pem/server-key.pem into `dir` (which
// must exist); the dev locker then only adds its client pair.
inline bool MakeTlsDir(const std::string& dir, const char* server_san, long not_before_s, long not_after_s) {
  PkeyPtr ca_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  PkeyPtr srv_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!ca_key || !srv_key) return false;
  X509Ptr ca = IssueCert(ca_key.get(), "fault-matrix CA", nullptr, -7200, 3600L * 24 * 365, nullptr, nullptr);
  if (!ca) return false;
  X509Ptr srv = IssueCert(srv_key.get(), "server", server_san, not_before_s, not_after_s, ca.get(), ca_key.get());
  return srv && WritePem(dir + "/ca.pem", nullptr, ca.get()) && WritePem(dir + "/ca-key.pem", ca_key.get(), nullptr) &&
         WritePem(dir + "/server.pem", nullptr, srv.get()) &&
         WritePem(dir + "/server-key.pem", srv_key.get(), nullptr);
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
