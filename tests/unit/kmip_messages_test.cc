// KMIP 1.x message layer: requests byte for byte against the OASIS use-case
// and test-case documents, their responses read back, and every refusal:
// failures mapped to Status codes with printable server text, envelopes that
// do not fit the request, keys in forms we do not read.
#include "keyring_backend/kmip/kmip_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/kmip_test_vectors.h"

namespace keyring_locker::kmip {
namespace {

using crypto::SecureBuffer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
namespace v = testing;
using testing::Hex;
using testing::Unhex;
using testing::Upper;

constexpr ProtocolVersion kKmip1_0{1, 0};
constexpr ProtocolVersion kKmip1_1{1, 1};

RequestOptions In(ProtocolVersion version, int32_t max_response_size = 0) {
  RequestOptions o;
  o.version = version;
  o.max_response_size = max_response_size;
  return o;
}

ResponseOptions Expect(ProtocolVersion version) {
  ResponseOptions o;
  o.version = version;
  return o;
}

std::string H(const StatusOr<SecureBuffer>& wire) {
  EXPECT_TRUE(wire.ok()) << wire.status().ToString();
  return wire.ok() ? Upper(Hex(*wire)) : std::string();
}

SecureBuffer Secret(const std::string& hex) {
  const std::vector<uint8_t> b = Unhex(hex);
  return SecureBuffer::CopyOf(b.data(), b.size());
}

// The Request or Response Payload inside an encoded message, re-encoded.
std::string PayloadHex(const uint8_t* data, size_t size) {
  StatusOr<TtlvItem> msg = DecodeTtlv(data, size);
  EXPECT_TRUE(msg.ok()) << msg.status().ToString();
  if (!msg.ok()) return "";
  const TtlvItem* item = msg->FindAll(tag::kBatchItem).at(0);
  for (const TtlvItem& c : item->children()) {
    if (c.tag() == tag::kRequestPayload || c.tag() == tag::kResponsePayload) return H(EncodeTtlv(c));
  }
  return "";
}
std::string PayloadHex(const SecureBuffer& b) { return PayloadHex(b.data(), b.size()); }
std::string PayloadHex(const std::vector<uint8_t>& b) { return PayloadHex(b.data(), b.size()); }

// A response message built from parts, for the cases the documents lack.
struct ResponseParts {
  ProtocolVersion version = kKmip1_0;
  int64_t time_stamp = 0x4AFBED2B;
  std::optional<Operation> operation;
  uint32_t result_status = enums::kResultSuccess;
  std::optional<uint32_t> result_reason;
  std::string result_message;
  std::optional<TtlvItem> payload;
};

std::vector<uint8_t> Response(ResponseParts p) {
  TtlvItem version = TtlvItem::Structure(tag::kProtocolVersion);
  version.Add(TtlvItem::Integer(tag::kProtocolVersionMajor, p.version.major));
  version.Add(TtlvItem::Integer(tag::kProtocolVersionMinor, p.version.minor));
  TtlvItem header = TtlvItem::Structure(tag::kResponseHeader);
  header.Add(std::move(version));
  header.Add(TtlvItem::DateTime(tag::kTimeStamp, p.time_stamp));
  header.Add(TtlvItem::Integer(tag::kBatchCount, 1));
  TtlvItem item = TtlvItem::Structure(tag::kBatchItem);
  if (p.operation) item.Add(TtlvItem::Enumeration(tag::kOperation, static_cast<uint32_t>(*p.operation)));
  item.Add(TtlvItem::Enumeration(tag::kResultStatus, p.result_status));
  if (p.result_reason) item.Add(TtlvItem::Enumeration(tag::kResultReason, *p.result_reason));
  if (!p.result_message.empty()) item.Add(TtlvItem::TextString(tag::kResultMessage, p.result_message));
  if (p.payload) item.Add(std::move(*p.payload));
  TtlvItem msg = TtlvItem::Structure(tag::kResponseMessage);
  msg.Add(std::move(header));
  msg.Add(std::move(item));
  StatusOr<SecureBuffer> wire = EncodeTtlv(msg);
  EXPECT_TRUE(wire.ok());
  return std::vector<uint8_t>(wire->data(), wire->data() + wire->size());
}

TtlvItem Payload() { return TtlvItem::Structure(tag::kResponsePayload); }

// The Get response payload of use case 4.1 with one part of the Key Block
// changed by `edit` (which sees the Key Block's children).
TtlvItem GetPayload(uint32_t object_type, void (*edit)(std::vector<TtlvItem>&)) {
  TtlvItem value = TtlvItem::Structure(tag::kKeyValue);
  value.Add(TtlvItem::ByteString(tag::kKeyMaterial, Secret("EF7833AB15F5A1EE5874BC0D9BBC4BE7")));
  TtlvItem block = TtlvItem::Structure(tag::kKeyBlock);
  block.Add(TtlvItem::Enumeration(tag::kKeyFormatType, enums::kKeyFormatRaw));
  block.Add(std::move(value));
  block.Add(TtlvItem::Enumeration(tag::kCryptographicAlgorithm, enums::kAlgorithmAes));
  block.Add(TtlvItem::Integer(tag::kCryptographicLength, 128));
  if (edit) edit(block.mutable_children());
  TtlvItem key = TtlvItem::Structure(tag::kSymmetricKey);
  key.Add(std::move(block));
  TtlvItem p = Payload();
  p.Add(TtlvItem::Enumeration(tag::kObjectType, object_type));
  p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, v::kUc41Uid));
  p.Add(std::move(key));
  return p;
}

std::vector<uint8_t> GetResponse(uint32_t object_type, void (*edit)(std::vector<TtlvItem>&)) {
  ResponseParts p;
  p.operation = Operation::kGet;
  p.payload = GetPayload(object_type, edit);
  return Response(std::move(p));
}

// ---- requests, byte for byte ----

TEST(KmipRequests, CreateMatchesTheTestCaseAndUseCaseEncodings) {
  KeyAttributes aes128;
  aes128.length_bits = 128;
  EXPECT_EQ(H(BuildCreateRequest(In(kKmip1_1), aes128)), v::kPykmipCreateRequest);  // usage Encrypt|Decrypt

  KeyAttributes key1;
  key1.length_bits = 128;
  key1.name = "Key1";
  key1.usage_mask = enums::kUsageEncrypt;
  EXPECT_EQ(H(BuildCreateRequest(In(kKmip1_0), key1)), v::kUc41CreateRequest);
}

TEST(KmipRequests, UidOperationsMatchTheDocuments) {
  GetOptions server_format;
  server_format.key_format_type = std::nullopt;
  EXPECT_EQ(H(BuildGetRequest(In(kKmip1_1), v::kPykmipGetUid, server_format)), v::kPykmipGetRequest);
  EXPECT_EQ(H(BuildGetRequest(In(kKmip1_0), v::kUc41Uid, server_format)), v::kUc41GetRequest);
  EXPECT_EQ(H(BuildDestroyRequest(In(kKmip1_1), v::kPykmipCreateUid)), v::kPykmipDestroyRequest);
  EXPECT_EQ(H(BuildDestroyRequest(In(kKmip1_0), v::kUc41Uid)), v::kUc41DestroyRequest);
  EXPECT_EQ(H(BuildActivateRequest(In(kKmip1_0), v::kUc41Uid)), v::kUc41ActivateRequest);
  EXPECT_EQ(H(BuildGetAttributesRequest(In(kKmip1_0), v::kUc41Uid, {attr::kState})), v::kUc41GetAttributesRequest);

  Revocation compromised;
  compromised.reason_code = enums::kRevocationKeyCompromise;
  compromised.compromise_occurrence_date = 6;
  EXPECT_EQ(H(BuildRevokeRequest(In(kKmip1_0), v::kUc41Uid, compromised)), v::kUc41RevokeRequest);
}

TEST(KmipRequests, GetAsksForRawKeysByDefault) {
  StatusOr<SecureBuffer> get = BuildGetRequest(In(kKmip1_2), v::kUc41Uid);
  EXPECT_THAT(PayloadHex(*get), HasSubstr("42004205000000040000000100000000"));  // Key Format Type Raw
}

TEST(KmipRequests, LocateByNameMatchesTheDocuments) {
  LocateQuery key1;
  key1.name = "Key1";
  EXPECT_EQ(H(BuildLocateRequest(In(kKmip1_0), key1)), v::kUc41LocateRequest);
  EXPECT_EQ(H(BuildLocateRequest(In(kKmip1_1), key1)), v::kPykmipLocateRequest);

  LocateQuery group;
  group.object_type = std::nullopt;
  group.object_group = "prod";
  group.max_items = 50;
  const std::string payload = PayloadHex(*BuildLocateRequest(In(kKmip1_2), group));
  EXPECT_EQ(payload,
            "4200790100000040" "42004F02000000040000003200000000" "4200080100000028"
            "42000A070000000C4F626A6563742047726F757000000000" "42000B070000000470726F6400000000");
}

TEST(KmipRequests, DiscoverVersionsAndQueryMatchTheTestCases) {
  EXPECT_EQ(H(BuildDiscoverVersionsRequest(In(kKmip1_1), {})), v::kTc161DiscoverRequestEmpty);
  EXPECT_EQ(H(BuildDiscoverVersionsRequest(In(kKmip1_1), {kKmip1_0})), v::kTc161DiscoverRequestV10);
  EXPECT_EQ(H(BuildQueryRequest(In(kKmip1_1, 256), {enums::kQueryOperations, enums::kQueryObjects})),
            v::kTc121QueryRequest256);
  EXPECT_EQ(H(BuildQueryRequest(In(kKmip1_1, 2048),
                                {enums::kQueryOperations, enums::kQueryObjects, enums::kQueryServerInformation})),
            v::kTc121QueryRequest2048);
}

TEST(KmipRequests, AddAttributePayloadMatchesTheUseCaseBatchItem) {
  // The use case batches two Add Attributes; we send one per request, so the
  // payload is what must match.
  const std::string want = PayloadHex(Unhex(v::kUc41AddAttributeBatchRequest));
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(PayloadHex(*BuildAddAttributeRequest(In(kKmip1_0), v::kUc41Uid, "x-attribute1", "Value1")), want);
}

TEST(KmipRequests, RegisterCarriesTheKeyAsTheUseCaseServerEncodedIt) {
  KeyAttributes key1;
  key1.length_bits = 128;
  key1.name = "Key1";
  key1.usage_mask = enums::kUsageEncrypt;
  const SecureBuffer key = Secret("EF7833AB15F5A1EE5874BC0D9BBC4BE7");
  StatusOr<SecureBuffer> reg = BuildRegisterRequest(In(kKmip1_0), key1, key);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  StatusOr<TtlvItem> msg = DecodeTtlv(reg->data(), reg->size());
  ASSERT_TRUE(msg.ok());
  const TtlvItem& payload = *msg->FindAll(tag::kBatchItem)[0]->Child(tag::kRequestPayload).value();
  EXPECT_EQ(*msg->FindAll(tag::kBatchItem)[0]->ChildEnumeration(tag::kOperation),
            static_cast<uint32_t>(Operation::kRegister));
  ASSERT_EQ(payload.children().size(), 3u);
  EXPECT_EQ(*payload.ChildEnumeration(tag::kObjectType), enums::kObjectSymmetricKey);

  // Template-Attribute: as in the use case's Create of the same key.
  StatusOr<TtlvItem> create = DecodeTtlv(Unhex(v::kUc41CreateRequest).data(), Unhex(v::kUc41CreateRequest).size());
  ASSERT_TRUE(create.ok());
  const TtlvItem* create_payload = *create->FindAll(tag::kBatchItem)[0]->Child(tag::kRequestPayload);
  EXPECT_EQ(H(EncodeTtlv(**payload.Child(tag::kTemplateAttribute))),
            H(EncodeTtlv(**create_payload->Child(tag::kTemplateAttribute))));

  // Symmetric Key: as the use case's server returned the same key from Get.
  StatusOr<TtlvItem> get = DecodeTtlv(Unhex(v::kUc41GetResponse).data(), Unhex(v::kUc41GetResponse).size());
  ASSERT_TRUE(get.ok());
  const TtlvItem* get_payload = *get->FindAll(tag::kBatchItem)[0]->Child(tag::kResponsePayload);
  EXPECT_EQ(H(EncodeTtlv(**payload.Child(tag::kSymmetricKey))), H(EncodeTtlv(**get_payload->Child(tag::kSymmetricKey))));
}

TEST(KmipRequests, CustomAttributesAndObjectGroupFollowTheKeyAttributes) {
  KeyAttributes a;
  a.name = "klk/prod/7/1";
  a.object_group = "klk";
  a.custom = {{"x-klk-version", "1"}};
  const std::string p = PayloadHex(*BuildCreateRequest(In(kKmip1_2), a));
  const std::string group = Upper(Hex(std::vector<uint8_t>{'k', 'l', 'k'}));
  EXPECT_THAT(p, HasSubstr("42000A070000000C4F626A6563742047726F757000000000" "42000B0700000003" + group));
  EXPECT_THAT(p, HasSubstr("42000A070000000D782D6B6C6B2D76657273696F6E000000" "42000B070000000131"));
  EXPECT_LT(p.find("4E616D65"), p.find("4F626A6563742047726F7570"));  // Name before Object Group
}

TEST(KmipRequests, EncryptAndDecryptCarryParametersDataAndIv) {
  CipherRequest r;
  r.unique_identifier = "1";
  r.iv_counter_nonce = {0x01};
  StatusOr<SecureBuffer> enc = BuildEncryptRequest(In(kKmip1_2), r, Secret("0123456789ABCDEF"));
  // Unique Identifier; Cryptographic Parameters (CBC, PKCS5, AES); Data; IV.
  EXPECT_EQ(PayloadHex(*enc),
            "420079010000006842009407000000013100000000000000" "42002B0100000030"
            "42001105000000040000000100000000" "42005F05000000040000000300000000"
            "42002805000000040000000300000000" "4200C208000000080123456789ABCDEF"
            "42003D08000000010100000000000000");

  CipherRequest gcm;
  gcm.unique_identifier = "1";
  gcm.parameters.block_cipher_mode = enums::kModeGcm;
  gcm.parameters.padding_method = std::nullopt;
  gcm.parameters.tag_length = 16;
  gcm.iv_counter_nonce = std::vector<uint8_t>(12, 0xAA);
  gcm.additional_data = {0x61, 0x64};
  gcm.tag = std::vector<uint8_t>(16, 0x7A);
  StatusOr<SecureBuffer> dec = BuildDecryptRequest(In(kKmip1_4), gcm, {0xC1, 0xC2});
  const std::string p = PayloadHex(*dec);
  EXPECT_THAT(p, HasSubstr("4200CE02000000040000001000000000"));  // Tag Length 16
  EXPECT_THAT(p, HasSubstr("4200FE08000000026164000000000000"));  // additional data
  std::string tag_hex = "4200FF0800000010";
  for (int i = 0; i < 16; ++i) tag_hex += "7A";
  EXPECT_THAT(p, HasSubstr(tag_hex));

  // The authenticated-encryption fields are KMIP 1.4's; Encrypt is 1.2's.
  EXPECT_EQ(BuildDecryptRequest(In(kKmip1_2), gcm, {0xC1}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BuildEncryptRequest(In(kKmip1_1), r, Secret("00")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BuildEncryptRequest(In(kKmip1_4), gcm, Secret("00")).status().code(), Code::kInvalidArgument);  // a tag
}

TEST(KmipRequests, BadArgumentsAreRefusedBeforeAnythingIsSent) {
  EXPECT_EQ(BuildGetRequest(In(kKmip1_2), "").status().code(), Code::kInvalidArgument);
  EXPECT_THAT(BuildDestroyRequest(In(kKmip1_2), "").status().message(), HasSubstr("Destroy (0x14) needs"));
  EXPECT_EQ(BuildCreateRequest(In({2, 0}), KeyAttributes()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BuildQueryRequest(In(kKmip1_2), {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BuildCreateRequest(In(kKmip1_2, -1), KeyAttributes()).status().code(), Code::kInvalidArgument);

  KeyAttributes bad_custom;
  bad_custom.custom = {{"Contact Information", "ops"}};
  EXPECT_THAT(BuildCreateRequest(In(kKmip1_2), bad_custom).status().message(), HasSubstr("\"x-<something>\""));
  EXPECT_EQ(BuildAddAttributeRequest(In(kKmip1_2), "1", "x-", "v").status().code(), Code::kInvalidArgument);

  KeyAttributes aes256;
  StatusOr<SecureBuffer> short_key = BuildRegisterRequest(In(kKmip1_2), aes256, Secret("00112233"));
  EXPECT_EQ(short_key.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(short_key.status().message(), HasSubstr("4 bytes but Cryptographic Length says 256 bits"));
  KeyAttributes zero;
  zero.length_bits = 0;
  EXPECT_EQ(BuildCreateRequest(In(kKmip1_2), zero).status().code(), Code::kInvalidArgument);
}

// ---- responses ----

TEST(KmipResponses, NewObjectIdentifiersAreRead) {
  const std::vector<uint8_t> create = Unhex(v::kPykmipCreateResponse);
  StatusOr<std::string> uid = ParseCreateResponse(create.data(), create.size(), Expect(kKmip1_1));
  ASSERT_TRUE(uid.ok()) << uid.status().ToString();
  EXPECT_EQ(*uid, v::kPykmipCreateUid);

  const std::vector<uint8_t> create10 = Unhex(v::kUc41CreateResponse);
  EXPECT_EQ(*ParseCreateResponse(create10.data(), create10.size(), Expect(kKmip1_0)), v::kUc41Uid);

  const std::vector<uint8_t> reg = Unhex(v::kPykmipRegisterResponse);
  StatusOr<std::string> reg_uid = ParseRegisterResponse(reg.data(), reg.size(), Expect(kKmip1_1));
  ASSERT_TRUE(reg_uid.ok()) << reg_uid.status().ToString();
  EXPECT_EQ(*reg_uid, v::kPykmipRegisterUid);
}

TEST(KmipResponses, GetReturnsTheKeyBytesInASecureBuffer) {
  const std::vector<uint8_t> get = Unhex(v::kUc41GetResponse);
  StatusOr<FetchedKey> key = ParseGetResponse(get.data(), get.size(), v::kUc41Uid, Expect(kKmip1_0));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(Upper(Hex(key->key)), "EF7833AB15F5A1EE5874BC0D9BBC4BE7");
  EXPECT_EQ(key->algorithm, enums::kAlgorithmAes);
  EXPECT_EQ(key->length_bits, 128);
  EXPECT_EQ(key->unique_identifier, v::kUc41Uid);

  const std::vector<uint8_t> des = Unhex(v::kPykmipGetResponse3des);
  StatusOr<FetchedKey> triple = ParseGetResponse(des.data(), des.size(), v::kPykmipGetUid, Expect(kKmip1_1));
  ASSERT_TRUE(triple.ok()) << triple.status().ToString();
  EXPECT_EQ(Upper(Hex(triple->key)), "7367578051012A6D134A855E25C8CD5E4CA131455729D3C8");
  EXPECT_EQ(triple->algorithm, enums::kAlgorithm3Des);
  EXPECT_EQ(triple->length_bits, 168);  // 3DES counts 168 key bits in 24 bytes
}

TEST(KmipResponses, GetBuiltFromPartsMatchesTheUseCase) {
  // The helper the refusal tests below edit reproduces the document's bytes.
  EXPECT_EQ(Upper(Hex(GetResponse(enums::kObjectSymmetricKey, nullptr))), v::kUc41GetResponse);
}

TEST(KmipResponses, GetRefusesKeysInFormsWeDoNotRead) {
  struct Case {
    const char* what;
    uint32_t object_type;
    void (*edit)(std::vector<TtlvItem>&);
    Code code;
    const char* text;
  };
  const Case cases[] = {
      {"secret data", 0x07, nullptr, Code::kFailedPrecondition, "Object Type 7; keyring_locker reads Symmetric Keys"},
      {"transparent", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b[0] = TtlvItem::Enumeration(tag::kKeyFormatType, 7); },
       Code::kFailedPrecondition, "Key Format Type 7; keyring_locker reads Raw (1) keys only"},
      {"wrapping data", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b.push_back(TtlvItem::Structure(tag::kKeyWrappingData)); },
       Code::kFailedPrecondition, "wrapped (Key Wrapping Data present)"},
      {"opaque key value", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b[1] = TtlvItem::ByteString(tag::kKeyValue, Secret("0102030405060708")); },
       Code::kFailedPrecondition, "opaque (wrapped) Key Value"},
      {"length mismatch", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b[3] = TtlvItem::Integer(tag::kCryptographicLength, 256); }, Code::kDataLoss,
       "says 256 bits but its Key Material holds 16 bytes"},
      {"no key material", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b[1] = TtlvItem::Structure(tag::kKeyValue); }, Code::kDataLoss,
       "Key Value (0x420045) has no Key Material (0x420043)"},
      {"empty key material", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) {
         b[1].mutable_children()[0] = TtlvItem::ByteString(tag::kKeyMaterial, SecureBuffer());
       },
       Code::kDataLoss, "Key Material of key"},
      {"material is text", enums::kObjectSymmetricKey,
       [](std::vector<TtlvItem>& b) { b[1].mutable_children()[0] = TtlvItem::TextString(tag::kKeyMaterial, "k"); },
       Code::kDataLoss, "is a Text String, expected a Byte String"},
  };
  for (const Case& c : cases) {
    const std::vector<uint8_t> wire = GetResponse(c.object_type, c.edit);
    StatusOr<FetchedKey> key = ParseGetResponse(wire.data(), wire.size(), v::kUc41Uid, Expect(kKmip1_0));
    ASSERT_FALSE(key.ok()) << c.what;
    EXPECT_EQ(key.status().code(), c.code) << c.what << ": " << key.status().ToString();
    EXPECT_THAT(key.status().message(), HasSubstr(c.text)) << c.what;
    EXPECT_THAT(key.status().message(), HasSubstr("KMIP Get (0x0A) response")) << c.what;
  }
  // Algorithm and length may be left out: the length is then the material's.
  const std::vector<uint8_t> bare =
      GetResponse(enums::kObjectSymmetricKey, [](std::vector<TtlvItem>& b) { b.erase(b.begin() + 2, b.end()); });
  StatusOr<FetchedKey> key = ParseGetResponse(bare.data(), bare.size(), v::kUc41Uid, Expect(kKmip1_0));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->length_bits, 128);
  EXPECT_EQ(key->algorithm, 0u);
}

TEST(KmipResponses, ResponsesAboutAnotherObjectAreRefused) {
  const std::vector<uint8_t> get = Unhex(v::kUc41GetResponse);
  StatusOr<FetchedKey> key = ParseGetResponse(get.data(), get.size(), "some-other-id", Expect(kKmip1_0));
  EXPECT_EQ(key.status().code(), Code::kDataLoss);
  EXPECT_THAT(key.status().message(), HasSubstr("is about object '" + std::string(v::kUc41Uid) +
                                                "', the request was about 'some-other-id'"));
  const std::vector<uint8_t> destroy = Unhex(v::kUc41DestroyResponse);
  EXPECT_TRUE(ParseDestroyResponse(destroy.data(), destroy.size(), v::kUc41Uid, Expect(kKmip1_0)).ok());
  EXPECT_EQ(ParseDestroyResponse(destroy.data(), destroy.size(), "x", Expect(kKmip1_0)).code(), Code::kDataLoss);
  const std::vector<uint8_t> activate = Unhex(v::kUc41ActivateResponse);
  EXPECT_TRUE(ParseActivateResponse(activate.data(), activate.size(), v::kUc41Uid, Expect(kKmip1_0)).ok());
  const std::vector<uint8_t> revoke = Unhex(v::kUc41RevokeResponse);
  EXPECT_TRUE(ParseRevokeResponse(revoke.data(), revoke.size(), v::kUc41Uid, Expect(kKmip1_0)).ok());
}

TEST(KmipResponses, LocateListsTheIdentifiers) {
  const std::vector<uint8_t> one = Unhex(v::kUc41LocateResponse);
  StatusOr<std::vector<std::string>> uids = ParseLocateResponse(one.data(), one.size(), Expect(kKmip1_0));
  ASSERT_TRUE(uids.ok()) << uids.status().ToString();
  EXPECT_THAT(*uids, ElementsAre(v::kUc41Uid));
  const std::vector<uint8_t> py = Unhex(v::kPykmipLocateResponse);
  EXPECT_THAT(*ParseLocateResponse(py.data(), py.size(), Expect(kKmip1_1)), ElementsAre(v::kPykmipGetUid));

  ResponseParts none;
  none.operation = Operation::kLocate;
  none.payload = Payload();
  const std::vector<uint8_t> empty = Response(std::move(none));
  EXPECT_TRUE(ParseLocateResponse(empty.data(), empty.size(), Expect(kKmip1_0))->empty());
}

TEST(KmipResponses, GetAttributesReadsWhatTheKeyStoreUses) {
  const std::vector<uint8_t> state = Unhex(v::kUc41GetAttributesResponsePreactive);
  StatusOr<ObjectAttributes> a = ParseGetAttributesResponse(state.data(), state.size(), v::kUc41Uid, Expect(kKmip1_0));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->state, enums::kStatePreActive);

  auto attribute = [](const char* name, TtlvItem value) {
    TtlvItem at = TtlvItem::Structure(tag::kAttribute);
    at.Add(TtlvItem::TextString(tag::kAttributeName, name));
    at.Add(std::move(value));
    return at;
  };
  TtlvItem name = TtlvItem::Structure(tag::kAttributeValue);
  name.Add(TtlvItem::TextString(tag::kNameValue, "klk/prod/7/1"));
  name.Add(TtlvItem::Enumeration(tag::kNameType, 1));
  TtlvItem p = Payload();
  p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, v::kUc41Uid));
  p.Add(attribute("Name", std::move(name)));
  p.Add(attribute("Object Group", TtlvItem::TextString(tag::kAttributeValue, "klk")));
  p.Add(attribute("Cryptographic Algorithm", TtlvItem::Enumeration(tag::kAttributeValue, 3)));
  p.Add(attribute("Cryptographic Length", TtlvItem::Integer(tag::kAttributeValue, 256)));
  p.Add(attribute("Initial Date", TtlvItem::DateTime(tag::kAttributeValue, 1700000000)));
  p.Add(attribute("State", TtlvItem::Enumeration(tag::kAttributeValue, 2)));
  p.Add(attribute("x-klk-version", TtlvItem::TextString(tag::kAttributeValue, "1")));
  p.Add(attribute("x-binary", TtlvItem::ByteString(tag::kAttributeValue, Secret("00"))));  // skipped: not text
  p.Add(attribute("Digest", TtlvItem::Structure(tag::kAttributeValue)));                    // skipped: not ours
  ResponseParts parts;
  parts.operation = Operation::kGetAttributes;
  parts.payload = std::move(p);
  const std::vector<uint8_t> wire = Response(std::move(parts));
  StatusOr<ObjectAttributes> all = ParseGetAttributesResponse(wire.data(), wire.size(), v::kUc41Uid, Expect(kKmip1_0));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_THAT(all->names, ElementsAre("klk/prod/7/1"));
  EXPECT_THAT(all->object_groups, ElementsAre("klk"));
  EXPECT_EQ(all->algorithm, enums::kAlgorithmAes);
  EXPECT_EQ(all->length_bits, 256);
  EXPECT_EQ(all->initial_date, 1700000000);
  EXPECT_EQ(all->state, enums::kStateActive);
  ASSERT_EQ(all->custom.size(), 1u);
  EXPECT_EQ(all->custom[0].first, "x-klk-version");
  EXPECT_EQ(all->custom[0].second, "1");

  TtlvItem wrong = Payload();
  wrong.Add(TtlvItem::TextString(tag::kUniqueIdentifier, v::kUc41Uid));
  wrong.Add(attribute("State", TtlvItem::TextString(tag::kAttributeValue, "Active")));
  ResponseParts bad;
  bad.operation = Operation::kGetAttributes;
  bad.payload = std::move(wrong);
  const std::vector<uint8_t> bad_wire = Response(std::move(bad));
  StatusOr<ObjectAttributes> refused =
      ParseGetAttributesResponse(bad_wire.data(), bad_wire.size(), v::kUc41Uid, Expect(kKmip1_0));
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("attribute 'State'"));
}

TEST(KmipResponses, AddAttributeEchoesTheObject) {
  TtlvItem p = Payload();
  p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, v::kUc41Uid));
  ResponseParts parts;
  parts.operation = Operation::kAddAttribute;
  parts.payload = std::move(p);
  const std::vector<uint8_t> wire = Response(std::move(parts));
  EXPECT_TRUE(ParseAddAttributeResponse(wire.data(), wire.size(), v::kUc41Uid, Expect(kKmip1_0)).ok());
}

TEST(KmipResponses, DiscoverVersionsAndQueryAreRead) {
  const std::vector<uint8_t> two = Unhex(v::kTc161DiscoverResponseV11V10);
  StatusOr<std::vector<ProtocolVersion>> versions = ParseDiscoverVersionsResponse(two.data(), two.size(), Expect(kKmip1_1));
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0], kKmip1_1);
  EXPECT_EQ((*versions)[1], kKmip1_0);
  const std::vector<uint8_t> none = Unhex(v::kTc161DiscoverResponseNone);
  EXPECT_TRUE(ParseDiscoverVersionsResponse(none.data(), none.size(), Expect(kKmip1_1))->empty());

  const std::vector<uint8_t> query = Unhex(v::kTc121QueryResponse);
  StatusOr<ServerQuery> q = ParseQueryResponse(query.data(), query.size(), Expect(kKmip1_1));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->operations.size(), 26u);
  EXPECT_EQ(q->object_types.size(), 6u);
  EXPECT_TRUE(q->Supports(Operation::kGet));
  EXPECT_TRUE(q->Supports(Operation::kDiscoverVersions));
  EXPECT_FALSE(q->Supports(Operation::kEncrypt));
  EXPECT_EQ(q->vendor_identification, "IBM test server, not-TKLM 2.0.1.1 KMIP 2.0.0.1");
  EXPECT_EQ(q->server_information, "");
}

TEST(KmipResponses, EncryptAndDecryptResultsAreRead) {
  TtlvItem p = Payload();
  p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, "1"));
  p.Add(TtlvItem::ByteString(tag::kData, Secret("C0FFEE")));
  p.Add(TtlvItem::ByteString(tag::kIvCounterNonce, Secret("000102030405060708090A0B0C0D0E0F")));
  ResponseParts parts;
  parts.version = kKmip1_2;
  parts.operation = Operation::kEncrypt;
  parts.payload = std::move(p);
  const std::vector<uint8_t> wire = Response(std::move(parts));
  StatusOr<EncryptResult> enc = ParseEncryptResponse(wire.data(), wire.size(), "1", Expect(kKmip1_2));
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(Upper(Hex(enc->data)), "C0FFEE");
  EXPECT_EQ(enc->iv_counter_nonce.size(), 16u);
  EXPECT_TRUE(enc->tag.empty());

  TtlvItem d = Payload();
  d.Add(TtlvItem::TextString(tag::kUniqueIdentifier, "1"));
  d.Add(TtlvItem::ByteString(tag::kData, Secret("00112233445566778899AABBCCDDEEFF")));
  ResponseParts dparts;
  dparts.version = kKmip1_2;
  dparts.operation = Operation::kDecrypt;
  dparts.payload = std::move(d);
  const std::vector<uint8_t> dwire = Response(std::move(dparts));
  StatusOr<SecureBuffer> plain = ParseDecryptResponse(dwire.data(), dwire.size(), "1", Expect(kKmip1_2));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(Upper(Hex(*plain)), "00112233445566778899AABBCCDDEEFF");

  ResponseParts missing;
  missing.version = kKmip1_2;
  missing.operation = Operation::kDecrypt;
  missing.payload = Payload();
  missing.payload->Add(TtlvItem::TextString(tag::kUniqueIdentifier, "1"));
  const std::vector<uint8_t> mwire = Response(std::move(missing));
  EXPECT_THAT(ParseDecryptResponse(mwire.data(), mwire.size(), "1", Expect(kKmip1_2)).status().message(),
              HasSubstr("has no Data (0x4200C2)"));
}

// ---- failures and envelopes ----

TEST(KmipResponses, FailuresMapToStatusCodesWithTheServersWords) {
  const std::vector<uint8_t> too_large = Unhex(v::kTc121QueryResponseTooLarge);
  StatusOr<ServerQuery> q = ParseQueryResponse(too_large.data(), too_large.size(), Expect(kKmip1_1));
  EXPECT_EQ(q.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(q.status().message(),
            "KMIP Query (0x18) failed: Response Too Large (0x02): Response size: 648, Maximum Response Size "
            "indicated in request: 256");

  // A server that could not parse the request answers without an Operation.
  const std::vector<uint8_t> invalid = Unhex(v::kPykmipInvalidMessageResponse);
  StatusOr<std::string> c = ParseCreateResponse(invalid.data(), invalid.size(), Expect(kKmip1_1));
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("Invalid Message (0x04): Default response. No operations supported."));
}

TEST(KmipResponses, EveryResultMapsSensibly) {
  struct Case {
    uint32_t status;
    std::optional<uint32_t> reason;
    Code code;
  };
  const Case cases[] = {
      {enums::kResultSuccess, std::nullopt, Code::kOk},
      {enums::kResultOperationFailed, enums::kReasonItemNotFound, Code::kNotFound},
      {enums::kResultOperationFailed, enums::kReasonPermissionDenied, Code::kPermissionDenied},
      {enums::kResultOperationFailed, enums::kReasonAuthenticationNotSuccessful, Code::kUnauthenticated},
      {enums::kResultOperationFailed, enums::kReasonObjectAlreadyExists, Code::kAlreadyExists},
      {enums::kResultOperationFailed, enums::kReasonResponseTooLarge, Code::kResourceExhausted},
      {enums::kResultOperationFailed, enums::kReasonInvalidField, Code::kInvalidArgument},
      {enums::kResultOperationFailed, enums::kReasonCryptographicFailure, Code::kDataLoss},
      {enums::kResultOperationFailed, enums::kReasonIllegalOperation, Code::kFailedPrecondition},
      {enums::kResultOperationFailed, enums::kReasonOperationNotSupported, Code::kFailedPrecondition},
      {enums::kResultOperationFailed, enums::kReasonKeyFormatTypeNotSupported, Code::kFailedPrecondition},
      {enums::kResultOperationFailed, enums::kReasonNotExtractable, Code::kPermissionDenied},
      {enums::kResultOperationFailed, enums::kReasonGeneralFailure, Code::kUnavailable},
      {enums::kResultOperationFailed, 0x7777, Code::kFailedPrecondition},
      {enums::kResultOperationFailed, std::nullopt, Code::kFailedPrecondition},
      {enums::kResultOperationPending, std::nullopt, Code::kFailedPrecondition},
      {enums::kResultOperationUndone, std::nullopt, Code::kUnavailable},
      {9, std::nullopt, Code::kDataLoss},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ResultToStatus(Operation::kGet, c.status, c.reason, "").code(), c.code)
        << c.status << "/" << c.reason.value_or(0);
  }
  EXPECT_THAT(ResultToStatus(Operation::kGet, 1, 0x7777, "").message(), HasSubstr("unknown Result Reason (0x7777)"));
}

TEST(KmipResponses, ServerTextIsMadePrintableAndBounded) {
  ResponseParts p;
  p.operation = Operation::kGet;
  p.result_status = enums::kResultOperationFailed;
  p.result_reason = enums::kReasonItemNotFound;
  p.result_message = "no such key\r\n2024 FAKE LOG LINE \x1b[31m" + std::string(1000, 'A');
  const std::vector<uint8_t> wire = Response(std::move(p));
  StatusOr<FetchedKey> key = ParseGetResponse(wire.data(), wire.size(), "7", Expect(kKmip1_0));
  EXPECT_EQ(key.status().code(), Code::kNotFound);
  const std::string& m = key.status().message();
  EXPECT_THAT(m, HasSubstr("KMIP Get (0x0A) failed: Item Not Found (0x01): no such key??2024 FAKE LOG LINE ?[31m"));
  EXPECT_THAT(m, Not(HasSubstr("\n")));
  EXPECT_LT(m.size(), 300u);
}

TEST(KmipResponses, EnvelopesThatDoNotFitTheRequestAreRefused) {
  // The answer to another operation.
  const std::vector<uint8_t> create = Unhex(v::kUc41CreateResponse);
  StatusOr<FetchedKey> as_get = ParseGetResponse(create.data(), create.size(), v::kUc41Uid, Expect(kKmip1_0));
  EXPECT_EQ(as_get.status().code(), Code::kDataLoss);
  EXPECT_THAT(as_get.status().message(), HasSubstr("KMIP Get (0x0A) response: it answers Create (0x01)"));

  // Two batch items for our one.
  const std::vector<uint8_t> batch = Unhex(v::kUc41AddAttributeBatchResponse);
  EXPECT_THAT(ParseAddAttributeResponse(batch.data(), batch.size(), v::kUc41Uid, Expect(kKmip1_0)).message(),
              HasSubstr("Batch Count is 2 with 2 Batch Items; the request had one"));

  // Another major version.
  EXPECT_THAT(ParseCreateResponse(create.data(), create.size(), Expect({2, 0})).status().message(),
              HasSubstr("it is in KMIP 1.0, the request was in KMIP 2.0"));

  // A request message where a response belongs.
  const std::vector<uint8_t> request = Unhex(v::kUc41CreateRequest);
  EXPECT_THAT(ParseCreateResponse(request.data(), request.size(), Expect(kKmip1_0)).status().message(),
              HasSubstr("not a Response Message"));

  // Success without an Operation.
  ResponseParts anonymous;
  anonymous.payload = Payload();
  const std::vector<uint8_t> anon = Response(std::move(anonymous));
  EXPECT_THAT(ParseLocateResponse(anon.data(), anon.size(), Expect(kKmip1_0)).status().message(),
              HasSubstr("successful Batch Item names no Operation"));

  // Malformed TTLV says where.
  std::vector<uint8_t> cut = Unhex(v::kUc41LocateResponse);
  cut.resize(cut.size() - 8);
  StatusOr<std::vector<std::string>> truncated = ParseLocateResponse(cut.data(), cut.size(), Expect(kKmip1_0));
  EXPECT_EQ(truncated.status().code(), Code::kDataLoss);
  EXPECT_THAT(truncated.status().message(), HasSubstr("KMIP Locate (0x08) response: truncated TTLV"));

  // Limits apply.
  ResponseOptions tight = Expect(kKmip1_0);
  tight.limits.max_message_bytes = 64;
  EXPECT_EQ(ParseCreateResponse(create.data(), create.size(), tight).status().code(), Code::kResourceExhausted);
}

TEST(KmipSecrets, KeyBytesOnlyTravelInSecureBuffers) {
  const size_t before = SecureBuffer::LiveBuffers();
  {
    KeyAttributes a;
    a.length_bits = 128;
    const SecureBuffer key = Secret("EF7833AB15F5A1EE5874BC0D9BBC4BE7");
    StatusOr<SecureBuffer> reg = BuildRegisterRequest(In(kKmip1_2), a, key);
    ASSERT_TRUE(reg.ok());
    EXPECT_THAT(Upper(Hex(*reg)), HasSubstr("EF7833AB15F5A1EE5874BC0D9BBC4BE7"));
    // The key and the message; the tree's copy of the key is gone already.
    EXPECT_EQ(SecureBuffer::LiveBuffers(), before + 2);

    const std::vector<uint8_t> get = Unhex(v::kUc41GetResponse);
    StatusOr<FetchedKey> fetched = ParseGetResponse(get.data(), get.size(), v::kUc41Uid, Expect(kKmip1_0));
    ASSERT_TRUE(fetched.ok());
    EXPECT_TRUE(fetched->key.Equals(key));
    EXPECT_EQ(SecureBuffer::LiveBuffers(), before + 3);  // only the returned key outlives the parse
  }
  EXPECT_EQ(SecureBuffer::LiveBuffers(), before);
}

}  // namespace
}  // namespace keyring_locker::kmip
