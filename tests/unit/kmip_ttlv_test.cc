// TTLV codec: the KMIP spec's own encodings (KMIP 1.x spec 9.1.2), round
// trips, every refusal of the decoder with the offset it names, the limits,
// and that key bytes only ever sit in SecureBuffers.
#include "keyring_backend/kmip/ttlv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/kmip_test_vectors.h"

namespace keyring_locker::kmip {
namespace {

using crypto::SecureBuffer;
using ::testing::HasSubstr;
using testing::Hex;
using testing::Unhex;
using testing::Upper;

constexpr Tag kCompromiseDate = 0x420020;  // the tag the spec's examples use

SecureBuffer Bytes(const std::string& hex) {
  const std::vector<uint8_t> b = Unhex(hex);
  return SecureBuffer::CopyOf(b.data(), b.size());
}

std::string Encoded(const TtlvItem& item) {
  StatusOr<SecureBuffer> out = EncodeTtlv(item);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? Upper(Hex(*out)) : std::string();
}

std::string Flat(const std::string& spaced) { return Upper(Hex(Unhex(spaced))); }

StatusOr<TtlvItem> Decode(const std::vector<uint8_t>& bytes, const TtlvLimits& limits = TtlvLimits()) {
  return DecodeTtlv(bytes.data(), bytes.size(), limits);
}

// ---- the spec's examples, byte for byte, both ways ----

struct SpecExample {
  const char* what;
  TtlvItem (*make)();
  const char* wire;
};

const SpecExample kSpecExamples[] = {
    {"Integer 8", [] { return TtlvItem::Integer(kCompromiseDate, 8); },
     "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"},
    {"Long Integer 123456789000000000", [] { return TtlvItem::LongInteger(kCompromiseDate, 123456789000000000); },
     "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"},
    {"Big Integer 1234567890000000000000000000",
     [] { return TtlvItem::BigInteger(kCompromiseDate, Bytes("0000000003FD35EB6BC2DF4618080000")); },
     "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00"},
    {"Enumeration 255", [] { return TtlvItem::Enumeration(kCompromiseDate, 255); },
     "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"},
    {"Boolean True", [] { return TtlvItem::Boolean(kCompromiseDate, true); },
     "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"},
    {"Text String Hello World", [] { return TtlvItem::TextString(kCompromiseDate, "Hello World"); },
     "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"},
    {"Byte String 01 02 03", [] { return TtlvItem::ByteString(kCompromiseDate, Bytes("010203")); },
     "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"},
    {"Date-Time Friday, March 14, 2008, 11:56:40 GMT", [] { return TtlvItem::DateTime(kCompromiseDate, 0x47DA67F8); },
     "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"},
    {"Interval 10 days", [] { return TtlvItem::Interval(kCompromiseDate, 10 * 24 * 3600); },
     "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00"},
    {"Structure of Enumeration 254 and Integer 255",
     [] {
       TtlvItem s = TtlvItem::Structure(kCompromiseDate);
       s.Add(TtlvItem::Enumeration(0x420004, 254));
       s.Add(TtlvItem::Integer(0x420005, 255));
       return s;
     },
     "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | "
     "42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"},
};

TEST(KmipTtlv, EncodesTheSpecExamplesByteForByte) {
  for (const SpecExample& e : kSpecExamples) {
    EXPECT_EQ(Encoded(e.make()), Flat(e.wire)) << e.what;
  }
}

TEST(KmipTtlv, DecodesTheSpecExamplesToTheSameValues) {
  for (const SpecExample& e : kSpecExamples) {
    StatusOr<TtlvItem> got = Decode(Unhex(e.wire));
    ASSERT_TRUE(got.ok()) << e.what << ": " << got.status().ToString();
    EXPECT_EQ(Encoded(*got), Flat(e.wire)) << e.what;
    const TtlvItem want = e.make();
    EXPECT_EQ(got->type(), want.type()) << e.what;
    EXPECT_EQ(got->tag(), kCompromiseDate) << e.what;
    EXPECT_EQ(got->number(), want.number()) << e.what;
    EXPECT_EQ(got->text(), want.text()) << e.what;
    EXPECT_TRUE(got->bytes().Equals(want.bytes())) << e.what;
  }
  StatusOr<TtlvItem> date = Decode(Unhex(kSpecExamples[7].wire));
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(*date->AsDateTime(), 1205495800);  // 2008-03-14T11:56:40Z
  StatusOr<TtlvItem> s = Decode(Unhex(kSpecExamples[9].wire));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->ChildEnumeration(0x420004), 254u);
  EXPECT_EQ(*s->ChildInteger(0x420005), 255);
}

TEST(KmipTtlv, RoundTripsEveryTypeNestedAndSigned) {
  TtlvItem inner = TtlvItem::Structure(0x420091);
  inner.Add(TtlvItem::Integer(0x42000D, -1));
  inner.Add(TtlvItem::LongInteger(0x42000D, INT64_MIN));
  inner.Add(TtlvItem::BigInteger(0x42000D, Bytes("FFFFFFFFFFFFFF85")));
  inner.Add(TtlvItem::Enumeration(0x42000D, 0xFFFFFFFF));
  inner.Add(TtlvItem::Boolean(0x42000D, false));
  inner.Add(TtlvItem::TextString(0x42000D, ""));
  inner.Add(TtlvItem::TextString(0x42000D, "exactly8"));
  inner.Add(TtlvItem::ByteString(0x42000D, SecureBuffer()));
  inner.Add(TtlvItem::DateTime(0x42000D, -5));
  inner.Add(TtlvItem::Interval(0x42000D, 0xFFFFFFFF));
  TtlvItem root = TtlvItem::Structure(0x54ABCD);  // an extension tag
  root.Add(std::move(inner));
  root.Add(TtlvItem::Structure(0x420079));  // empty structure
  const std::string wire = Encoded(root);
  StatusOr<TtlvItem> back = Decode(Unhex(wire));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Encoded(*back), wire);
  const TtlvItem& in = back->children()[0];
  ASSERT_EQ(in.children().size(), 10u);
  EXPECT_EQ(*in.children()[0].AsInteger(), -1);
  EXPECT_EQ(*in.children()[1].AsLongInteger(), INT64_MIN);
  EXPECT_EQ(*in.children()[3].AsEnumeration(), 0xFFFFFFFFu);
  EXPECT_FALSE(*in.children()[4].AsBoolean());
  EXPECT_EQ(*in.children()[6].AsTextString(), "exactly8");
  EXPECT_EQ(*in.children()[8].AsDateTime(), -5);
  EXPECT_EQ(*in.children()[9].AsInterval(), 0xFFFFFFFFu);
  EXPECT_THAT(wire, HasSubstr("42000D0200000004FFFFFFFF00000000"));  // -1, padded with zeros
  EXPECT_THAT(wire, HasSubstr("42000D070000000042000D0700000008"));  // empty text: header only
}

TEST(KmipTtlv, DecodesFullKmipMessagesAndReencodesThemIdentically) {
  for (const char* hex : {testing::kPykmipCreateRequest, testing::kPykmipGetResponse3des, testing::kUc41GetResponse,
                          testing::kTc121QueryResponse, testing::kUc41AddAttributeBatchResponse}) {
    StatusOr<TtlvItem> msg = Decode(Unhex(hex));
    ASSERT_TRUE(msg.ok()) << msg.status().ToString();
    EXPECT_EQ(Encoded(*msg), hex);
  }
}

// ---- what the decoder refuses ----

void ExpectRefused(const std::string& spaced, Code code, const std::string& text,
                   const TtlvLimits& limits = TtlvLimits()) {
  StatusOr<TtlvItem> got = Decode(Unhex(spaced), limits);
  ASSERT_FALSE(got.ok()) << spaced;
  EXPECT_EQ(got.status().code(), code) << got.status().ToString();
  EXPECT_THAT(got.status().message(), HasSubstr(text)) << spaced;
}

TEST(KmipTtlvDecode, RefusesMalformedItemsNamingTheProblemAndOffset) {
  ExpectRefused("", Code::kDataLoss, "empty TTLV message");
  ExpectRefused("41 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00", Code::kDataLoss,
                "bad TTLV tag 0x410020 at offset 0");
  ExpectRefused("42 00 20 | 0B | 00 00 00 08 | 00 00 00 00 00 00 00 00", Code::kDataLoss,
                "unknown TTLV item type 0x0B for tag 0x420020 at offset 0");
  ExpectRefused("42 00 20 | 00 | 00 00 00 00", Code::kDataLoss, "unknown TTLV item type 0x00");
  ExpectRefused("42 00 20 | 02 | 00 00 00 08 | 00 00 00 08 00 00 00 00", Code::kDataLoss,
                "Integer tag 0x420020 at offset 0 has length 8; the type's length is 4");
  ExpectRefused("42 00 20 | 06 | 00 00 00 04 | 00 00 00 01 00 00 00 00", Code::kDataLoss,
                "has length 4; the type's length is 8");
  ExpectRefused("42 00 20 | 0A | 00 00 00 08 | 00 00 00 00 00 0D 2F 00", Code::kDataLoss,
                "the type's length is 4");
  ExpectRefused("42 00 20 | 04 | 00 00 00 04 | 00 00 00 01 00 00 00 00", Code::kDataLoss,
                "non-zero multiple of 8");
  ExpectRefused("42 00 20 | 04 | 00 00 00 00", Code::kDataLoss, "non-zero multiple of 8");
  ExpectRefused("42 00 20 | 01 | 00 00 00 04 | 00 00 00 00 00 00 00 00", Code::kDataLoss, "multiple of 8");
  ExpectRefused("42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02", Code::kDataLoss,
                "neither 0 (False) nor 1 (True)");
}

TEST(KmipTtlvDecode, RefusesTruncationAtEveryLengthOfARealMessage) {
  const std::vector<uint8_t> whole = Unhex(testing::kUc41GetResponse);
  for (size_t n = 0; n < whole.size(); ++n) {
    const std::vector<uint8_t> prefix(whole.begin(), whole.begin() + n);
    StatusOr<TtlvItem> got = Decode(prefix);
    ASSERT_FALSE(got.ok()) << n;
    EXPECT_EQ(got.status().code(), Code::kDataLoss) << n;
  }
  ExpectRefused("42 00 20 | 02 | 00", Code::kDataLoss, "an item header at offset 0 needs 8 bytes, 5 remain");
  ExpectRefused("42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F", Code::kDataLoss,
                "Text String tag 0x420020 at offset 0 declares 11 value bytes (16 with padding) but 8 remain");
  // A child that runs past the end of its Structure, though not of the message.
  ExpectRefused(
      "42 00 20 | 01 | 00 00 00 10 | 42 00 04 | 07 | 00 00 00 10 | 41 41 41 41 41 41 41 41 | "
      "42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
      Code::kDataLoss, "8 remain in the enclosing Structure");
}

TEST(KmipTtlvDecode, RefusesNonZeroPaddingAndTrailingBytes) {
  ExpectRefused("42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 01 00", Code::kDataLoss,
                "non-zero padding byte at offset 14");
  ExpectRefused("42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 FF", Code::kDataLoss,
                "non-zero padding byte at offset 15");
  ExpectRefused("42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00 | 42 00 20 | 02 | 00 00 00 04 | 00 00 00 "
                "08 00 00 00 00",
                Code::kDataLoss, "16 trailing bytes after the TTLV item that ends at offset 16");
}

// Structures nested `levels` deep (the outermost is level 1).
std::vector<uint8_t> Nested(size_t levels) {
  TtlvItem item = TtlvItem::Integer(0x420005, 1);
  for (size_t i = 1; i < levels; ++i) {
    TtlvItem s = TtlvItem::Structure(0x420004);
    s.Add(std::move(item));
    item = std::move(s);
  }
  StatusOr<SecureBuffer> wire = EncodeTtlv(item);
  return std::vector<uint8_t>(wire->data(), wire->data() + wire->size());
}

TEST(KmipTtlvLimits, NestingDeeperThanTheLimitIsRefused) {
  TtlvLimits limits;
  limits.max_depth = 16;
  EXPECT_TRUE(Decode(Nested(16), limits).ok());
  StatusOr<TtlvItem> deep = Decode(Nested(17), limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(deep.status().message(), HasSubstr("nesting deeper than 16 levels (limit max_depth) at offset 128"));
  // A thousand levels cannot take the stack down either.
  EXPECT_EQ(Decode(Nested(1000)).status().code(), Code::kResourceExhausted);
}

TEST(KmipTtlvLimits, ItemCountByteStringsAndSizeAreBounded) {
  TtlvItem many = TtlvItem::Structure(0x420004);
  for (int i = 0; i < 10; ++i) many.Add(TtlvItem::ByteString(0x420005, Bytes("01")));
  StatusOr<SecureBuffer> wire = EncodeTtlv(many);
  ASSERT_TRUE(wire.ok());
  const std::vector<uint8_t> bytes(wire->data(), wire->data() + wire->size());

  TtlvLimits limits;
  EXPECT_TRUE(Decode(bytes, limits).ok());
  limits.max_items = 10;  // the structure and ten children are eleven
  StatusOr<TtlvItem> got = Decode(bytes, limits);
  EXPECT_EQ(got.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(got.status().message(), HasSubstr("more than 10 items (limit max_items), at offset 152"));

  limits = TtlvLimits();
  limits.max_byte_strings = 9;
  got = Decode(bytes, limits);
  EXPECT_EQ(got.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(got.status().message(), HasSubstr("more than 9 Byte Strings and Big Integers"));

  limits = TtlvLimits();
  limits.max_message_bytes = bytes.size() - 1;
  got = Decode(bytes, limits);
  EXPECT_EQ(got.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(got.status().message(), HasSubstr("168 bytes is larger than the limit of 167"));
}

TEST(KmipTtlvLimits, ImpossibleLimitsAreTheCallersError) {
  TtlvLimits limits;
  limits.max_depth = 0;
  EXPECT_EQ(Decode(Nested(1), limits).status().code(), Code::kInvalidArgument);
  limits.max_depth = kTtlvMaxSupportedDepth + 1;
  EXPECT_EQ(Decode(Nested(1), limits).status().code(), Code::kInvalidArgument);
}

TEST(KmipTtlvMessageSize, ReadsTheTotalFromTheHeaderWithinTheLimit) {
  const std::vector<uint8_t> msg = Unhex(testing::kUc41GetResponse);
  StatusOr<size_t> total = TtlvMessageSize(msg.data(), 8);
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(*total, msg.size());

  TtlvLimits small;
  small.max_message_bytes = msg.size() - 8;
  EXPECT_EQ(TtlvMessageSize(msg.data(), 8, small).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(TtlvMessageSize(msg.data(), 7).status().code(), Code::kInvalidArgument);
  const std::vector<uint8_t> not_structure = Unhex("42007B0200000004");
  EXPECT_THAT(TtlvMessageSize(not_structure.data(), 8).status().message(), HasSubstr("a message is a Structure"));
  const std::vector<uint8_t> odd = Unhex("42007B010000000C");
  EXPECT_EQ(TtlvMessageSize(odd.data(), 8).status().code(), Code::kDataLoss);
  const std::vector<uint8_t> bad_tag = Unhex("00007B0100000008");
  EXPECT_EQ(TtlvMessageSize(bad_tag.data(), 8).status().code(), Code::kDataLoss);
  const std::vector<uint8_t> huge = Unhex("42007B01FFFFFFF8");
  EXPECT_EQ(TtlvMessageSize(huge.data(), 8).status().code(), Code::kResourceExhausted);
}

// ---- encoder refusals ----

TEST(KmipTtlvEncode, RefusesTreesThatCannotBeEncoded) {
  StatusOr<SecureBuffer> bad_tag = EncodeTtlv(TtlvItem::Integer(0x430001, 1));
  EXPECT_EQ(bad_tag.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(bad_tag.status().message(), HasSubstr("cannot encode tag 0x430001"));
  EXPECT_EQ(EncodeTtlv(TtlvItem::Integer(0x1000000, 1)).status().code(), Code::kInvalidArgument);

  StatusOr<SecureBuffer> big = EncodeTtlv(TtlvItem::BigInteger(0x420020, Bytes("010203")));
  EXPECT_THAT(big.status().message(), HasSubstr("multiple of 8 bytes, not 3"));

  TtlvItem integer = TtlvItem::Integer(0x420020, 1);
  integer.Add(TtlvItem::Integer(0x420020, 2));
  TtlvItem parent = TtlvItem::Structure(0x420004);
  parent.Add(std::move(integer));
  StatusOr<SecureBuffer> children = EncodeTtlv(parent);
  EXPECT_EQ(children.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(children.status().message(), HasSubstr("cannot hold children"));
}

// ---- accessors ----

TEST(KmipTtlvAccess, MissingRepeatedAndMistypedFieldsAreNamed) {
  TtlvItem s = TtlvItem::Structure(0x42007C);
  s.Add(TtlvItem::TextString(0x420094, "a"));
  s.Add(TtlvItem::TextString(0x420094, "b"));
  s.Add(TtlvItem::Integer(0x42002A, 128));

  EXPECT_EQ(s.FindAll(0x420094).size(), 2u);
  StatusOr<std::string> twice = s.ChildTextString(0x420094);
  EXPECT_EQ(twice.status().code(), Code::kDataLoss);
  EXPECT_THAT(twice.status().message(),
              HasSubstr("Response Payload (0x42007C) holds Unique Identifier (0x420094) more than once"));

  StatusOr<int32_t> missing = s.ChildInteger(0x420057);
  EXPECT_THAT(missing.status().message(), HasSubstr("Response Payload (0x42007C) has no Object Type (0x420057)"));

  StatusOr<uint32_t> wrong = s.ChildEnumeration(0x42002A);
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("Cryptographic Length (0x42002A) is a Integer, expected a Enumeration"));
  EXPECT_EQ(*s.ChildInteger(0x42002A), 128);
  EXPECT_EQ(s.ChildStructure(0x42002A).status().code(), Code::kDataLoss);

  StatusOr<const TtlvItem*> absent = s.OptionalChild(0x420057);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, nullptr);
  // A primitive has no children to find.
  EXPECT_EQ(*TtlvItem::Integer(0x420001, 1).OptionalChild(0x420001), nullptr);
}

// ---- key bytes stay in SecureBuffers ----

TEST(KmipTtlvSecrets, ByteStringsDecodeIntoSecureBuffersThatAreFreedWithTheTree) {
  const size_t before = SecureBuffer::LiveBuffers();
  {
    StatusOr<TtlvItem> msg = Decode(Unhex(testing::kUc41GetResponse));
    ASSERT_TRUE(msg.ok());
    // One Byte String in the message: the Key Material.
    EXPECT_EQ(SecureBuffer::LiveBuffers(), before + 1);
    StatusOr<SecureBuffer> wire = EncodeTtlv(*msg);
    ASSERT_TRUE(wire.ok());
    EXPECT_EQ(SecureBuffer::LiveBuffers(), before + 2);  // the encoded message is one too
  }
  EXPECT_EQ(SecureBuffer::LiveBuffers(), before);
}

}  // namespace
}  // namespace keyring_locker::kmip
