#include "keyring_backend/azure/client_assertion.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/safe_file.h"
#include "crypto/crypto.h"
#include "keyring_backend/azure/base64url.h"

namespace keyring_locker::azure {
namespace {

struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };

struct Credential {
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  std::unique_ptr<X509, X509Free> cert;
};

// The key and the certificate from one PEM file (Azure's PEM export holds
// both; so does `cat key.pem cert.pem`).
StatusOr<Credential> LoadCredential(const std::string& path, const std::string& option) {
  ReadFileOptions read;
  read.open.what = option;
  read.max_bytes = 256 * 1024;
  read.refused_mode = 077;
  read.mode_problem = "is readable or writable by group or others (it holds a private key)";
  read.mode_fix = "chmod 600 " + path;
  read.wipe = true;
  ASSIGN_OR_RETURN(std::string pem, ReadRegularFile(path, read));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Credential c;
  if (bio) c.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>("")));
  bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio) c.cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  crypto::WipeString(&pem);
  const std::string fix = "; put the unencrypted RSA private key and its certificate (PEM) in " + path +
                          " (e.g. cat key.pem cert.pem), the certificate being the one registered on the "
                          "application in Entra ID";
  if (!c.key) return InvalidArgument(option + " " + path + " holds no readable unencrypted private key" + fix);
  if (!c.cert) return InvalidArgument(option + " " + path + " holds no certificate" + fix);
  if (EVP_PKEY_get_base_id(c.key.get()) != EVP_PKEY_RSA) {
    return InvalidArgument(option + " " + path + ": the private key is not RSA (Entra ID signs client assertions "
                           "with RSA, PS256)" + fix);
  }
  if (X509_check_private_key(c.cert.get(), c.key.get()) != 1) {
    return InvalidArgument(option + " " + path + ": the certificate is not the private key's" + fix);
  }
  return c;
}

StatusOr<std::string> SignPs256(EVP_PKEY* key, const std::string& input) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||  // RFC 7518: salt = hash length
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(input.data()), input.size()) != 1) {
    return Internal("OpenSSL could not set up the PS256 signature of the client assertion");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const uint8_t*>(input.data()), input.size()) != 1) {
    return Internal("OpenSSL could not sign the client assertion (PS256)");
  }
  return Base64UrlEncode(sig.data(), len);
}

}  // namespace

Status CheckCertificateFile(const std::string& path, const std::string& option) {
  return LoadCredential(path, option).status();
}

StatusOr<std::string> MakeClientAssertion(const AssertionRequest& r) {
  ASSIGN_OR_RETURN(Credential c, LoadCredential(r.certificate_file, r.option));
  int der_len = i2d_X509(c.cert.get(), nullptr);
  if (der_len <= 0) return Internal("OpenSSL could not encode the certificate of " + r.option);
  std::vector<uint8_t> der(static_cast<size_t>(der_len));
  uint8_t* out = der.data();
  i2d_X509(c.cert.get(), &out);
  const crypto::Bytes thumbprint = crypto::Sha256(der.data(), der.size());

  uint8_t jti[16];
  RETURN_IF_ERROR(crypto::RandomBytes(jti, sizeof jti));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  nlohmann::json header = {{"alg", "PS256"}, {"typ", "JWT"},
                           {"x5t#S256", Base64UrlEncode(thumbprint.data(), thumbprint.size())}};
  nlohmann::json claims = {{"aud", r.audience},
                           {"iss", r.client_id},
                           {"sub", r.client_id},
                           {"jti", crypto::HexEncode(jti, sizeof jti)},
                           {"nbf", now},
                           {"iat", now},
                           {"exp", now + r.lifetime.count()}};
  const std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  ASSIGN_OR_RETURN(std::string signature, SignPs256(c.key.get(), signing_input));
  return signing_input + "." + signature;
}

}  // namespace keyring_locker::azure
