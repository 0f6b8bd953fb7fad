#include "keyring_backend/kmip/kmip_tls_setup.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <set>

#include "common/safe_file.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::kmip::internal {
namespace {

constexpr size_t kMaxPemBytes = 4 * 1024 * 1024;  // a system CA bundle is ~200 KiB
constexpr size_t kMaxKeyBytes = 64 * 1024;        // an RSA-8192 PEM key is ~6 KiB
constexpr size_t kMinMessageCap = 64;
constexpr size_t kMaxMessageCap = 64 * 1024 * 1024;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct InfoStackFree {
  void operator()(STACK_OF(X509_INFO) * s) const { sk_X509_INFO_pop_free(s, X509_INFO_free); }
};

// The first reason in OpenSSL's error queue, then the queue is cleared.
std::string OpenSslReason() {
  const unsigned long e = ERR_peek_error();
  std::string reason = "unknown OpenSSL error";
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    reason = r != nullptr ? r : "OpenSSL error " + std::to_string(ERR_GET_REASON(e));
  }
  ERR_clear_error();
  return reason;
}

std::string Named(const std::string& option, const std::string& path) {
  return option + " '" + path + "'";
}

// Never prompts: a PEM passphrase callback that refuses, so an encrypted key
// fails instead of reading from the server's terminal.
int RefusePassphrase(char*, int, int, void*) { return -1; }

StatusOr<std::string> ReadPemFile(const std::string& path, const std::string& option) {
  ReadFileOptions read;
  read.open.what = option;
  read.open.open_fix = "fix the path, and let the server's OS user read the file";
  read.open.not_regular_fix = "point " + option + " at a PEM file";
  read.max_bytes = kMaxPemBytes;
  return ReadRegularFile(path, read);
}

// The key file: ReadSecretFile's rules (no group/other access, size cap,
// every buffer wiped) without its single-line rule, which a PEM key fails.
StatusOr<std::string> ReadKeyFile(const std::string& path, const std::string& option) {
  ReadFileOptions read;
  read.open.what = option;
  read.open.open_fix = "fix the path, and let the server's OS user read the file";
  read.open.not_regular_fix = "point " + option + " at the PEM private key file";
  read.max_bytes = kMaxKeyBytes;
  read.refused_mode = S_IRWXG | S_IRWXO;
  read.mode_problem = "is readable or writable by group/others";
  read.mode_fix = "chmod 600 " + path;
  read.wipe = true;
  return ReadRegularFile(path, read);
}

Status LoadCaBundle(SSL_CTX* ctx, const std::string& path, const std::string& option) {
  ASSIGN_OR_RETURN(std::string pem, ReadPemFile(path, option));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Internal("out of memory reading " + Named(option, path));
  ERR_clear_error();
  std::unique_ptr<STACK_OF(X509_INFO), InfoStackFree> infos(
      PEM_X509_INFO_read_bio(bio.get(), nullptr, RefusePassphrase, nullptr));
  if (!infos) {
    return InvalidArgument(Named(option, path) + " is not a PEM certificate bundle (" +
                           OpenSslReason() +
                           "); point it at the PEM file of the CA that signed the KMIP "
                           "servers' certificates");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (int i = 0; i < sk_X509_INFO_num(infos.get()); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos.get(), i);
    if (info->x509 == nullptr) continue;
    if (X509_STORE_add_cert(store, info->x509) != 1) {
      return Internal(Named(option, path) + ": certificate " + std::to_string(i) +
                      " could not be added to the trust store (" + OpenSslReason() + ")");
    }
    ++added;
  }
  if (added == 0) {
    return InvalidArgument(Named(option, path) +
                           " holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it "
                           "at the CA certificate of the KMIP servers");
  }
  return Status::Ok();
}

std::string FormatAsn1Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status LoadClientCertificate(SSL_CTX* ctx, const std::string& path, const std::string& option) {
  ASSIGN_OR_RETURN(std::string pem, ReadPemFile(path, option));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Internal("out of memory reading " + Named(option, path));
  ERR_clear_error();
  std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509(bio.get(), nullptr, RefusePassphrase, nullptr));
  if (!leaf) {
    return InvalidArgument(Named(option, path) + " holds no PEM certificate (" + OpenSslReason() +
                           "); point it at the client certificate (-----BEGIN CERTIFICATE-----)");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf.get())) < 0) {
    return InvalidArgument(Named(option, path) + " expired on " +
                           FormatAsn1Time(X509_get0_notAfter(leaf.get())) +
                           "; the server will refuse it: install a renewed client certificate");
  }
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return InvalidArgument(Named(option, path) + " cannot be used as a client certificate (" +
                           OpenSslReason() + "); check it is an X.509 certificate OpenSSL accepts");
  }
  // Intermediate certificates after the leaf go out with it.
  for (int i = 0; i < 16; ++i) {
    X509* extra = PEM_read_bio_X509(bio.get(), nullptr, RefusePassphrase, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return Internal(Named(option, path) + ": chain certificate could not be added (" +
                      OpenSslReason() + ")");
    }
  }
  ERR_clear_error();  // the end of the file reads as "no start line"
  return Status::Ok();
}

Status LoadClientKey(SSL_CTX* ctx, const std::string& path, const std::string& option,
                     const std::string& cert_option) {
  ASSIGN_OR_RETURN(std::string pem, ReadKeyFile(path, option));
  const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    crypto::WipeString(&pem);
    return Internal("out of memory reading " + Named(option, path));
  }
  ERR_clear_error();
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  bio.reset();
  crypto::WipeString(&pem);
  if (!key) {
    const std::string reason = OpenSslReason();
    if (encrypted) {
      return InvalidArgument(Named(option, path) +
                             " is encrypted (password-protected), which the KMIP transport does "
                             "not support; store it decrypted with mode 0600 (openssl pkey -in "
                             "<encrypted> -out <new file>)");
    }
    return InvalidArgument(Named(option, path) + " holds no PEM private key (" + reason +
                           "); point it at the client certificate's key "
                           "(-----BEGIN PRIVATE KEY-----)");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    const std::string reason = OpenSslReason();
    return InvalidArgument(Named(option, path) + " does not match the certificate in " +
                           cert_option + " (" + reason + "); configure the key that belongs to "
                           "that certificate");
  }
  return Status::Ok();
}

bool PortIsValid(const std::string& port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  const int n = std::stoi(port);
  return n >= 1 && n <= 65535;
}

Status CheckHostText(const std::string& host, const std::string& option, const std::string& text) {
  const bool bad = std::any_of(host.begin(), host.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '/' || c == '@' || c == '?' || c == '#';
  });
  if (host.empty() || bad) {
    return InvalidArgument(option + " \"" + text + "\" has no usable host name; write " +
                           "\"host:port\", e.g. \"kmip.example.com:5696\"");
  }
  return Status::Ok();
}

}  // namespace

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

StatusOr<ServerAddress> ParseServerAddress(const std::string& text, const std::string& option) {
  ServerAddress a;
  a.configured = text;
  if (text.find("://") != std::string::npos) {
    return InvalidArgument(option + " \"" + text + "\" has a scheme; KMIP servers are written " +
                           "\"host:port\" (TLS is always used), e.g. \"kmip.example.com:5696\"");
  }
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) {
      return InvalidArgument(option + " \"" + text + "\" opens '[' without ']'; write " +
                             "\"[ipv6]:port\", e.g. \"[2001:db8::1]:5696\"");
    }
    a.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return InvalidArgument(option + " \"" + text + "\" has text after ']'; write \"[ipv6]:port\"");
    }
    port = rest.empty() ? std::to_string(kDefaultKmipPort) : rest.substr(1);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET6, a.host.c_str(), buf) != 1) {
      return InvalidArgument(option + " \"" + text + "\": '" + a.host +
                             "' in brackets is not an IPv6 address; write names without brackets");
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {
      return InvalidArgument(option + " \"" + text + "\" looks like an IPv6 address without " +
                             "brackets; write \"[" + text + "]:5696\"");
    }
    a.host = text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
    else port = std::to_string(kDefaultKmipPort);
    RETURN_IF_ERROR(CheckHostText(a.host, option, text));
  }
  if (!PortIsValid(port)) {
    return InvalidArgument(option + " \"" + text + "\" has port '" + port +
                           "', which is not a number from 1 to 65535; KMIP's port is 5696");
  }
  a.port = port;
  for (char& c : a.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return a;
}

PeerIdentity PeerFor(const ServerAddress& server, const KmipTransportOptions& options) {
  PeerIdentity p;
  p.name = options.server_name.empty() ? server.host : options.server_name;
  p.is_ip = IsIpAddress(p.name);
  return p;
}

Status CheckTransportOptions(const KmipTransportOptions& o, std::vector<ServerAddress>* servers) {
  const std::string& p = o.option_prefix;
  if (o.servers.empty()) {
    return InvalidArgument(p + "servers is empty; list at least one KMIP server, e.g. " +
                           "[\"kmip.example.com:5696\"]");
  }
  servers->clear();
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < o.servers.size(); ++i) {
    const std::string option = p + "servers[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(ServerAddress a, ParseServerAddress(o.servers[i], option));
    if (!seen.insert({a.host, a.port}).second) {
      return InvalidArgument(option + " \"" + a.configured + "\" is listed twice; list each " +
                             "server once");
    }
    servers->push_back(std::move(a));
  }
  if (!o.server_name.empty()) {
    RETURN_IF_ERROR(CheckHostText(o.server_name, p + "server_name", o.server_name));
    if (o.server_name.find(':') != std::string::npos && !IsIpAddress(o.server_name)) {
      return InvalidArgument(p + "server_name \"" + o.server_name + "\" must be a host name or " +
                             "an IP address, without a port");
    }
  }
  if (o.min_tls_version != "1.2" && o.min_tls_version != "1.3") {
    return InvalidArgument(p + "min_tls_version \"" + o.min_tls_version +
                           "\" is not supported; use \"1.2\" or \"1.3\"");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return InvalidArgument(p + (o.cert_file.empty() ? "key_file" : "cert_file") +
                           " is set without " + p + (o.cert_file.empty() ? "cert_file" : "key_file") +
                           "; set both (mutual TLS) or neither");
  }
  if (o.connect_timeout.count() <= 0) {
    return InvalidArgument(p + "connect_timeout must be > 0 ms; e.g. 3000");
  }
  if (o.io_timeout.count() <= 0) return InvalidArgument(p + "io_timeout must be > 0 ms; e.g. 10000");
  if (o.idle_reconnect.count() < 0) {
    return InvalidArgument(p + "idle_reconnect must be >= 0 ms (0: never); e.g. 60000");
  }
  if (o.max_message_bytes < kMinMessageCap || o.max_message_bytes > kMaxMessageCap) {
    return InvalidArgument(p + "max_message_bytes " + std::to_string(o.max_message_bytes) +
                           " is outside " + std::to_string(kMinMessageCap) + ".." +
                           std::to_string(kMaxMessageCap) + "; the default, 1048576, suits " +
                           "key operations");
  }
  return Status::Ok();
}

StatusOr<SslCtxPtr> BuildClientTlsContext(const KmipTransportOptions& o) {
  const std::string& p = o.option_prefix;
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Internal("SSL_CTX_new failed (" + OpenSslReason() + ")");
  const int floor = o.min_tls_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx.get(), floor) != 1) {
    return Internal("cannot set the TLS version floor (" + OpenSslReason() + ")");
  }
  // Decrypted records stay in OpenSSL's buffers until overwritten unless
  // told otherwise; they carry key bytes. Renegotiation is never needed.
  SSL_CTX_set_options(ctx.get(), SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_verify(ctx.get(), o.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ctx.get()),
                                  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!o.ca_file.empty()) {
    RETURN_IF_ERROR(LoadCaBundle(ctx.get(), o.ca_file, p + "ca_file"));
  } else if (o.verify_peer && SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return InvalidArgument(p + "ca_file is empty and the system CA store cannot be loaded (" +
                           OpenSslReason() + "); set " + p + "ca_file to the KMIP servers' CA");
  }
  if (!o.cert_file.empty()) {
    RETURN_IF_ERROR(LoadClientCertificate(ctx.get(), o.cert_file, p + "cert_file"));
    RETURN_IF_ERROR(LoadClientKey(ctx.get(), o.key_file, p + "key_file", p + "cert_file"));
  }
  return ctx;
}

std::string TransportWarning(const KmipTransportOptions& o) {
  if (o.verify_peer) return "";
  return o.option_prefix + "verify_peer is false: the KMIP servers' certificates are NOT " +
         "checked, so anyone on the network path can pose as the key server, read the keys " +
         "and hand out its own; never use this in production (set it to true and " +
         o.option_prefix + "ca_file to the servers' CA)";
}

std::string DescribeTransport(const KmipTransportOptions& o) {
  const std::string& p = o.option_prefix;
  std::string s = p + "servers=[";
  for (size_t i = 0; i < o.servers.size(); ++i) s += (i ? "," : "") + o.servers[i];
  s += "]";
  s += " " + p + "verify_peer=" + (o.verify_peer ? "on" : "OFF");
  s += " " + p + "min_tls_version=" + o.min_tls_version;
  if (!o.server_name.empty()) s += " " + p + "server_name=" + o.server_name;
  s += " " + p + "ca_file=" + (o.ca_file.empty() ? "(system store)" : o.ca_file);
  if (!o.cert_file.empty()) s += " " + p + "cert_file=" + o.cert_file + " " + p + "key_file=(set)";
  s += " " + p + "connect_timeout=" + std::to_string(o.connect_timeout.count()) + "ms";
  s += " " + p + "io_timeout=" + std::to_string(o.io_timeout.count()) + "ms";
  s += " " + p + "idle_reconnect=" + std::to_string(o.idle_reconnect.count()) + "ms";
  s += " " + p + "max_message_bytes=" + std::to_string(o.max_message_bytes);
  return s;
}

}  // namespace keyring_locker::kmip::internal
