// KMIP 1.x request messages and the reading of their responses, for the
// operations keyring_locker's KMIP key store uses. Baseline is KMIP 1.2
// (Encrypt/Decrypt appeared there); 1.4 adds the authenticated-encryption
// fields. The protocol version is a parameter of every call: the transport
// negotiates it with DiscoverVersions first.
//
// Every request holds exactly one batch item: the key store issues one
// operation at a time, so a failure names its operation without batch
// bookkeeping. No Authentication structure is sent: the client is
// authenticated by mutual TLS.
//
// Requests come back encoded, in a SecureBuffer (a Register carries key
// bytes). Responses are read from the bytes the transport received; every
// Parse* function checks the envelope (one batch item, the operation asked
// for, the protocol major version) and turns a failed Result Status into a
// Status: Item Not Found -> NOT_FOUND, Permission Denied -> PERMISSION_DENIED
// and so on, with the server's Result Message made printable and bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/kmip/kmip_tags.h"
#include "keyring_backend/kmip/ttlv.h"

namespace keyring_locker::kmip {

struct ProtocolVersion {
  int32_t major = 1;
  int32_t minor = 2;
  std::string ToString() const { return std::to_string(major) + "." + std::to_string(minor); }
  bool AtLeast(int32_t maj, int32_t min) const { return major > maj || (major == maj && minor >= min); }
  friend bool operator==(const ProtocolVersion& a, const ProtocolVersion& b) {
    return a.major == b.major && a.minor == b.minor;
  }
};
inline constexpr ProtocolVersion kKmip1_2{1, 2};
inline constexpr ProtocolVersion kKmip1_4{1, 4};

// What every request carries in its header.
struct RequestOptions {
  ProtocolVersion version = kKmip1_2;  // KMIP 1.x only
  int32_t max_response_size = 0;       // Maximum Response Size; 0 leaves it out
};

// What every response is checked against.
struct ResponseOptions {
  ProtocolVersion version = kKmip1_2;  // the request's: the response must have its major version
  TtlvLimits limits;
};

// ---- requests ----

// Application Specific Information: a namespace and its text, the one place
// a standard KMIP server keeps a client's metadata on an object (PyKMIP
// refuses every custom "x-" attribute; docs/kmip-pykmip-notes.md).
struct ApplicationInfo {
  std::string application_namespace;
  std::string application_data;
};

// The attributes a new symmetric key gets (Create and Register).
struct KeyAttributes {
  uint32_t algorithm = enums::kAlgorithmAes;  // Cryptographic Algorithm
  int32_t length_bits = 256;                  // Cryptographic Length
  int32_t usage_mask = enums::kUsageEncrypt | enums::kUsageDecrypt;
  std::string name;          // Name, an Uninterpreted Text String; empty: none
  std::string object_group;  // Object Group; empty: none
  // Client-defined text attributes; every name starts with "x-".
  std::vector<std::pair<std::string, std::string>> custom;
  // Several values get Attribute Index 0, 1, ... (a multi-valued attribute).
  std::vector<ApplicationInfo> application_info;
};

// The attributes of a new Secret Data object (Register): opaque bytes the
// server keeps and returns, with no algorithm or length of their own.
struct SecretDataAttributes {
  uint32_t secret_data_type = enums::kSecretDataSeed;  // Secret Data Type: Password or Seed
  std::string name;          // Name; empty: none
  std::string object_group;  // Object Group; empty: none
  std::vector<ApplicationInfo> application_info;
};

struct GetOptions {
  // Key Format Type to ask for; nullopt leaves the choice to the server.
  // ParseGetResponse reads Raw keys only.
  std::optional<uint32_t> key_format_type = enums::kKeyFormatRaw;
};

// Locate criteria; all given ones must match. Empty strings are left out.
struct LocateQuery {
  std::optional<uint32_t> object_type = enums::kObjectSymmetricKey;  // nullopt: any type
  std::string name;
  std::string object_group;
  std::optional<uint32_t> state;  // State (enums::kState*); nullopt: any state
  int32_t max_items = 0;  // Maximum Items; 0 leaves it out
};

struct Revocation {
  uint32_t reason_code = enums::kRevocationCessationOfOperation;
  std::string message;                                // Revocation Message; empty: none
  std::optional<int64_t> compromise_occurrence_date;  // seconds since the epoch
};

// Cryptographic Parameters of Encrypt and Decrypt (only those we use).
struct CryptoParameters {
  uint32_t block_cipher_mode = enums::kModeCbc;
  std::optional<uint32_t> padding_method = enums::kPaddingPkcs5;
  std::optional<uint32_t> algorithm = enums::kAlgorithmAes;
  std::optional<bool> random_iv;         // ask the server to generate the IV
  std::optional<int32_t> tag_length;     // AEAD tag length in bytes
};

struct CipherRequest {
  std::string unique_identifier;
  CryptoParameters parameters;
  std::vector<uint8_t> iv_counter_nonce;  // empty: none
  // KMIP 1.4 and later (refused for older versions when non-empty).
  std::vector<uint8_t> additional_data;   // Authenticated Encryption Additional Data
  std::vector<uint8_t> tag;               // Authenticated Encryption Tag (Decrypt)
};

StatusOr<crypto::SecureBuffer> BuildDiscoverVersionsRequest(const RequestOptions& options,
                                                            const std::vector<ProtocolVersion>& offered);
// Query Functions: enums::kQueryOperations, kQueryObjects, kQueryServerInformation.
StatusOr<crypto::SecureBuffer> BuildQueryRequest(const RequestOptions& options, const std::vector<uint32_t>& functions);
StatusOr<crypto::SecureBuffer> BuildCreateRequest(const RequestOptions& options, const KeyAttributes& key);
// A Symmetric Key in Raw format; key.size() * 8 must equal attributes.length_bits.
StatusOr<crypto::SecureBuffer> BuildRegisterRequest(const RequestOptions& options, const KeyAttributes& attributes,
                                                    const crypto::SecureBuffer& key);
StatusOr<crypto::SecureBuffer> BuildActivateRequest(const RequestOptions& options, const std::string& uid);
StatusOr<crypto::SecureBuffer> BuildGetRequest(const RequestOptions& options, const std::string& uid,
                                               const GetOptions& get = GetOptions());
StatusOr<crypto::SecureBuffer> BuildLocateRequest(const RequestOptions& options, const LocateQuery& query);
// Secret Data in Opaque format holding `data` (non-empty).
StatusOr<crypto::SecureBuffer> BuildRegisterSecretDataRequest(const RequestOptions& options,
                                                              const SecretDataAttributes& attributes,
                                                              const crypto::SecureBuffer& data);
// Attribute names as the spec spells them (attr::kName, "x-..."); empty asks for all.
StatusOr<crypto::SecureBuffer> BuildGetAttributesRequest(const RequestOptions& options, const std::string& uid,
                                                         const std::vector<std::string>& names);
// A client-defined text attribute: `name` starts with "x-".
StatusOr<crypto::SecureBuffer> BuildAddAttributeRequest(const RequestOptions& options, const std::string& uid,
                                                        const std::string& name, const std::string& value);
StatusOr<crypto::SecureBuffer> BuildRevokeRequest(const RequestOptions& options, const std::string& uid,
                                                  const Revocation& revocation);
StatusOr<crypto::SecureBuffer> BuildDestroyRequest(const RequestOptions& options, const std::string& uid);
StatusOr<crypto::SecureBuffer> BuildEncryptRequest(const RequestOptions& options, const CipherRequest& request,
                                                   const crypto::SecureBuffer& plaintext);
StatusOr<crypto::SecureBuffer> BuildDecryptRequest(const RequestOptions& options, const CipherRequest& request,
                                                   const std::vector<uint8_t>& ciphertext);

// ---- responses ----

struct ServerQuery {
  std::vector<uint32_t> operations;    // Operation values
  std::vector<uint32_t> object_types;  // Object Type values
  std::string vendor_identification;   // printable, bounded
  std::string server_information;      // its text strings, printable, bounded
  bool Supports(Operation op) const;
};

struct FetchedKey {
  std::string unique_identifier;
  crypto::SecureBuffer key;  // Raw Key Material
  uint32_t algorithm = 0;    // Cryptographic Algorithm; 0 if the server left it out
  int32_t length_bits = 0;   // Cryptographic Length (key.size() * 8 if left out)
};

struct ObjectAttributes {
  std::string unique_identifier;
  std::vector<std::string> names;  // Name Values
  std::vector<std::string> object_groups;
  std::optional<uint32_t> object_type;
  std::optional<uint32_t> state;
  std::optional<uint32_t> algorithm;
  std::optional<int32_t> length_bits;
  std::optional<int64_t> initial_date;  // seconds since the epoch
  // "x-" attributes with text values, in the server's order; others are skipped.
  std::vector<std::pair<std::string, std::string>> custom;
  std::vector<ApplicationInfo> application_info;  // in the server's order
};

struct FetchedSecretData {
  std::string unique_identifier;
  uint32_t secret_data_type = 0;
  crypto::SecureBuffer data;  // the Key Material of its Opaque Key Block
};

struct EncryptResult {
  std::vector<uint8_t> data;              // ciphertext
  std::vector<uint8_t> iv_counter_nonce;  // the server's, when it generated one
  std::vector<uint8_t> tag;               // Authenticated Encryption Tag (KMIP 1.4)
};

// The Response Payload of the response to `op` after every envelope check;
// an empty Structure if the server sent none. The other Parse* functions are
// built on it; it is public for operations without one of their own.
StatusOr<TtlvItem> ParseResponsePayload(const uint8_t* data, size_t size, Operation op,
                                        const ResponseOptions& options);

StatusOr<std::vector<ProtocolVersion>> ParseDiscoverVersionsResponse(const uint8_t* data, size_t size,
                                                                     const ResponseOptions& options);
StatusOr<ServerQuery> ParseQueryResponse(const uint8_t* data, size_t size, const ResponseOptions& options);
// The new object's Unique Identifier.
StatusOr<std::string> ParseCreateResponse(const uint8_t* data, size_t size, const ResponseOptions& options);
StatusOr<std::string> ParseRegisterResponse(const uint8_t* data, size_t size, const ResponseOptions& options);
StatusOr<std::string> ParseRegisterSecretDataResponse(const uint8_t* data, size_t size,
                                                      const ResponseOptions& options);
// Responses about an existing object must name `uid`, the object asked about.
Status ParseActivateResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options);
Status ParseRevokeResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options);
Status ParseDestroyResponse(const uint8_t* data, size_t size, const std::string& uid, const ResponseOptions& options);
Status ParseAddAttributeResponse(const uint8_t* data, size_t size, const std::string& uid,
                                 const ResponseOptions& options);
// A Symmetric Key in Raw format only: wrapped keys, other formats and other
// object types are refused with FAILED_PRECONDITION naming what came back.
StatusOr<FetchedKey> ParseGetResponse(const uint8_t* data, size_t size, const std::string& uid,
                                      const ResponseOptions& options);
// Secret Data in Opaque format only; other object types and formats are
// refused with FAILED_PRECONDITION naming what came back.
StatusOr<FetchedSecretData> ParseGetSecretDataResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                       const ResponseOptions& options);
StatusOr<std::vector<std::string>> ParseLocateResponse(const uint8_t* data, size_t size,
                                                       const ResponseOptions& options);
StatusOr<ObjectAttributes> ParseGetAttributesResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                      const ResponseOptions& options);
StatusOr<EncryptResult> ParseEncryptResponse(const uint8_t* data, size_t size, const std::string& uid,
                                             const ResponseOptions& options);
// The plaintext.
StatusOr<crypto::SecureBuffer> ParseDecryptResponse(const uint8_t* data, size_t size, const std::string& uid,
                                                    const ResponseOptions& options);

// The Status for a batch item's Result Status / Reason / Message (OK for
// Success); exposed for tests and for a transport that reads batch items
// itself.
Status ResultToStatus(Operation op, uint32_t result_status, std::optional<uint32_t> result_reason,
                      const std::string& result_message);

}  // namespace keyring_locker::kmip
