// keyring_aes: AES with a keyring key, as Oracle's keyring components offer
// it to AES_ENCRYPT-style callers. The AES-256 key is SHA-256 of the stored
// key; block size 256 only; the cipher work is OpenSSL EVP.
#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "crypto/crypto.h"
#include "plugin/mysql_component/component_services.h"
#include "plugin/mysql_component/component_state.h"

namespace keyring_locker::mysql_component {
namespace {

constexpr size_t kBlockSize = 256;  // the AES key size in bits the service speaks of
constexpr size_t kAesBlock = 16;

struct Mode {
  const char* name;
  const EVP_CIPHER* (*cipher)();
  bool padded;  // block modes honour the padding flag; stream modes never pad
  bool needs_iv;
};
const Mode kModes[] = {
    {"ecb", EVP_aes_256_ecb, true, false},       {"cbc", EVP_aes_256_cbc, true, true},
    {"cfb1", EVP_aes_256_cfb1, false, true},     {"cfb8", EVP_aes_256_cfb8, false, true},
    {"cfb128", EVP_aes_256_cfb128, false, true}, {"ofb", EVP_aes_256_ofb, false, true},
};

const Mode* FindMode(const char* mode, size_t block_size) {
  if (mode == nullptr || block_size != kBlockSize) return nullptr;
  for (const auto& m : kModes) {
    if (std::strcmp(m.name, mode) == 0) return &m;
  }
  return nullptr;
}

size_t EncryptedSize(const Mode& m, size_t in_len, bool padding) {
  return m.padded && padding ? (in_len / kAesBlock + 1) * kAesBlock : in_len;
}

int GetSize(size_t in_len, const char* mode, size_t block_size, size_t* out_size) {
  const Mode* m = FindMode(mode, block_size);
  if (m == nullptr || out_size == nullptr) return 1;
  *out_size = EncryptedSize(*m, in_len, true);  // the largest: with padding
  return 0;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

int Crypt(bool encrypt, const char* data_id, const char* auth_id, const char* mode, size_t block_size,
          const unsigned char* iv, int padding, const unsigned char* in, size_t in_len, unsigned char* out,
          size_t out_len, size_t* written) {
  const Mode* m = FindMode(mode, block_size);
  if (m == nullptr) {
    Log(Severity::kError, std::string("keyring_aes: unsupported mode or block size; use one of ecb, cbc, cfb1, cfb8, "
                             "cfb128, ofb with block size 256"));
    return 1;
  }
  if (written == nullptr || out == nullptr || (in == nullptr && in_len > 0) || (m->needs_iv && iv == nullptr)) return 1;
  const bool pad = m->padded && padding != 0;
  if (m->padded && !pad && in_len % kAesBlock != 0) return 1;  // unpadded block modes need whole blocks
  const size_t need = encrypt ? EncryptedSize(*m, in_len, pad) : in_len;
  if (out_len < need || in_len > static_cast<size_t>(INT32_MAX)) return 1;
  return WithInstance(encrypt ? "keyring_aes.encrypt" : "keyring_aes.decrypt", [&](Instance& inst) {
    auto key = inst.ops->Fetch(data_id, auth_id);
    if (!key.ok()) {
      Log(Severity::kError, "keyring_aes: " + key.status().ToString());
      return 1;
    }
    crypto::Bytes digest = crypto::Sha256((*key)->bytes.data(), (*key)->bytes.size());
    crypto::SecureBuffer aes_key(digest.size());
    std::memcpy(aes_key.data(), digest.data(), digest.size());
    std::fill(digest.begin(), digest.end(), 0);
    std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
    int n1 = 0, n2 = 0;
    const bool ok = ctx && EVP_CipherInit_ex(ctx.get(), m->cipher(), nullptr, aes_key.data(), m->needs_iv ? iv : nullptr,
                                             encrypt ? 1 : 0) == 1 &&
                    EVP_CIPHER_CTX_set_padding(ctx.get(), pad ? 1 : 0) == 1 &&
                    EVP_CipherUpdate(ctx.get(), out, &n1, in, static_cast<int>(in_len)) == 1 &&
                    EVP_CipherFinal_ex(ctx.get(), out + n1, &n2) == 1;
    if (!ok) {
      // Wrong key or damaged input (bad padding on decrypt): no detail leaks.
      *written = 0;
      return 1;
    }
    *written = static_cast<size_t>(n1) + static_cast<size_t>(n2);
    return 0;
  });
}

int Encrypt(const char* data_id, const char* auth_id, const char* mode, size_t block_size, const unsigned char* iv,
            int padding, const unsigned char* in, size_t in_len, unsigned char* out, size_t out_len, size_t* written) {
  return Crypt(true, data_id, auth_id, mode, block_size, iv, padding, in, in_len, out, out_len, written);
}
int Decrypt(const char* data_id, const char* auth_id, const char* mode, size_t block_size, const unsigned char* iv,
            int padding, const unsigned char* in, size_t in_len, unsigned char* out, size_t out_len, size_t* written) {
  return Crypt(false, data_id, auth_id, mode, block_size, iv, padding, in, in_len, out, out_len, written);
}

}  // namespace

abi::Aes kAesService = {GetSize, Encrypt, Decrypt};

}  // namespace keyring_locker::mysql_component
