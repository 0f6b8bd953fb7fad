#include "devlocker/transit_crypto.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace devlocker {

using keyring_locker::DataLoss;
using keyring_locker::Internal;
using keyring_locker::InvalidArgument;
namespace crypto = keyring_locker::crypto;

namespace {

struct KdfFree { void operator()(EVP_KDF* p) const { EVP_KDF_free(p); } };
struct KdfCtxFree { void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); } };

StatusOr<SecureBuffer> Hkdf(const SecureBuffer& ikm, const crypto::Bytes& info) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Internal("OpenSSL has no HKDF implementation");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> kctx(EVP_KDF_CTX_new(kdf.get()));
  if (!kctx) return Internal("cannot allocate an HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  SecureBuffer out(crypto::kAes256KeySize);
  if (EVP_KDF_derive(kctx.get(), out.data(), out.size(), params) != 1)
    return Internal("HKDF derivation failed");
  return out;
}

std::string Aad(const std::string& name, int64_t version) { return name + ":v" + std::to_string(version); }

}  // namespace

StatusOr<SecureBuffer> VersionKey(const std::string& stored_b64, bool derived, const std::string& context_b64) {
  ASSIGN_OR_RETURN(SecureBuffer key, crypto::Base64DecodeSecret(stored_b64.data(), stored_b64.size()));
  if (!derived) return key;
  if (context_b64.empty())
    return InvalidArgument("missing 'context' for key derivation; the key was created using a derived key, "
                           "which means additional, per-request information must be included in order to "
                           "perform operations with the key");
  auto context = crypto::Base64Decode(context_b64);
  if (!context.ok()) return InvalidArgument("failed to base64-decode context");
  return Hkdf(key, *context);
}

StatusOr<std::string> SealTransit(const SecureBuffer& key, const std::string& name, int64_t version,
                                  const uint8_t* plaintext, size_t len) {
  const std::string aad = Aad(name, version);
  ASSIGN_OR_RETURN(crypto::Bytes sealed,
                   crypto::Aes256GcmSeal(key, plaintext, len, reinterpret_cast<const uint8_t*>(aad.data()),
                                         aad.size()));
  return "vault:v" + std::to_string(version) + ":" + crypto::Base64Encode(sealed.data(), sealed.size());
}

StatusOr<SecureBuffer> OpenTransit(const SecureBuffer& key, const std::string& name, int64_t version,
                                   const std::string& ciphertext) {
  std::string payload;
  ParseCiphertextVersion(ciphertext, &payload);
  auto sealed = crypto::Base64Decode(payload);
  if (!sealed.ok()) return InvalidArgument("invalid ciphertext: could not decode base64");
  // Vault checks for the 12-byte GCM nonce before it tries to open anything.
  if (sealed->size() < 12) return InvalidArgument("invalid ciphertext length");
  const std::string aad = Aad(name, version);
  auto opened = crypto::Aes256GcmOpen(key, sealed->data(), sealed->size(),
                                      reinterpret_cast<const uint8_t*>(aad.data()), aad.size());
  if (!opened.ok()) return DataLoss("cipher: message authentication failed");
  return std::move(opened).value();
}

int64_t ParseCiphertextVersion(const std::string& ciphertext, std::string* payload) {
  if (ciphertext.compare(0, 7, "vault:v") != 0) return 0;
  size_t colon = ciphertext.find(':', 7);
  if (colon == std::string::npos || colon == 7 || colon - 7 > 9) return 0;
  int64_t v = 0;
  for (size_t i = 7; i < colon; ++i) {
    if (ciphertext[i] < '0' || ciphertext[i] > '9') return 0;
    v = v * 10 + (ciphertext[i] - '0');
  }
  *payload = ciphertext.substr(colon + 1);
  return v;
}

}  // namespace devlocker
