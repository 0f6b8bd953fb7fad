// check: certificates and the clock. The locker's certificate is read over
// a TLS connection of its own (it verifies nothing, so an expired
// certificate is still seen and named; it sends no token and no client
// certificate), which also asks sys/health for the locker's HTTP Date
// header: the clock skew. Client certificates are read from their files.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <regex>

#include "tools/check_report.h"

namespace keyring_locker {
namespace {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct HostPort {
  std::string host;
  std::string port;
};

// "https://host:8200/x" or "host:5696" -> host, port ([v6] brackets dropped).
std::optional<HostPort> SplitEndpoint(std::string url, const std::string& default_port) {
  const size_t scheme = url.find("://");
  if (scheme != std::string::npos) url = url.substr(scheme + 3);
  url = url.substr(0, url.find('/'));
  HostPort hp;
  if (!url.empty() && url[0] == '[') {
    const size_t close = url.find(']');
    if (close == std::string::npos) return std::nullopt;
    hp.host = url.substr(1, close - 1);
    hp.port = close + 2 <= url.size() && url[close + 1] == ':' ? url.substr(close + 2) : default_port;
  } else {
    const size_t colon = url.rfind(':');
    hp.host = colon == std::string::npos ? url : url.substr(0, colon);
    hp.port = colon == std::string::npos ? default_port : url.substr(colon + 1);
  }
  if (hp.host.empty() || hp.port.empty()) return std::nullopt;
  return hp;
}

// TCP connect within `timeout`; then reads and writes time out the same way.
int ConnectWithin(const HostPort& hp, std::chrono::milliseconds timeout, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0) {
    *error = "cannot resolve " + hp.host + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(res, ::freeaddrinfo);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int soerr = 0;
      socklen_t len = sizeof soerr;
      rc = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                   ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0
               ? 0
               : -1;
    }
    if (rc == 0) {
      const int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return fd;
    }
    ::close(fd);
  }
  *error = "cannot connect to " + hp.host + ":" + hp.port + " within " + std::to_string(timeout.count()) + " ms";
  return -1;
}

struct Probe {
  X509Ptr cert;
  std::optional<std::time_t> server_time;  // from the Date header, else sys/health's server_time_utc
  std::string time_source;
};

std::optional<std::time_t> ParseHttpDate(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  return ::timegm(&tm);
}

// One TLS connection: the peer's certificate, and with `http_path` one GET
// whose Date header (or JSON server_time_utc) gives the locker's clock.
StatusOr<Probe> ProbeEndpoint(const HostPort& hp, const std::string& server_name, const std::string& http_path,
                              std::chrono::milliseconds timeout) {
  std::string error;
  Fd sock{ConnectWithin(hp, timeout, &error)};
  if (sock.fd < 0) return Unavailable(error);
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Internal("OpenSSL: cannot make a TLS context");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // reading the certificate, not trusting it
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), sock.fd);
  in6_addr ip;
  const std::string sni = server_name.empty() ? hp.host : server_name;
  if (::inet_pton(AF_INET, sni.c_str(), &ip) != 1 && ::inet_pton(AF_INET6, sni.c_str(), &ip) != 1) {
    SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  }
  if (SSL_connect(ssl.get()) != 1) {
    ERR_clear_error();
    return Unavailable("TLS handshake with " + hp.host + ":" + hp.port + " failed");
  }
  Probe probe;
  probe.cert.reset(SSL_get1_peer_certificate(ssl.get()));
  if (!http_path.empty()) {
    const std::string req = "GET " + http_path + " HTTP/1.1\r\nHost: " + hp.host + ":" + hp.port +
                            "\r\nConnection: close\r\nUser-Agent: keyring-locker-check\r\n\r\n";
    const auto before = std::time(nullptr);
    std::string reply;
    if (SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())) > 0) {
      char buf[4096];
      for (int i = 0; i < 16 && reply.size() < 64 * 1024; ++i) {  // bounded: 64 KiB, 16 reads
        const int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
      }
    }
    ERR_clear_error();
    const auto after = std::time(nullptr);
    std::smatch m;
    static const std::regex date_re(R"(\r\n[Dd]ate:\s*([^\r\n]+)\r\n)");
    static const std::regex health_re(R"("server_time_utc"\s*:\s*([0-9]+))");
    if (std::regex_search(reply, m, date_re) && ParseHttpDate(m[1].str())) {
      probe.server_time = ParseHttpDate(m[1].str());
      probe.time_source = "the HTTP Date header";
    } else if (std::regex_search(reply, m, health_re)) {
      probe.server_time = static_cast<std::time_t>(std::stoll(m[1].str()));
      probe.time_source = "sys/health's server_time_utc";
    }
    // Whole seconds either way; the request's own time is not skew.
    if (probe.server_time && after - before > 1) probe.server_time = *probe.server_time - (after - before) / 2;
  }
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  return probe;
}

std::string Subject(X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

std::string Asn1Text(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Expired or not yet valid: FAIL; fewer than kCertWarnDays left: WARN.
void JudgeCertificate(const std::string& check, const std::string& what, X509* cert, const std::string& renew,
                      CheckReport& report) {
  int days = 0, secs = 0;
  const std::string subject = Subject(cert);
  const std::string until = Asn1Text(X509_get0_notAfter(cert));
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(cert)) == 1 && (days > 0 || secs > 0)) {
    report.Fail(check, what + " " + subject + " is not valid before " + Asn1Text(X509_get0_notBefore(cert)) +
                           " (or this host's clock is behind)",
                "check this host's clock (NTP), or " + renew);
    return;
  }
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) {
    report.Fail(check, what + " " + subject + ": its expiry date cannot be read", renew);
    return;
  }
  if (days < 0 || secs < 0 || (days == 0 && secs == 0)) {
    report.Fail(check, what + " " + subject + " EXPIRED on " + until + "; connections fail", renew);
  } else if (days < kCertWarnDays) {
    report.Warn(check, what + " " + subject + " expires in " + std::to_string(days) + " days (" + until + ")", renew);
  } else {
    report.Pass(check, what + " " + subject + " valid until " + until + " (" + std::to_string(days) + " days)");
  }
}

void CheckClientCertFile(const std::string& check, const std::string& setting, const std::string& path,
                         CheckReport& report) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    report.Fail(check, setting + " " + path + " cannot be read", "fix " + setting + " or the file's mode");
    return;
  }
  X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  ERR_clear_error();
  if (!cert) {
    report.Fail(check, setting + " " + path + " holds no PEM certificate", "point " + setting + " at the PEM certificate");
    return;
  }
  JudgeCertificate(check, "client certificate (" + setting + ")", cert.get(),
                   "issue a new client certificate, install it at " + path + " and restart the server (the "
                   "plugin reads it at start)",
                   report);
}

void CheckSkew(const std::string& endpoint, const Probe& probe, CheckReport& report) {
  if (!probe.server_time) {
    report.Info("clock.skew", endpoint + " sent no Date header nor server_time_utc: skew not measured");
    return;
  }
  const long skew = static_cast<long>(*probe.server_time - std::time(nullptr));
  const std::string detail = "this host's clock is " + std::to_string(skew < 0 ? -skew : skew) + " s " +
                             (skew > 0 ? "behind" : "ahead of") + " the locker's at " + endpoint + " (" +
                             probe.time_source + ")";
  const std::string why = "; skew makes tokens look expired early or late (renewal at 2/3 of the TTL comes too "
                          "late) and certificates look not yet valid or expired";
  const std::string fix = "synchronise both clocks (NTP: systemctl enable --now systemd-timesyncd, or chrony)";
  const long abs_skew = skew < 0 ? -skew : skew;
  if (abs_skew > kSkewFailSeconds) {
    report.Fail("clock.skew", detail + why, fix);
  } else if (abs_skew > kSkewWarnSeconds) {
    report.Warn("clock.skew", detail + why, fix);
  } else {
    report.Pass("clock.skew", detail);
  }
}

}  // namespace

void CheckTlsAndClock(const Config& config, CheckReport& report) {
  const auto timeout = config.http.connect_timeout + config.http.total_timeout;
  bool skew_done = false;
  const std::string renew_server =
      "renew the locker's certificate (its operator), and make sure the new one chains to the CA in the config";
  if (config.roles.UsesVault()) {
    for (const std::string& url : config.http.endpoints) {
      auto hp = SplitEndpoint(url, "443");
      if (!hp) {
        report.Fail("tls.server_cert", "cannot read host and port from " + url, "fix locker.urls");
        continue;
      }
      if (url.compare(0, 8, "https://") != 0) {
        report.Warn("tls.server_cert", url + " is plain HTTP: tokens and keys cross the network unencrypted",
                    "serve the locker over https (plain http is for tests only)");
        continue;
      }
      auto probe = ProbeEndpoint(*hp, "", skew_done ? "" : "/v1/sys/health?standbyok=true", timeout);
      if (!probe.ok()) {
        report.Fail("tls.server_cert", url + ": " + probe.status().message(),
                    "check that the locker runs and this host may reach it (firewall, locker.urls)");
        continue;
      }
      if (probe->cert) {
        JudgeCertificate("tls.server_cert", "the locker's certificate at " + url, probe->cert.get(), renew_server,
                         report);
      }
      if (!skew_done) {
        CheckSkew(url, *probe, report);
        skew_done = true;
      }
    }
    if (!config.http.tls.client_cert.empty())
      CheckClientCertFile("tls.client_cert", "tls.client_cert", config.http.tls.client_cert, report);
  }
  if (config.roles.UsesKmip()) {
    const auto& k = config.kmip.transport;
    for (const std::string& server : k.servers) {
      auto hp = SplitEndpoint(server, "5696");
      if (!hp) continue;
      auto probe = ProbeEndpoint(*hp, k.server_name, "", timeout);
      if (!probe.ok()) {
        report.Fail("tls.kmip_server_cert", server + ": " + probe.status().message(),
                    "check that the KMIP server runs and this host may reach it (kmip.servers)");
        continue;
      }
      if (probe->cert) {
        JudgeCertificate("tls.kmip_server_cert", "the KMIP server's certificate at " + server, probe->cert.get(),
                         renew_server, report);
      }
    }
    if (!k.cert_file.empty()) CheckClientCertFile("tls.kmip_client_cert", "kmip.client_cert", k.cert_file, report);
  }
  if (!skew_done && !config.roles.UsesVault()) {
    report.Info("clock.skew", "measured against Vault only; keep this host on NTP all the same");
  }
}

}  // namespace keyring_locker
