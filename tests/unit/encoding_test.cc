// Base64 (RFC 4648 section 10), hex, SHA-256 (FIPS 180-2 examples) and the
// random sources.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "crypto_test_hex.h"

namespace keyring_locker::crypto {
namespace {

const std::vector<std::pair<std::string, std::string>> kRfc4648 = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST(Base64Test, EncodeRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    EXPECT_EQ(Base64Encode(U8(plain), plain.size()), encoded) << plain;
  }
}

TEST(Base64Test, DecodeRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.status().ToString();
    EXPECT_EQ(std::string(d->begin(), d->end()), plain) << encoded;
  }
}

TEST(Base64Test, SecretVariantsMatchRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    SecureBuffer secret = SecureBuffer::CopyOf(plain);
    SecureBuffer enc = Base64EncodeSecret(secret);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(enc.data()), enc.size()), encoded);
    auto dec = Base64DecodeSecret(encoded.data(), encoded.size());
    ASSERT_TRUE(dec.ok()) << encoded << ": " << dec.status().ToString();
    EXPECT_TRUE(dec->Equals(secret)) << encoded;
  }
}

TEST(Base64Test, SecretRoundTripOfAllByteValues) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  SecureBuffer secret = SecureBuffer::CopyOf(all.data(), all.size());
  SecureBuffer enc = Base64EncodeSecret(secret);
  ASSERT_EQ(enc.size(), 344u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(enc.data()), enc.size()),
            Base64Encode(all.data(), all.size()));
  auto dec = Base64DecodeSecret(reinterpret_cast<const char*>(enc.data()), enc.size());
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(dec->Equals(secret));
}

TEST(Base64Test, RejectsInvalidInput) {
  const char* bad[] = {
      "Zg",        // unpadded
      "Zg=",       // short padding
      "Zm9",       // length not a multiple of 4
      "Zm9v!A==",  // character outside the alphabet
      "Zm9v-_==",  // base64url alphabet
      "Zg==Zg==",  // padding in the middle
      "Z===",      // three padding characters
      "====",      // nothing but padding
      "Zm=v",      // '=' followed by data
      " Zm9v",     // leading whitespace EVP_DecodeBlock would skip
      "Zm9v\n",    // trailing newline
      "Zm9v    ",  // trailing spaces EVP_DecodeBlock would strip
  };
  for (const char* text : bad) {
    auto d = Base64Decode(text);
    EXPECT_FALSE(d.ok()) << "accepted '" << text << "'";
    EXPECT_EQ(d.status().code(), Code::kInvalidArgument) << text;
    auto s = Base64DecodeSecret(text, std::strlen(text));
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument) << text;
  }
}

TEST(Base64Test, ErrorMessageDoesNotEchoInput) {
  const std::string text = "c2VjcmV0a2V5!!==";
  auto d = Base64Decode(text);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message().find("c2VjcmV0"), std::string::npos) << d.status().message();
  EXPECT_NE(d.status().message().find("position 12"), std::string::npos) << d.status().message();
}

TEST(Base64Test, EmbeddedNulIsRejected) {
  const std::string text("Zm9v\0AAA", 8);
  EXPECT_EQ(Base64Decode(text).status().code(), Code::kInvalidArgument);
}

TEST(HexTest, LowercaseWithoutSeparators) {
  const uint8_t data[] = {0x00, 0x01, 0xab, 0xCD, 0xff};
  EXPECT_EQ(HexEncode(data, sizeof data), "0001abcdff");
  EXPECT_EQ(HexEncode(nullptr, 0), "");
}

TEST(Sha256Test, Fips180Examples) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(RandomTest, RandomKeyHasRequestedSizeAndDiffers) {
  auto a = RandomKey(32);
  auto b = RandomKey(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_FALSE(a->Equals(*b)) << "two 256-bit random keys collided";
  EXPECT_FALSE(a->Equals(SecureBuffer(32))) << "random key is all zero";
}

TEST(RandomTest, RandomKeyOfZeroIsInvalidArgument) {
  EXPECT_EQ(RandomKey(0).status().code(), Code::kInvalidArgument);
}

TEST(RandomTest, UnmappableKeySizeIsResourceExhausted) {
  auto r = RandomKey(size_t{1} << 62);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("locked memory"), std::string::npos);
}

TEST(RandomTest, RandomBytesFillsBuffer) {
  std::set<std::vector<uint8_t>> seen;
  for (int i = 0; i < 8; ++i) {
    std::vector<uint8_t> nonce(12, 0);
    ASSERT_TRUE(RandomBytes(nonce.data(), nonce.size()).ok());
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 8u) << "96-bit random nonces repeated";
  EXPECT_TRUE(RandomBytes(nullptr, 0).ok());
  EXPECT_EQ(RandomBytes(nullptr, 4).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace keyring_locker::crypto
