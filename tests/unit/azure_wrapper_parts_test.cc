// The Azure Key Vault wrapper's offline parts: the wrapped-text format is
// parsed strictly before anything is sent, the Key Vault resource follows
// the vault's cloud, base64url round-trips, and the client assertion is a
// PS256 JWT that verifies with the certificate's key and names it by its
// SHA-256 thumbprint.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "keyring_backend/azure/base64url.h"
#include "keyring_backend/azure/client_assertion.h"
#include "keyring_backend/azure/key_vault_wrapper.h"
#include "keyring_backend/azure/token_source.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"

namespace keyring_locker {
namespace {

using azure::Base64UrlDecodeSecret;
using azure::Base64UrlEncode;

TEST(AzureWrappedText, FormatsAndParsesStrictly) {
  AzureKeyVaultWrapper::Sealed s{"78deebed173b48e48f55abf87ed4cf71", "RSA-OAEP-256", "AbC-_0"};
  const std::string text = AzureKeyVaultWrapper::Format(s);
  EXPECT_EQ(text, "azure-kv:v1:78deebed173b48e48f55abf87ed4cf71:RSA-OAEP-256:AbC-_0");
  auto back = AzureKeyVaultWrapper::Parse(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, s.version);
  EXPECT_EQ(back->algorithm, s.algorithm);
  EXPECT_EQ(back->value, s.value);
  for (const std::string& bad : std::vector<std::string>{"", "vault:v1:abc", "azure-kv:v1:78de:RSA-OAEP-256", "azure-kv:v1::RSA-OAEP-256:AAAA",
        "azure-kv:v1:78de/..:RSA-OAEP-256:AAAA", "azure-kv:v1:78de:RSA1_5:AAAA", "azure-kv:v1:78de:RSA-OAEP:AA+A",
        "azure-kv:v1:78de:RSA-OAEP:AAAAA", "azure-kv:v1:78de:RSA-OAEP:AAAA:extra",
        "azure-kv:v1:78de:RSA-OAEP:" + std::string(1100, 'A')}) {
    auto r = AzureKeyVaultWrapper::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("azure-kv:v1:<key version>"), std::string::npos);
    }
  }
}

TEST(AzureResource, FollowsTheVaultsCloud) {
  EXPECT_EQ(azure::TokenSource::ResourceFor("https://db.vault.azure.net"), "https://vault.azure.net");
  EXPECT_EQ(azure::TokenSource::ResourceFor("https://db.vault.azure.cn"), "https://vault.azure.cn");
  EXPECT_EQ(azure::TokenSource::ResourceFor("https://db.vault.usgovcloudapi.net"), "https://vault.usgovcloudapi.net");
  EXPECT_EQ(azure::TokenSource::ResourceFor("https://hsm.managedhsm.azure.net"), "https://managedhsm.azure.net");
  EXPECT_EQ(azure::TokenSource::ResourceFor("https://127.0.0.1:8443"), "https://vault.azure.net");
}

TEST(AzureBase64Url, RoundTripsAndRefusesOtherAlphabets) {
  for (size_t n = 1; n < 40; ++n) {
    auto key = crypto::RandomKey(n);
    const std::string text = azure::Base64UrlEncodeSecret(*key);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(text, Base64UrlEncode(key->data(), key->size()));
    auto back = Base64UrlDecodeSecret(text);
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_TRUE(back->Equals(*key)) << n;
  }
  EXPECT_FALSE(Base64UrlDecodeSecret("ab+c").ok());
  EXPECT_FALSE(Base64UrlDecodeSecret("abc=").ok());
  EXPECT_FALSE(Base64UrlDecodeSecret("abcde").ok());
}

class AzureClientAssertion : public testing::TempDirTest {};

TEST_F(AzureClientAssertion, IsAPs256JwtForTheTokenEndpoint) {
  testing::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  ASSERT_TRUE(key);
  testing::X509Ptr cert = testing::MakeCertificate(key.get(), "sp", nullptr, nullptr, -60, 3600, nullptr, nullptr);
  ASSERT_TRUE(cert);
  const std::string pem = dir_ + "/sp.pem";
  ASSERT_TRUE(testing::WriteKeyPem(pem + ".key", key.get()));
  ASSERT_TRUE(testing::WriteCertPem(pem + ".crt", cert.get()));
  std::system(("cat " + pem + ".key " + pem + ".crt > " + pem + " && chmod 600 " + pem).c_str());

  azure::AssertionRequest r;
  r.certificate_file = pem;
  r.option = "azure.certificate_file";
  r.client_id = "client-1";
  r.audience = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token";
  auto jwt = azure::MakeClientAssertion(r);
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  const size_t a = jwt->find('.'), b = jwt->rfind('.');
  ASSERT_NE(a, b);
  auto text = [](const std::string& part) {
    auto bytes = Base64UrlDecodeSecret(part);
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  };
  auto header = nlohmann::json::parse(text(jwt->substr(0, a)));
  auto claims = nlohmann::json::parse(text(jwt->substr(a + 1, b - a - 1)));
  EXPECT_EQ(header["alg"], "PS256");
  EXPECT_EQ(header["typ"], "JWT");
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert.get(), &der);
  const crypto::Bytes thumb = crypto::Sha256(der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  EXPECT_EQ(header["x5t#S256"], Base64UrlEncode(thumb.data(), thumb.size()));
  EXPECT_EQ(claims["aud"], r.audience);
  EXPECT_EQ(claims["iss"], "client-1");
  EXPECT_EQ(claims["sub"], "client-1");
  EXPECT_EQ(claims["jti"].get<std::string>().size(), 32u);
  EXPECT_GT(claims["exp"].get<int64_t>(), claims["nbf"].get<int64_t>());

  // The signature verifies with the certificate's public key (PSS, SHA-256, salt 32).
  const std::string input = jwt->substr(0, b);
  auto sig = Base64UrlDecodeSecret(jwt->substr(b + 1));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, X509_get0_pubkey(cert.get())), 1);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
  EXPECT_EQ(EVP_DigestVerify(ctx, sig->data(), sig->size(), reinterpret_cast<const uint8_t*>(input.data()),
                             input.size()),
            1);
  EVP_MD_CTX_free(ctx);

  // Two assertions differ (jti); a file without the key, or readable by others, is refused.
  EXPECT_NE(*jwt, *azure::MakeClientAssertion(r));
  EXPECT_FALSE(azure::CheckCertificateFile(pem + ".crt", "azure.certificate_file").ok());
  std::system(("chmod 644 " + pem).c_str());
  Status loose = azure::CheckCertificateFile(pem, "azure.certificate_file");
  EXPECT_FALSE(loose.ok());
  EXPECT_NE(loose.message().find("chmod 600"), std::string::npos) << loose.ToString();
}

TEST_F(AzureClientAssertion, RefusesAnEcKey) {
  testing::PkeyPtr key = testing::NewKey();  // P-256
  testing::X509Ptr cert = testing::MakeCertificate(key.get(), "sp", nullptr, nullptr, -60, 3600, nullptr, nullptr);
  const std::string pem = dir_ + "/ec.pem";
  ASSERT_TRUE(testing::WriteKeyPem(pem + ".key", key.get()));
  ASSERT_TRUE(testing::WriteCertPem(pem + ".crt", cert.get()));
  std::system(("cat " + pem + ".key " + pem + ".crt > " + pem + " && chmod 600 " + pem).c_str());
  Status s = azure::CheckCertificateFile(pem, "azure.certificate_file");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not RSA"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace keyring_locker
