// Fuzz target: bytes from a hostile or broken KMIP server. The TTLV decoder
// and every response parser of the message layer read them. The contract:
// no exception and no out-of-bounds read (ASan); whatever decodes
// re-encodes to exactly the input (the decoder accepts one encoding per
// value, so nothing can hide in a message); every refusal is a Status with
// a printable, bounded message; a key that Get returns is non-empty and
// agrees with its Cryptographic Length.
//
// The same bytes, as text, are also what a server returns as an object's
// Name, its keyring_locker metadata (Application Specific Information) and
// a wrapped key (Secret Data): their parsers refuse with a Status, and what
// they accept is the one canonical encoding (it encodes back to the input).
//
// Seeds in tests/fuzz/corpus/kmip_ttlv/ are real responses from the KMIP
// use-case and test-case documents.
#include <cstdint>
#include <cstring>
#include <string>

#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_object_layout.h"
#include "keyring_backend/kmip/kmip_wrapper.h"
#include "keyring_backend/kmip/ttlv.h"
#include "tests/fuzz/no_exception.h"

namespace keyring_locker::kmip {
namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Server text must reach logs only as printable ASCII of bounded length.
void CheckRefusal(const Status& s) {
  if (s.ok()) return;
  Check(!s.message().empty());
  Check(s.message().size() < 4096);
  for (char c : s.message()) Check(c >= 0x20 && c < 0x7f);
}

template <typename T>
void CheckResult(const StatusOr<T>& r) {
  CheckRefusal(r.status());
}

// The Unique Identifier the response talks about, so that the parsers that
// compare it with the request's get past that check.
std::string ResponseUid(const TtlvItem& message) {
  for (const TtlvItem& item : message.children()) {
    for (const TtlvItem& child : item.children()) {
      if (child.tag() != tag::kResponsePayload) continue;
      for (const TtlvItem& field : child.children()) {
        if (field.tag() == tag::kUniqueIdentifier && field.type() == ItemType::kTextString) return field.text();
      }
    }
  }
  return "21d28b8a-06df-43c0-b72f-2a161633ada9";
}

void ParseAsEveryResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options) {
  CheckResult(ParseDiscoverVersionsResponse(data, size, options));
  CheckResult(ParseQueryResponse(data, size, options));
  CheckResult(ParseCreateResponse(data, size, options));
  CheckResult(ParseRegisterResponse(data, size, options));
  CheckRefusal(ParseActivateResponse(data, size, uid, options));
  CheckRefusal(ParseRevokeResponse(data, size, uid, options));
  CheckRefusal(ParseDestroyResponse(data, size, uid, options));
  CheckRefusal(ParseAddAttributeResponse(data, size, uid, options));
  CheckResult(ParseLocateResponse(data, size, options));
  CheckResult(ParseGetAttributesResponse(data, size, uid, options));
  CheckResult(ParseEncryptResponse(data, size, uid, options));
  CheckResult(ParseDecryptResponse(data, size, uid, options));
  CheckResult(ParseRegisterSecretDataResponse(data, size, options));
  StatusOr<FetchedSecretData> secret = ParseGetSecretDataResponse(data, size, uid, options);
  CheckResult(secret);
  if (secret.ok()) Check(!secret->data.empty() && secret->unique_identifier == uid);
  StatusOr<FetchedKey> key = ParseGetResponse(data, size, uid, options);
  CheckResult(key);
  if (key.ok()) {
    Check(!key->key.empty());
    Check(key->unique_identifier == uid);
    const size_t bits_per_byte =
        key->algorithm == enums::kAlgorithmDes || key->algorithm == enums::kAlgorithm3Des ? 7 : 8;
    Check(static_cast<size_t>(key->length_bits) == key->key.size() * bits_per_byte);
  }
}

// The KMIP store's and wrapper's text formats, from the server.
void ParseAsStoreText(const std::string& text) {
  StatusOr<RecordMetadata> record = KmipObjectLayout::DecodeRecord(text, "KMIP object x");
  CheckResult(record);
  if (record.ok()) Check(KmipObjectLayout::EncodeRecord(*record) == text);
  StatusOr<MarkerMetadata> marker = KmipObjectLayout::DecodeMarker(text, "KMIP object x");
  CheckResult(marker);
  if (marker.ok()) Check(KmipObjectLayout::EncodeMarker(*marker) == text);
  StatusOr<KmipWrapper::Sealed> sealed = KmipWrapper::Parse(text);
  CheckResult(sealed);
  if (sealed.ok()) Check(KmipWrapper::Format(*sealed) == text);
  const KmipObjectLayout layout("keyring_locker", "fuzz/scope");
  auto parsed = layout.Parse(text);
  if (parsed) {
    Check(text == (parsed->marker ? layout.MarkerName(parsed->name, parsed->version)
                                  : layout.KeyName(parsed->name, parsed->version)));
  }
}

void Run(const uint8_t* data, size_t size) {
  ParseAsStoreText(std::string(reinterpret_cast<const char*>(data), size));
  TtlvLimits limits;
  limits.max_message_bytes = 64 * 1024;
  StatusOr<TtlvItem> item = DecodeTtlv(data, size, limits);
  CheckResult(item);

  StatusOr<size_t> announced = TtlvMessageSize(data, size, limits);
  CheckResult(announced);
  if (announced.ok()) Check(*announced >= kTtlvHeaderBytes && *announced <= limits.max_message_bytes);

  std::string uid = "21d28b8a-06df-43c0-b72f-2a161633ada9";
  if (item.ok()) {
    StatusOr<crypto::SecureBuffer> again = EncodeTtlv(*item);
    Check(again.ok());
    Check(again->size() == size && std::memcmp(again->data(), data, size) == 0);
    if (item->type() == ItemType::kStructure) {
      if (announced.ok()) Check(*announced == size);
      uid = ResponseUid(*item);
    }
  }
  ResponseOptions options;
  options.limits = limits;
  ParseAsEveryResponse(data, size, uid, options);
}

}  // namespace
}  // namespace keyring_locker::kmip

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return keyring_locker::fuzz::RunWithoutExceptions("the KMIP TTLV codec and message layer",
                                                    [&] { keyring_locker::kmip::Run(data, size); });
}
