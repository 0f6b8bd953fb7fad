// Test certificates made with OpenSSL's API, for every test that needs a
// CA, server or client certificate (good, expired, not yet valid, or for
// the wrong name): one maker so the TLS tests of each locker agree on what
// a certificate holds.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

namespace keyring_locker::testing {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

inline PkeyPtr NewKey() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

inline bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// `issuer` null: a self-signed CA. Otherwise a leaf with `eku` and `san`
// (san may be null). Valid from now+from_s to now+to_s.
inline X509Ptr MakeCertificate(EVP_PKEY* key, const char* cn, const char* eku, const char* san, long from_s,
                               long to_s, X509* issuer, EVP_PKEY* issuer_key) {
  static std::atomic<long> serial{1000};
  X509Ptr cert(X509_new());
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_s) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_s) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                                       -1, -1, 0) == 1;
  X509* signer = issuer != nullptr ? issuer : cert.get();
  ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1 &&
       AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash") &&
       AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (issuer == nullptr) {
    ok = ok && AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExtension(cert.get(), signer, NID_ext_key_usage, eku) &&
         (san == nullptr || AddExtension(cert.get(), signer, NID_subject_alt_name, san));
  }
  ok = ok && X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

inline bool WriteCertPem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  return ok;
}

// Mode 0600, as a real key file. `passphrase` non-null: an encrypted PEM key.
inline bool WriteKeyPem(const std::string& path, EVP_PKEY* key, const char* passphrase = nullptr) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok =
      passphrase == nullptr
          ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1
          : PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(),
                                 reinterpret_cast<const unsigned char*>(passphrase),
                                 static_cast<int>(std::char_traits<char>::length(passphrase)), nullptr,
                                 nullptr) == 1;
  std::fclose(f);
  ::chmod(path.c_str(), 0600);
  return ok;
}

}  // namespace keyring_locker::testing
