// The pieces of the KMIP store and wrapper that need no server: object
// names, the metadata encoding, the create protocol's decision, the wrapped
// text format, and the messages they added to the KMIP message layer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "keyring_backend/kmip/kmip_create_race.h"
#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_object_layout.h"
#include "keyring_backend/kmip/kmip_wrapper.h"

namespace keyring_locker::kmip {
namespace {

using crypto::SecureBuffer;
using ::testing::HasSubstr;

// ---- names ----

TEST(KmipObjectLayout, NamesArePrintableAndParseBackToExactlyTheirKey) {
  const KmipObjectLayout layout("keyring_locker", "prod/db1");
  EXPECT_EQ(layout.Group(), "keyring_locker/prod/db1");
  EXPECT_EQ(layout.KeyName("18", 3), "keyring_locker/prod/db1/18/3");
  EXPECT_EQ(layout.MarkerName("a/b", 2), "keyring_locker/prod/db1/a%2Fb/2.deleted");
  for (const std::string& name :
       {std::string("1"), std::string("a/b"), std::string("with space"), std::string(".."), std::string("%41"),
        std::string("\xc3\xa4"), std::string("x\ny"), std::string(1, '\0'), std::string(256, 'z')}) {
    for (uint32_t version : {1u, 10u, 0xFFFFFFFEu}) {
      for (bool marker : {false, true}) {
        const std::string object = marker ? layout.MarkerName(name, version) : layout.KeyName(name, version);
        for (unsigned char c : object) ASSERT_TRUE(c >= 0x21 && c < 0x7F) << object;
        auto parsed = layout.Parse(object);
        ASSERT_TRUE(parsed.has_value()) << object;
        EXPECT_EQ(parsed->name, name);
        EXPECT_EQ(parsed->version, version);
        EXPECT_EQ(parsed->marker, marker);
      }
    }
  }
}

TEST(KmipObjectLayout, OtherTextIsNotOneOfOurNames) {
  const KmipObjectLayout layout("keyring_locker", "prod/db1");
  for (const char* other : {
           "keyring_locker/prod/db2/1/1",        // another scope
           "keyring_locker/prod/db1x/1/1",       // a scope that starts alike
           "keyring_locker/prod/db1/1",          // no version
           "keyring_locker/prod/db1/1/0",        // version 0
           "keyring_locker/prod/db1/1/01",       // not canonical
           "keyring_locker/prod/db1/1/4294967295",
           "keyring_locker/prod/db1/1/2.deleted.deleted",
           "keyring_locker/prod/db1/1/2.DELETED",
           "keyring_locker/prod/db1/%61/1",      // "a" escaped: not how we write it
           "keyring_locker/prod/db1/%2f/1",      // lower-case escape
           "keyring_locker/prod/db1/a/b/1",      // a slash in the name segment
           "keyring_locker/prod/db1//1",
           "keyring_locker/prod/db1/a b/1",
           "",
       }) {
    EXPECT_FALSE(layout.Parse(other).has_value()) << other;
  }
}

TEST(KmipObjectLayout, PrefixAndScopeMustBePrintableWithoutSpaces) {
  EXPECT_TRUE(KmipObjectLayout::CheckScope("keyring_locker", "prod/db1").ok());
  for (const auto& [prefix, scope] : std::vector<std::pair<std::string, std::string>>{
           {"", "s"}, {"p", ""}, {"p", "a b"}, {"p", "\xc3\xa4"}, {"p\n", "s"}, {"p", std::string(201, 's')}}) {
    Status s = KmipObjectLayout::CheckScope(prefix, scope);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << prefix << "|" << scope;
    EXPECT_THAT(s.message(), HasSubstr("printable ASCII"));
  }
}

// ---- metadata ----

RecordMetadata Sample() {
  RecordMetadata m;
  m.format = "keyring_locker/store-protected/1";
  m.type = "AES";
  m.length = 32;
  m.wrapper = "none";
  m.created = "2026-12-05T08:00:00Z";
  m.creator = "db host;1 = %x\n\xc3\xa4";
  m.origin = "locker";
  m.attempt = "0a1b2c3d4e5f-7";
  return m;
}

TEST(KmipMetadata, RecordRoundTripsAndIsPrintable) {
  const RecordMetadata m = Sample();
  const std::string text = KmipObjectLayout::EncodeRecord(m);
  EXPECT_EQ(text,
            "klk1;f=keyring_locker/store-protected/1;t=AES;l=32;w=none;s=key;c=2026-12-05T08:00:00Z;"
            "b=db%20host%3B1%20%3D%20%25x%0A%C3%A4;o=locker;a=0a1b2c3d4e5f-7");
  auto back = KmipObjectLayout::DecodeRecord(text, "obj");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->format, m.format);
  EXPECT_EQ(back->creator, m.creator);
  EXPECT_EQ(back->length, 32u);
  EXPECT_FALSE(back->wrapped);
  EXPECT_EQ(back->attempt, m.attempt);
  RecordMetadata w = m;
  w.wrapped = true;
  EXPECT_TRUE(KmipObjectLayout::DecodeRecord(KmipObjectLayout::EncodeRecord(w), "obj")->wrapped);
}

TEST(KmipMetadata, RecordParsingIsStrict) {
  const std::string good = KmipObjectLayout::EncodeRecord(Sample());
  auto swap = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const std::string& bad : {
           std::string(""), std::string("klk1"), std::string("klk2") + good.substr(4),
           swap(";t=AES", ""),                          // a field missing
           good + ";x=1",                               // one too many
           swap(";t=AES;l=32", ";l=32;t=AES"),          // out of order
           swap("l=32", "l=032"), swap("l=32", "l=-1"), swap("l=32", "l=99999999999"), swap("l=32", "l="),
           swap("s=key", "s=bare"),
           swap("%20", "%2"),                           // cut escape
           swap("%3B", "%3b"),                          // lower-case hex
           swap("t=AES", "t=%41ES"),                    // needless escape
           swap("t=AES", "t=A ES"),                     // unescaped space
           good.substr(0, good.size() - 1) + "\xff",    // raw byte
           std::string(5000, 'k'),
       }) {
    auto r = KmipObjectLayout::DecodeRecord(bad, "KMIP object x/1 (uid 7)");
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("KMIP object x/1 (uid 7)")) << bad;
  }
}

TEST(KmipMetadata, MarkerRoundTripsAndIsStrict) {
  MarkerMetadata m;
  m.deleted_at = "2026-12-05T08:01:00Z";
  m.deleted_unix = 1796457660;
  m.deleted_by = "host:2";
  m.attempt = "a-1";
  const std::string text = KmipObjectLayout::EncodeMarker(m);
  EXPECT_EQ(text, "klk-del1;d=2026-12-05T08:01:00Z;u=1796457660;b=host:2;a=a-1");
  auto back = KmipObjectLayout::DecodeMarker(text, "m");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->deleted_unix, m.deleted_unix);
  EXPECT_EQ(back->deleted_by, m.deleted_by);
  m.deleted_unix = -5;
  EXPECT_EQ(KmipObjectLayout::DecodeMarker(KmipObjectLayout::EncodeMarker(m), "m")->deleted_unix, -5);
  for (const char* bad : {"klk-del1;d=x;u=-0;b=;a=", "klk-del1;d=x;u=1x;b=;a=", "klk-del1;d=x;u=;b=;a=",
                          "klk-del1;d=x;u=1;b=", "klk1;d=x;u=1;b=;a="}) {
    EXPECT_EQ(KmipObjectLayout::DecodeMarker(bad, "m").status().code(), Code::kDataLoss) << bad;
  }
}

// ---- the create protocol's decision ----

Contender C(const std::string& uid, uint32_t state, int64_t date, const std::string& attempt = "") {
  return Contender{uid, state, date, attempt};
}

TEST(KmipCreateRace, UidOrderIsTotalAndNumericForDecimals) {
  EXPECT_TRUE(UidBefore("9", "10"));
  EXPECT_FALSE(UidBefore("10", "9"));
  EXPECT_TRUE(UidBefore("10", "a"));
  EXPECT_TRUE(UidBefore("abc", "abd"));
  EXPECT_TRUE(UidBefore("0", "1"));
  EXPECT_TRUE(UidBefore("01", "1x")) << "a non-canonical number compares as text";
  std::vector<std::string> uids = {"10", "9", "a", "01", "0", "21d28b8a-06df", "100", "B"};
  for (const auto& a : uids) {
    EXPECT_FALSE(UidBefore(a, a)) << a;
    for (const auto& b : uids) {
      if (a != b) {
        EXPECT_NE(UidBefore(a, b), UidBefore(b, a)) << a << " " << b;
      }
    }
  }
  std::sort(uids.begin(), uids.end(), UidBefore);
  EXPECT_EQ(uids, (std::vector<std::string>{"0", "9", "10", "100", "01", "21d28b8a-06df", "B", "a"}));
}

TEST(KmipCreateRace, DecidesLikeEveryOtherWriter) {
  RacePolicy policy;
  policy.abandoned_after = std::chrono::seconds(60);
  policy.finished_here = [](const std::string& a) { return a == "mine-over"; };
  const Contender self = C("20", enums::kStatePreActive, 1000);

  auto d = DecideRace(self, {}, policy);
  EXPECT_FALSE(d.lose);
  EXPECT_TRUE(d.destroy.empty());

  // Someone is Active: lose at once.
  d = DecideRace(self, {C("30", enums::kStatePreActive, 1001), C("5", enums::kStateActive, 999)}, policy);
  EXPECT_TRUE(d.lose);
  EXPECT_FALSE(d.wait);
  EXPECT_THAT(d.why, HasSubstr("object 5 is Active"));

  // A senior still Pre-Active: lose, once it is Active (wait).
  for (const Contender& senior : {C("30", enums::kStatePreActive, 999), C("19", enums::kStatePreActive, 1000)}) {
    d = DecideRace(self, {senior}, policy);
    EXPECT_TRUE(d.lose && d.wait) << senior.uid;
    EXPECT_TRUE(d.destroy.empty());
  }

  // Juniors (later, or the same second with a larger identifier) are cleared; dead ones ignored.
  d = DecideRace(self,
                 {C("21", enums::kStatePreActive, 1000), C("3", enums::kStatePreActive, 1001),
                  C("1", enums::kStateDeactivated, 10), C("2", enums::kStateCompromised, 10)},
                 policy);
  EXPECT_FALSE(d.lose);
  EXPECT_EQ(d.destroy, (std::vector<std::string>{"21", "3"}));

  // A senior left by a writer that is gone: cleared too.
  d = DecideRace(self, {C("4", enums::kStatePreActive, 940)}, policy);  // 60 s older
  EXPECT_FALSE(d.lose);
  EXPECT_EQ(d.destroy, std::vector<std::string>{"4"});
  d = DecideRace(self, {C("4", enums::kStatePreActive, 941)}, policy);  // 59 s older
  EXPECT_TRUE(d.lose);
  d = DecideRace(self, {C("4", enums::kStatePreActive, 999, "mine-over")}, policy);
  EXPECT_FALSE(d.lose);
  d = DecideRace(self, {C("4", enums::kStatePreActive, 999, "mine-running")}, policy);
  EXPECT_TRUE(d.lose);
}

TEST(KmipCreateRace, AnyTwoWritersNeverBothWin) {
  // Each pair of live objects, each seeing the other: exactly one proceeds.
  RacePolicy policy;
  const std::vector<Contender> all = {C("7", enums::kStatePreActive, 100), C("8", enums::kStatePreActive, 100),
                                      C("9", enums::kStatePreActive, 99), C("a", enums::kStatePreActive, 100)};
  for (const Contender& x : all) {
    for (const Contender& y : all) {
      if (x.uid == y.uid) continue;
      const bool x_wins = !DecideRace(x, {y}, policy).lose;
      const bool y_wins = !DecideRace(y, {x}, policy).lose;
      EXPECT_NE(x_wins, y_wins) << x.uid << " vs " << y.uid;
    }
  }
}

TEST(KmipCreateRace, AttemptsAreRecognisedOnlyWhenOursAndOver) {
  CreateAttempts attempts, other;
  const std::string a = attempts.Begin();
  EXPECT_FALSE(attempts.FinishedHere(a));
  attempts.End(a);
  EXPECT_TRUE(attempts.FinishedHere(a));
  EXPECT_FALSE(other.FinishedHere(a)) << "another process's (another tag's) attempt is never ours";
  EXPECT_FALSE(attempts.FinishedHere(""));
  EXPECT_NE(attempts.Begin(), attempts.Begin());
}

// ---- the wrapped text ----

TEST(KmipWrappedText, RoundTripsAndRefusesEverythingElse) {
  KmipWrapper::Sealed s;
  s.nonce.assign(12, 0xA0);
  s.ciphertext = {1, 2, 3, 4, 5};
  s.tag.assign(16, 0x7F);
  const std::string text = KmipWrapper::Format(s);
  EXPECT_EQ(text, "kmip:v1:gcm:oKCgoKCgoKCgoKCg:AQIDBAU=:f39/f39/f39/f39/f39/fw==");
  auto back = KmipWrapper::Parse(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ciphertext, s.ciphertext);
  EXPECT_EQ(back->tag, s.tag);
  auto swap = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  for (const std::string& bad : {
           std::string(""), std::string("kmip:v1:gcm:"), swap("v1", "v2"), swap("gcm", "cbc"),
           swap(":AQIDBAU=", ""),                              // two fields
           text + ":AA==",                                     // four
           swap("oKCgoKCgoKCgoKCg", "oKCgoKCgoKCgoKA="),       // 11-byte nonce
           swap("/fw==", "/fx=="),                             // padding bits set: not canonical
           swap("AQIDBAU=", "AQIDBAU"),                        // padding missing
           swap("AQIDBAU=", ""),                               // empty ciphertext
           swap("f39/f39/f39/f39/f39/fw==", "f39/f39/f39/f39/f39/"),  // 15-byte tag
           "kmip:v1:gcm:" + std::string(200000, 'A'),
       }) {
    EXPECT_EQ(KmipWrapper::Parse(bad).status().code(), Code::kInvalidArgument) << bad.substr(0, 80);
  }
}

// ---- messages the store added ----

TEST(KmipStoreMessages, RegisterSecretDataCarriesTheBytesOpaque) {
  SecretDataAttributes a;
  a.name = "p/s/k/1";
  a.object_group = "p/s";
  a.application_info = {{"keyring_locker", "klk1;x"}};
  RequestOptions o;
  o.version = kKmip1_4;
  auto wire = BuildRegisterSecretDataRequest(o, a, SecureBuffer::CopyOf(std::string("wrapped")));
  ASSERT_TRUE(wire.ok());
  auto msg = DecodeTtlv(wire->data(), wire->size());
  ASSERT_TRUE(msg.ok());
  const TtlvItem* payload = *(*msg->ChildStructure(tag::kBatchItem))->ChildStructure(tag::kRequestPayload);
  EXPECT_EQ(*payload->ChildEnumeration(tag::kObjectType), enums::kObjectSecretData);
  const TtlvItem* secret = *payload->ChildStructure(tag::kSecretData);
  EXPECT_EQ(*secret->ChildEnumeration(tag::kSecretDataType), enums::kSecretDataSeed);
  const TtlvItem* block = *secret->ChildStructure(tag::kKeyBlock);
  EXPECT_EQ(*block->ChildEnumeration(tag::kKeyFormatType), enums::kKeyFormatOpaque);
  const SecureBuffer* bytes = *(*block->ChildStructure(tag::kKeyValue))->ChildByteString(tag::kKeyMaterial);
  EXPECT_TRUE(bytes->Equals("wrapped", 7));
  // Name, Object Group and one Application Specific Information (no index for one value).
  const TtlvItem* t = *payload->ChildStructure(tag::kTemplateAttribute);
  std::vector<std::string> names;
  for (const TtlvItem* attribute : t->FindAll(tag::kAttribute)) {
    names.push_back(*attribute->ChildTextString(tag::kAttributeName));
    EXPECT_EQ(attribute->FindAll(tag::kAttributeIndex).size(), 0u);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Object Group", "Application Specific Information"}));
  EXPECT_EQ(BuildRegisterSecretDataRequest(o, a, SecureBuffer()).status().code(), Code::kInvalidArgument);
}

TEST(KmipStoreMessages, SeveralApplicationInfosAreIndexedAndLocateTakesAState) {
  KeyAttributes k;
  k.application_info = {{"a", "1"}, {"b", "2"}};
  RequestOptions o;
  auto wire = BuildCreateRequest(o, k);
  ASSERT_TRUE(wire.ok());
  auto msg = DecodeTtlv(wire->data(), wire->size());
  const TtlvItem* payload = *(*msg->ChildStructure(tag::kBatchItem))->ChildStructure(tag::kRequestPayload);
  std::vector<int32_t> indexes;
  for (const TtlvItem* attribute : (*payload->ChildStructure(tag::kTemplateAttribute))->FindAll(tag::kAttribute)) {
    if (*attribute->ChildTextString(tag::kAttributeName) != attr::kApplicationSpecificInformation) continue;
    indexes.push_back(*attribute->ChildInteger(tag::kAttributeIndex));
  }
  EXPECT_EQ(indexes, (std::vector<int32_t>{0, 1}));

  LocateQuery q;
  q.object_type.reset();
  q.object_group = "g";
  q.state = enums::kStateActive;
  auto locate = BuildLocateRequest(o, q);
  msg = DecodeTtlv(locate->data(), locate->size());
  payload = *(*msg->ChildStructure(tag::kBatchItem))->ChildStructure(tag::kRequestPayload);
  std::vector<std::string> names;
  for (const TtlvItem* attribute : payload->FindAll(tag::kAttribute)) {
    names.push_back(*attribute->ChildTextString(tag::kAttributeName));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Object Group", "State"}));
}

SecureBuffer GetSecretReply(uint32_t object_type, uint32_t format, const std::string& data) {
  TtlvItem value = TtlvItem::Structure(tag::kKeyValue);
  value.Add(TtlvItem::ByteString(tag::kKeyMaterial, SecureBuffer::CopyOf(data)));
  TtlvItem block = TtlvItem::Structure(tag::kKeyBlock);
  block.Add(TtlvItem::Enumeration(tag::kKeyFormatType, format));
  block.Add(std::move(value));
  TtlvItem secret = TtlvItem::Structure(tag::kSecretData);
  secret.Add(TtlvItem::Enumeration(tag::kSecretDataType, enums::kSecretDataSeed));
  secret.Add(std::move(block));
  TtlvItem payload = TtlvItem::Structure(tag::kResponsePayload);
  payload.Add(TtlvItem::Enumeration(tag::kObjectType, object_type));
  payload.Add(TtlvItem::TextString(tag::kUniqueIdentifier, "5"));
  payload.Add(std::move(secret));
  TtlvItem version = TtlvItem::Structure(tag::kProtocolVersion);
  version.Add(TtlvItem::Integer(tag::kProtocolVersionMajor, 1));
  version.Add(TtlvItem::Integer(tag::kProtocolVersionMinor, 4));
  TtlvItem header = TtlvItem::Structure(tag::kResponseHeader);
  header.Add(std::move(version));
  header.Add(TtlvItem::Integer(tag::kBatchCount, 1));
  TtlvItem item = TtlvItem::Structure(tag::kBatchItem);
  item.Add(TtlvItem::Enumeration(tag::kOperation, static_cast<uint32_t>(Operation::kGet)));
  item.Add(TtlvItem::Enumeration(tag::kResultStatus, enums::kResultSuccess));
  item.Add(std::move(payload));
  TtlvItem msg = TtlvItem::Structure(tag::kResponseMessage);
  msg.Add(std::move(header));
  msg.Add(std::move(item));
  return std::move(EncodeTtlv(msg)).value();
}

TEST(KmipStoreMessages, GetSecretDataReadsOpaqueDataOnly) {
  ResponseOptions o;
  o.version = kKmip1_4;
  SecureBuffer good = GetSecretReply(enums::kObjectSecretData, enums::kKeyFormatOpaque, "kmip:v1:gcm:...");
  auto secret = ParseGetSecretDataResponse(good.data(), good.size(), "5", o);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_TRUE(secret->data.Equals("kmip:v1:gcm:...", 15));
  EXPECT_EQ(secret->secret_data_type, enums::kSecretDataSeed);
  EXPECT_EQ(ParseGetSecretDataResponse(good.data(), good.size(), "6", o).status().code(), Code::kDataLoss);
  SecureBuffer key = GetSecretReply(enums::kObjectSymmetricKey, enums::kKeyFormatOpaque, "x");
  EXPECT_EQ(ParseGetSecretDataResponse(key.data(), key.size(), "5", o).status().code(), Code::kFailedPrecondition);
  SecureBuffer raw = GetSecretReply(enums::kObjectSecretData, enums::kKeyFormatRaw, "x");
  EXPECT_THAT(ParseGetSecretDataResponse(raw.data(), raw.size(), "5", o).status().message(),
              HasSubstr("Opaque (2) format only"));
}

}  // namespace
}  // namespace keyring_locker::kmip
