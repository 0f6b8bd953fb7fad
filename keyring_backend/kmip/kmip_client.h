// KmipClient: the KMIP operations keyring_locker uses, one method each, over
// one KmipTransport (a persistent mutual-TLS connection). Shared by the
// KMIP key store and the KMIP wrapper; thread-safe.
//
// - Protocol version: negotiated with Discover Versions, offering
//   max_version and every 1.x below it down to 1.2, before the first
//   operation on each connection (a reconnect, e.g. after a server restart
//   or a failover, negotiates again before the next operation). The server's
//   first choice among those is used; a server that speaks none of them is a
//   clear FAILED_PRECONDITION (KMIP 1.2 is the minimum: Encrypt/Decrypt and
//   Register of Secret Data as we use them).
// - Retries: a request the transport could not send (Delivery::kNotSent) is
//   sent again, whatever the operation; one that may have reached the server
//   (kMaybeDelivered) only for operations that change nothing (Get, Locate,
//   Get Attributes, Query, Encrypt, Decrypt, Discover Versions). Create,
//   Register, Activate, Revoke and Destroy are never re-sent after that: the
//   caller gets UNAVAILABLE saying the request may have taken effect, and
//   decides (the key store's create protocol reads the state back).
//   Answers of the server (a KMIP error) are never retried here.
// - Every request ends within OperationDeadline::Current() (the transport
//   cuts each wait; back-off sleeps stop at the deadline).
// - No request carries a Time Stamp (PyKMIP refuses skewed ones) nor an
//   Authentication structure (the client is known by its certificate).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/kmip/kmip_messages.h"
#include "keyring_backend/kmip/kmip_options.h"
#include "keyring_backend/kmip/kmip_transport.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker::kmip {

struct KmipClientOptions {
  ProtocolVersion max_version = kKmip1_4;  // offered first; 1.2 .. 1.4
  // Sends of one operation in all (first + retries), for failures the
  // transport reports; bounded by the call's deadline too.
  int max_attempts = 3;
  std::chrono::milliseconds retry_backoff{100};  // doubled after each retry
  // A Locate of a large scope answers with one item per object (~16 bytes
  // each): room for 65536 of them within the 1 MiB message bound.
  TtlvLimits response_limits = [] {
    TtlvLimits l;
    l.max_items = 1 << 16;
    return l;
  }();
};

// Counters for status variables.
struct KmipClientStats {
  KmipTransportStats transport;
  uint64_t operations = 0;     // operations asked for (not counting Discover Versions)
  uint64_t retries = 0;        // requests sent again after a transport failure
  uint64_t negotiations = 0;   // Discover Versions exchanges that chose a version
  uint64_t server_errors = 0;  // operations the server answered with a failure
  uint64_t failures = 0;       // operations that failed for any reason
  std::string version;         // negotiated "1.4"; empty before the first
};

class KmipClient {
 public:
  // "1.4" -> {1, 4}; only 1.2, 1.3 and 1.4 (`option` names the setting in errors).
  static StatusOr<ProtocolVersion> ParseMaxVersion(const std::string& text, const std::string& option);
  // The transport from options.transport (files checked, no connection yet)
  // and the version bound from options.max_version.
  static StatusOr<std::unique_ptr<KmipClient>> Open(const KmipOptions& options);

  // For tests and callers with a transport of their own.
  KmipClient(std::unique_ptr<KmipTransport> transport, KmipClientOptions options, std::string endpoints);

  KmipClient(const KmipClient&) = delete;
  KmipClient& operator=(const KmipClient&) = delete;

  // Negotiates now if not yet done on the current connection.
  StatusOr<ProtocolVersion> Version();
  // Checks that the server answers and a version is agreed (start-up).
  Status Connect() { return Version().status(); }

  StatusOr<std::string> Create(const KeyAttributes& key);
  StatusOr<std::string> Register(const KeyAttributes& attributes, const crypto::SecureBuffer& key);
  StatusOr<std::string> RegisterSecretData(const SecretDataAttributes& attributes, const crypto::SecureBuffer& data);
  Status Activate(const std::string& uid);
  StatusOr<FetchedKey> Get(const std::string& uid);  // Symmetric Key, Raw
  StatusOr<FetchedSecretData> GetSecretData(const std::string& uid);
  StatusOr<std::vector<std::string>> Locate(const LocateQuery& query);
  StatusOr<ObjectAttributes> GetAttributes(const std::string& uid, const std::vector<std::string>& names);
  Status Revoke(const std::string& uid, const Revocation& revocation);
  Status Destroy(const std::string& uid);
  StatusOr<ServerQuery> Query(const std::vector<uint32_t>& functions);
  StatusOr<EncryptResult> Encrypt(const CipherRequest& request, const crypto::SecureBuffer& plaintext);
  StatusOr<crypto::SecureBuffer> Decrypt(const CipherRequest& request, const std::vector<uint8_t>& ciphertext);

  // Query (Server Information): reachable, which server answered, its
  // vendor identification and the negotiated version.
  StatusOr<LockerHealth> Health();

  KmipClientStats stats() const;
  // "kmip host:port,host:port v1.4" (the version once negotiated).
  std::string Describe() const;
  // The configured servers, comma-separated: where, not which keys.
  const std::string& endpoints() const { return endpoints_; }
  // Non-empty when the TLS options are dangerous (verify_peer off).
  const std::string& warning() const { return transport_->warning(); }

 private:
  using Builder = std::function<StatusOr<crypto::SecureBuffer>(const RequestOptions&)>;
  // Sends what `build` makes at the negotiated version and returns the
  // response bytes, retrying as the header says.
  StatusOr<crypto::SecureBuffer> Exchange(Operation op, const Builder& build, ProtocolVersion* version);
  StatusOr<crypto::SecureBuffer> Send(Operation op, const crypto::SecureBuffer& request);
  StatusOr<ProtocolVersion> Negotiate();
  ResponseOptions Expect(ProtocolVersion version) const;
  // Exchange, then `parse` (data, size, ResponseOptions) at the same version.
  template <typename Parse>
  auto Call(Operation op, const Builder& build, Parse parse) -> decltype(parse(nullptr, 0, ResponseOptions()));
  // Counts an answer we could not use (the server's failure, or a reply we refused).
  template <typename T>
  T Counted(T result);

  std::unique_ptr<KmipTransport> transport_;
  const KmipClientOptions options_;
  const std::string endpoints_;

  mutable std::mutex version_mu_;
  bool negotiated_ = false;        // guarded by version_mu_
  ProtocolVersion version_{};      // guarded by version_mu_
  uint64_t negotiated_connects_ = 0;  // guarded by version_mu_: transport connects when negotiated

  std::atomic<uint64_t> operations_{0}, retries_{0}, negotiations_{0}, server_errors_{0}, failures_{0};
};

}  // namespace keyring_locker::kmip
