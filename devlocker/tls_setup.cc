#include "devlocker/tls_setup.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "common/durable_file.h"

namespace devlocker {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The mode is set at creation: a key file must never exist, even briefly,
// with wider permissions.
bool WriteFile(const std::string& path, const std::string& text, mode_t mode, std::string* error) {
  const keyring_locker::Status written = keyring_locker::WriteFileDurably(path, text, mode);
  if (!written.ok()) {
    *error = written.message() + ": check that the --tls-dir directory exists and is writable, and free space";
    return false;
  }
  return true;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool SaveKey(const std::string& path, EVP_PKEY* key, std::string* error) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    *error = "cannot encode private key for " + path;
    return false;
  }
  return WriteFile(path, BioToString(bio.get()), 0600, error);
}

bool SaveCert(const std::string& path, X509* cert, std::string* error) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    *error = "cannot encode certificate for " + path;
    return false;
  }
  return WriteFile(path, BioToString(bio.get()), 0644, error);
}

PkeyPtr LoadKey(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr LoadCert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

enum class Kind { kCa, kServer, kClient };

// Issues a certificate for `key`. For the CA, issuer_cert/issuer_key are null
// and the certificate signs itself.
X509Ptr Issue(Kind kind, const char* cn, EVP_PKEY* key, X509* issuer_cert, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  BIGNUM* serial = BN_new();
  bool ok = serial && BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(serial);
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok && X509_set_version(cert.get(), 2) == 1 &&
       X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) != nullptr &&
       X509_set_pubkey(cert.get(), key) == 1 &&
       X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("devlocker"), -1, -1, 0) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) == 1;
  X509* issuer = issuer_cert ? issuer_cert : cert.get();
  ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
       AddExt(cert.get(), issuer, NID_subject_key_identifier, "hash") &&
       AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  switch (kind) {
    case Kind::kCa:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE") &&
           AddExt(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case Kind::kServer:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
           AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
           AddExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth") &&
           AddExt(cert.get(), issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
      break;
    case Kind::kClient:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
           AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
           AddExt(cert.get(), issuer, NID_ext_key_usage, "clientAuth");
      break;
  }
  ok = ok && X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

bool EnsureLeaf(const std::string& dir, const std::string& stem, Kind kind, const char* cn,
                X509* ca, EVP_PKEY* ca_key, std::string* error) {
  const std::string cert_path = dir + "/" + stem + ".pem";
  const std::string key_path = dir + "/" + stem + "-key.pem";
  if (FileExists(cert_path) && FileExists(key_path)) return true;
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  X509Ptr cert = key ? Issue(kind, cn, key.get(), ca, ca_key) : nullptr;
  if (!cert) {
    *error = "OpenSSL failed to generate the " + stem + " certificate";
    return false;
  }
  return SaveKey(key_path, key.get(), error) && SaveCert(cert_path, cert.get(), error);
}

}  // namespace

bool EnsureTlsMaterial(const std::string& dir, std::string* error) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create --tls-dir " + dir + ": check the parent directory";
    return false;
  }
  const std::string ca_path = dir + "/ca.pem";
  const std::string ca_key_path = dir + "/ca-key.pem";
  PkeyPtr ca_key;
  X509Ptr ca;
  if (FileExists(ca_path) && FileExists(ca_key_path)) {
    ca_key = LoadKey(ca_key_path);
    ca = LoadCert(ca_path);
    if (!ca_key || !ca) {
      *error = "cannot read " + ca_path + " / " + ca_key_path + ": delete them to regenerate";
      return false;
    }
  } else {
    ca_key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    ca = ca_key ? Issue(Kind::kCa, "devlocker dev CA", ca_key.get(), nullptr, nullptr) : nullptr;
    if (!ca) {
      *error = "OpenSSL failed to generate the CA certificate";
      return false;
    }
    if (!SaveKey(ca_key_path, ca_key.get(), error) || !SaveCert(ca_path, ca.get(), error)) return false;
  }
  return EnsureLeaf(dir, "server", Kind::kServer, "localhost", ca.get(), ca_key.get(), error) &&
         EnsureLeaf(dir, "client", Kind::kClient, "keyring-locker-client", ca.get(), ca_key.get(),
                    error);
}

namespace {
std::atomic<uint64_t>* g_handshakes = nullptr;

void InfoCallback(const SSL*, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_DONE) && g_handshakes) g_handshakes->fetch_add(1);
}

// Accept any presented chain that OpenSSL verified; a client without a
// certificate is also accepted (token auth still applies).
int VerifyCallback(int preverify_ok, X509_STORE_CTX*) { return preverify_ok; }
}  // namespace

bool ConfigureServerContext(SSL_CTX& ctx, const std::string& dir,
                            std::atomic<uint64_t>* handshakes) {
  const std::string ca = dir + "/ca.pem";
  g_handshakes = handshakes;
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate_chain_file(&ctx, (dir + "/server.pem").c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, (dir + "/server-key.pem").c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1 ||
      SSL_CTX_load_verify_locations(&ctx, ca.c_str(), nullptr) != 1) {
    return false;
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
  if (names) SSL_CTX_set_client_CA_list(&ctx, names);
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, VerifyCallback);
  // With SSL_VERIFY_PEER, OpenSSL refuses to resume a session (alert
  // "internal error") unless a session ID context is set; clients with a TLS
  // session cache (libcurl, curl) would then fail every reconnect.
  static const unsigned char kSessionContext[] = "devlocker";
  if (SSL_CTX_set_session_id_context(&ctx, kSessionContext, sizeof kSessionContext - 1) != 1) return false;
  SSL_CTX_set_info_callback(&ctx, InfoCallback);
  return true;
}

}  // namespace devlocker
