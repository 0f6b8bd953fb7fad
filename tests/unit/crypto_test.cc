// AES-256 ECB/CBC/GCM against published known-answer vectors, plus argument
// checking and GCM tamper detection.
#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include "crypto_test_hex.h"

namespace keyring_locker::crypto {
namespace {

using testing::Hex;
using testing::SecretFromHex;
using testing::Unhex;

// NIST SP 800-38A, Appendix F: the key and plaintext shared by F.1.5 and F.2.5.
const char kSp800Key[] = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const char kSp800Plain[] =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";
const char kSp800EcbCipher[] =  // F.1.5 ECB-AES256.Encrypt
    "f3eed1bdb5d2a03c064b5a7e3db181f8"
    "591ccb10d410ed26dc5ba74a31362870"
    "b6ed21b99ca6f4f9f153e7b1beafed1d"
    "23304b7a39f9f3ff067d8d8f9e24ecc7";
const char kSp800CbcIv[] = "000102030405060708090a0b0c0d0e0f";
const char kSp800CbcCipher[] =  // F.2.5 CBC-AES256.Encrypt
    "f58c4c04d6e5f1ba779eabfb5f7bfbd6"
    "9cfc4e967edb808d679f777bc6702c7d"
    "39f23369a9d9bacfa530e26304231461"
    "b2eb05e2c39be9fcda6c19078c6a9d1b";

TEST(AesEcbTest, Fips197AppendixC3) {
  SecureBuffer key = SecretFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto pt = Unhex("00112233445566778899aabbccddeeff");
  auto ct = Aes256EcbEncrypt(key, pt.data(), pt.size());
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(Hex(*ct), "8ea2b7ca516745bfeafc49904b496089");
  auto back = Aes256EcbDecrypt(key, ct->data(), ct->size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Hex(*back), "00112233445566778899aabbccddeeff");
}

TEST(AesEcbTest, Sp800_38aF15Encrypt) {
  SecureBuffer key = SecretFromHex(kSp800Key);
  auto pt = Unhex(kSp800Plain);
  auto ct = Aes256EcbEncrypt(key, pt.data(), pt.size());
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(Hex(*ct), kSp800EcbCipher);
}

TEST(AesEcbTest, Sp800_38aF16Decrypt) {
  SecureBuffer key = SecretFromHex(kSp800Key);
  auto ct = Unhex(kSp800EcbCipher);
  auto pt = Aes256EcbDecrypt(key, ct.data(), ct.size());
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  EXPECT_EQ(Hex(*pt), kSp800Plain);
}

TEST(AesEcbTest, OutputIsExactlyInputLengthWithoutPaddingBlock) {
  // InnoDB wraps key||iv (64 bytes) into exactly 64 bytes.
  SecureBuffer key = SecretFromHex(kSp800Key);
  std::vector<uint8_t> in(64, 0x5a);
  auto ct = Aes256EcbEncrypt(key, in.data(), in.size());
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->size(), 64u);
}

TEST(AesCbcTest, Sp800_38aF25Encrypt) {
  SecureBuffer key = SecretFromHex(kSp800Key);
  auto iv = Unhex(kSp800CbcIv);
  auto pt = Unhex(kSp800Plain);
  auto ct = Aes256CbcEncrypt(key, iv.data(), pt.data(), pt.size());
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(Hex(*ct), kSp800CbcCipher);
}

TEST(AesCbcTest, Sp800_38aF26Decrypt) {
  SecureBuffer key = SecretFromHex(kSp800Key);
  auto iv = Unhex(kSp800CbcIv);
  auto ct = Unhex(kSp800CbcCipher);
  auto pt = Aes256CbcDecrypt(key, iv.data(), ct.data(), ct.size());
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  EXPECT_EQ(Hex(*pt), kSp800Plain);
}

TEST(AesArgsTest, WrongKeySizeIsInvalidArgument) {
  std::vector<uint8_t> block(16, 0);
  for (size_t key_len : {0u, 16u, 24u, 31u, 33u}) {
    SecureBuffer key(key_len);
    auto e = Aes256EcbEncrypt(key, block.data(), block.size());
    ASSERT_FALSE(e.ok()) << key_len;
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_NE(e.status().message().find("32"), std::string::npos) << e.status().message();
    auto d = Aes256CbcDecrypt(key, block.data(), block.data(), block.size());
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
  }
}

TEST(AesArgsTest, LengthMustBePositiveMultipleOf16) {
  SecureBuffer key(32);
  std::vector<uint8_t> buf(48, 0);
  const uint8_t* iv = buf.data();
  for (size_t len : {0u, 1u, 15u, 17u, 47u}) {
    EXPECT_EQ(Aes256EcbEncrypt(key, buf.data(), len).status().code(), Code::kInvalidArgument) << len;
    EXPECT_EQ(Aes256EcbDecrypt(key, buf.data(), len).status().code(), Code::kInvalidArgument) << len;
    EXPECT_EQ(Aes256CbcEncrypt(key, iv, buf.data(), len).status().code(), Code::kInvalidArgument) << len;
    EXPECT_EQ(Aes256CbcDecrypt(key, iv, buf.data(), len).status().code(), Code::kInvalidArgument) << len;
  }
}

TEST(AesArgsTest, NullPointersAreInvalidArgument) {
  SecureBuffer key(32);
  std::vector<uint8_t> buf(16, 0);
  EXPECT_EQ(Aes256EcbEncrypt(key, nullptr, 16).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Aes256CbcEncrypt(key, nullptr, buf.data(), 16).status().code(), Code::kInvalidArgument);
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", Test Case 16
// (AES-256, 60-byte plaintext, 20-byte AAD).
const char kGcmKey[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char kGcmIv[] = "cafebabefacedbaddecaf888";
const char kGcmPlain[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
const char kGcmAad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const char kGcmCipher[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
const char kGcmTag[] = "76fc6ece0f4e1768cddf8853bb2d551b";

TEST(AesGcmTest, GcmSpecTestCase16) {
  SecureBuffer key = SecretFromHex(kGcmKey);
  auto iv = Unhex(kGcmIv), pt = Unhex(kGcmPlain), aad = Unhex(kGcmAad);
  uint8_t tag[16];
  auto ct = Aes256GcmEncryptWithIv(key, iv.data(), iv.size(), pt.data(), pt.size(), aad.data(),
                                   aad.size(), tag);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_EQ(HexEncode(*ct), kGcmCipher);
  EXPECT_EQ(HexEncode(tag, sizeof tag), kGcmTag);
}

TEST(AesGcmTest, GcmSpecTestCase13EmptyPlaintext) {
  SecureBuffer key(32);
  std::vector<uint8_t> iv(12, 0);
  uint8_t tag[16];
  auto ct = Aes256GcmEncryptWithIv(key, iv.data(), iv.size(), nullptr, 0, nullptr, 0, tag);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_TRUE(ct->empty());
  EXPECT_EQ(HexEncode(tag, sizeof tag), "530f8afbc74536b9a963b4f1c4cb738b");
}

TEST(AesGcmTest, GcmSpecTestCase16OpensFromSealedLayout) {
  SecureBuffer key = SecretFromHex(kGcmKey);
  auto sealed = Unhex(std::string(kGcmIv) + kGcmCipher + kGcmTag);
  auto aad = Unhex(kGcmAad);
  auto pt = Aes256GcmOpen(key, sealed.data(), sealed.size(), aad.data(), aad.size());
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  EXPECT_EQ(Hex(*pt), kGcmPlain);
}

TEST(AesGcmTest, SealOpenRoundTripWithFreshIv) {
  auto key = RandomKey(32);
  ASSERT_TRUE(key.ok());
  const std::string msg = "master key 7 for server 0b6f";
  const std::string aad = "keyring_locker v1";
  auto p = reinterpret_cast<const uint8_t*>(msg.data());
  auto a = reinterpret_cast<const uint8_t*>(aad.data());
  auto s1 = Aes256GcmSeal(*key, p, msg.size(), a, aad.size());
  auto s2 = Aes256GcmSeal(*key, p, msg.size(), a, aad.size());
  ASSERT_TRUE(s1.ok() && s2.ok());
  ASSERT_EQ(s1->size(), kGcmIvSize + msg.size() + kGcmTagSize);
  EXPECT_FALSE(std::equal(s1->begin(), s1->begin() + kGcmIvSize, s2->begin()))
      << "two seals reused an IV";
  auto opened = Aes256GcmOpen(*key, s1->data(), s1->size(), a, aad.size());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(opened->data()), opened->size()), msg);
}

TEST(AesGcmTest, EmptyPlaintextRoundTrips) {
  SecureBuffer key = SecretFromHex(kGcmKey);
  auto sealed = Aes256GcmSeal(key, nullptr, 0, nullptr, 0);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), kGcmIvSize + kGcmTagSize);
  auto opened = Aes256GcmOpen(key, sealed->data(), sealed->size(), nullptr, 0);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(opened->empty());
}

TEST(AesGcmTest, EveryTamperIsDataLoss) {
  SecureBuffer key = SecretFromHex(kGcmKey);
  const auto sealed = Unhex(std::string(kGcmIv) + kGcmCipher + kGcmTag);
  const auto aad = Unhex(kGcmAad);
  // Flip one bit in the IV, the ciphertext and the tag in turn.
  for (size_t pos : {size_t{0}, size_t{12}, size_t{40}, sealed.size() - 1}) {
    auto bad = sealed;
    bad[pos] ^= 0x01;
    auto r = Aes256GcmOpen(key, bad.data(), bad.size(), aad.data(), aad.size());
    ASSERT_FALSE(r.ok()) << pos;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << pos;
  }
  auto wrong_aad = aad;
  wrong_aad[0] ^= 0x80;
  EXPECT_EQ(Aes256GcmOpen(key, sealed.data(), sealed.size(), wrong_aad.data(), wrong_aad.size())
                .status().code(),
            Code::kDataLoss);
  EXPECT_EQ(Aes256GcmOpen(key, sealed.data(), sealed.size(), nullptr, 0).status().code(),
            Code::kDataLoss);
  SecureBuffer other_key(32);
  EXPECT_EQ(Aes256GcmOpen(other_key, sealed.data(), sealed.size(), aad.data(), aad.size())
                .status().code(),
            Code::kDataLoss);
}

TEST(AesGcmTest, ShortInputIsDataLoss) {
  SecureBuffer key(32);
  std::vector<uint8_t> shortie(kGcmIvSize + kGcmTagSize - 1, 0);
  auto r = Aes256GcmOpen(key, shortie.data(), shortie.size(), nullptr, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_EQ(Aes256GcmOpen(key, nullptr, 0, nullptr, 0).status().code(), Code::kDataLoss);
}

TEST(AesGcmTest, BadArgumentsAreInvalidArgument) {
  SecureBuffer short_key(16);
  std::vector<uint8_t> iv(12, 0), pt(5, 1);
  uint8_t tag[16];
  EXPECT_EQ(Aes256GcmSeal(short_key, pt.data(), pt.size(), nullptr, 0).status().code(),
            Code::kInvalidArgument);
  SecureBuffer key(32);
  EXPECT_EQ(Aes256GcmEncryptWithIv(key, nullptr, 0, pt.data(), pt.size(), nullptr, 0, tag)
                .status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmEncryptWithIv(key, iv.data(), iv.size(), nullptr, 3, nullptr, 0, tag)
                .status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Aes256GcmEncryptWithIv(key, iv.data(), iv.size(), pt.data(), pt.size(), nullptr, 4, tag)
                .status().code(),
            Code::kInvalidArgument);
  std::vector<uint8_t> sealed(40, 0);
  EXPECT_EQ(Aes256GcmOpen(short_key, sealed.data(), sealed.size(), nullptr, 0).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace keyring_locker::crypto
