#include "keyring_backend/kmip/kmip_client.h"

#include <thread>

#include "common/printable.h"
#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker::kmip {
namespace {

constexpr ProtocolVersion kMinimumVersion = kKmip1_2;

// Operations that change nothing on the server: sending one twice is the
// same as sending it once, so a request that may have been delivered can be
// sent again.
bool Idempotent(Operation op) {
  switch (op) {
    case Operation::kGet:
    case Operation::kLocate:
    case Operation::kGetAttributes:
    case Operation::kQuery:
    case Operation::kEncrypt:
    case Operation::kDecrypt:
    case Operation::kDiscoverVersions:
      return true;
    default:
      return false;
  }
}

std::string OperationName(Operation op) { return DescribeOperation(static_cast<uint32_t>(op)); }

std::string JoinServers(const std::vector<std::string>& servers) {
  std::string out;
  for (const std::string& s : servers) out += (out.empty() ? "" : ",") + s;
  return out;
}

// max_version, max_version - 0.1, ..., 1.2: the Discover Versions offer.
std::vector<ProtocolVersion> Offer(ProtocolVersion max) {
  std::vector<ProtocolVersion> out;
  for (int32_t minor = max.minor; minor >= kMinimumVersion.minor; --minor) out.push_back({1, minor});
  return out;
}

}  // namespace

StatusOr<ProtocolVersion> KmipClient::ParseMaxVersion(const std::string& text, const std::string& option) {
  for (int32_t minor = kMinimumVersion.minor; minor <= kKmip1_4.minor; ++minor) {
    const ProtocolVersion v{1, minor};
    if (text == v.ToString()) return v;
  }
  return InvalidArgument(option + " is \"" + Printable(text, 20) +
                         "\"; use \"1.4\" (the default), \"1.3\" or \"1.2\": keyring_locker speaks KMIP 1.2 to 1.4");
}

StatusOr<std::unique_ptr<KmipClient>> KmipClient::Open(const KmipOptions& options) {
  KmipClientOptions client;
  ASSIGN_OR_RETURN(client.max_version,
                   ParseMaxVersion(options.max_version, options.transport.option_prefix + "max_version"));
  client.response_limits.max_message_bytes = options.transport.max_message_bytes;
  ASSIGN_OR_RETURN(std::unique_ptr<KmipTransport> transport, KmipTransport::Create(options.transport));
  return std::make_unique<KmipClient>(std::move(transport), client, JoinServers(options.transport.servers));
}

KmipClient::KmipClient(std::unique_ptr<KmipTransport> transport, KmipClientOptions options, std::string endpoints)
    : transport_(std::move(transport)), options_(options), endpoints_(std::move(endpoints)) {}

ResponseOptions KmipClient::Expect(ProtocolVersion version) const {
  ResponseOptions r;
  r.version = version;
  r.limits = options_.response_limits;
  return r;
}

StatusOr<ProtocolVersion> KmipClient::Version() {
  {
    std::lock_guard<std::mutex> lock(version_mu_);
    if (negotiated_ && transport_->stats().connects == negotiated_connects_) return version_;
  }
  return Negotiate();
}

StatusOr<ProtocolVersion> KmipClient::Negotiate() {
  const std::vector<ProtocolVersion> offered = Offer(options_.max_version);
  // Asked in the lowest version we speak: a server answers Discover Versions
  // in the request's version, and one without 1.4 would refuse a 1.4 header.
  RequestOptions request_options;
  request_options.version = kMinimumVersion;
  ASSIGN_OR_RETURN(crypto::SecureBuffer request, BuildDiscoverVersionsRequest(request_options, offered));
  ASSIGN_OR_RETURN(crypto::SecureBuffer response, Send(Operation::kDiscoverVersions, request));
  const uint64_t connects = transport_->stats().connects;
  auto versions = ParseDiscoverVersionsResponse(response.data(), response.size(), Expect(kMinimumVersion));
  std::string offer_text;
  for (const ProtocolVersion& v : offered) offer_text += (offer_text.empty() ? "" : ", ") + v.ToString();
  if (!versions.ok()) {
    // The server's own reason keeps its code: an unknown client certificate
    // is UNAUTHENTICATED here as for every other request.
    return versions.status().Annotate("negotiating the KMIP version (keyring_locker offers " + offer_text + ")");
  }
  // The server lists what it supports of our offer, its preferred first.
  for (const ProtocolVersion& answer : *versions) {
    for (const ProtocolVersion& ours : offered) {
      if (!(answer == ours)) continue;
      std::lock_guard<std::mutex> lock(version_mu_);
      negotiated_ = true;
      version_ = answer;
      negotiated_connects_ = connects;
      negotiations_.fetch_add(1, std::memory_order_relaxed);
      return answer;
    }
  }
  std::string theirs;
  for (const ProtocolVersion& v : *versions) theirs += (theirs.empty() ? "" : ", ") + v.ToString();
  return FailedPrecondition("the KMIP server speaks none of KMIP " + offer_text + " (it offered " +
                            (theirs.empty() ? std::string("none of them") : theirs) +
                            "); keyring_locker needs KMIP 1.2 or later");
}

StatusOr<crypto::SecureBuffer> KmipClient::Send(Operation op, const crypto::SecureBuffer& request) {
  const bool idempotent = Idempotent(op);
  std::chrono::milliseconds backoff = options_.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    Delivery delivery = Delivery::kNotSent;
    StatusOr<crypto::SecureBuffer> response = transport_->RoundTrip(request, &delivery);
    if (response.ok()) return response;
    const Status& s = response.status();
    const bool may_repeat = delivery == Delivery::kNotSent || idempotent;
    if (s.code() == Code::kUnavailable && !may_repeat) {
      return s.Annotate("KMIP " + OperationName(op) + " was not sent again (it changes the server's state)");
    }
    if (s.code() != Code::kUnavailable || attempt >= options_.max_attempts) return s;
    // Transport failures only (the server's own answers are never retried):
    // a dropped connection, a server restarting or failing over.
    const auto deadline = OperationDeadline::Current();
    if (deadline && std::chrono::steady_clock::now() + backoff >= *deadline) return s;
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
    retries_.fetch_add(1, std::memory_order_relaxed);
  }
}

StatusOr<crypto::SecureBuffer> KmipClient::Exchange(Operation op, const Builder& build, ProtocolVersion* version) {
  operations_.fetch_add(1, std::memory_order_relaxed);
  StatusOr<ProtocolVersion> v = Version();
  if (!v.ok()) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return v.status();
  }
  *version = *v;
  RequestOptions request_options;
  request_options.version = *v;
  StatusOr<crypto::SecureBuffer> request = build(request_options);
  StatusOr<crypto::SecureBuffer> response = request.ok() ? Send(op, *request) : request.status();
  if (!response.ok()) failures_.fetch_add(1, std::memory_order_relaxed);
  return response;
}

template <typename T>
T KmipClient::Counted(T result) {
  if (!result.ok()) {
    server_errors_.fetch_add(1, std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
  }
  return result;
}

// Each operation: build at the negotiated version, send, parse at it.
template <typename Parse>
auto KmipClient::Call(Operation op, const Builder& build, Parse parse)
    -> decltype(parse(nullptr, 0, ResponseOptions())) {
  ProtocolVersion version;
  StatusOr<crypto::SecureBuffer> response = Exchange(op, build, &version);
  if (!response.ok()) return response.status();
  return Counted(parse(response->data(), response->size(), Expect(version)));
}

using Wire = const uint8_t*;
using In = const RequestOptions&;
using Out = const ResponseOptions&;

StatusOr<std::string> KmipClient::Create(const KeyAttributes& key) {
  return Call(
      Operation::kCreate, [&](In o) { return BuildCreateRequest(o, key); },
      [&](Wire d, size_t n, Out r) { return ParseCreateResponse(d, n, r); });
}

StatusOr<std::string> KmipClient::Register(const KeyAttributes& attributes, const crypto::SecureBuffer& key) {
  return Call(
      Operation::kRegister, [&](In o) { return BuildRegisterRequest(o, attributes, key); },
      [&](Wire d, size_t n, Out r) { return ParseRegisterResponse(d, n, r); });
}

StatusOr<std::string> KmipClient::RegisterSecretData(const SecretDataAttributes& attributes,
                                                     const crypto::SecureBuffer& secret) {
  return Call(
      Operation::kRegister, [&](In o) { return BuildRegisterSecretDataRequest(o, attributes, secret); },
      [&](Wire d, size_t n, Out r) { return ParseRegisterSecretDataResponse(d, n, r); });
}

Status KmipClient::Activate(const std::string& uid) {
  return Call(
      Operation::kActivate, [&](In o) { return BuildActivateRequest(o, uid); },
      [&](Wire d, size_t n, Out r) { return ParseActivateResponse(d, n, uid, r); });
}

StatusOr<FetchedKey> KmipClient::Get(const std::string& uid) {
  return Call(
      Operation::kGet, [&](In o) { return BuildGetRequest(o, uid); },
      [&](Wire d, size_t n, Out r) { return ParseGetResponse(d, n, uid, r); });
}

StatusOr<FetchedSecretData> KmipClient::GetSecretData(const std::string& uid) {
  // No Key Format Type: PyKMIP refuses one for objects that are not keys.
  GetOptions get;
  get.key_format_type.reset();
  return Call(
      Operation::kGet, [&](In o) { return BuildGetRequest(o, uid, get); },
      [&](Wire d, size_t n, Out r) { return ParseGetSecretDataResponse(d, n, uid, r); });
}

StatusOr<std::vector<std::string>> KmipClient::Locate(const LocateQuery& query) {
  return Call(
      Operation::kLocate, [&](In o) { return BuildLocateRequest(o, query); },
      [&](Wire d, size_t n, Out r) { return ParseLocateResponse(d, n, r); });
}

StatusOr<ObjectAttributes> KmipClient::GetAttributes(const std::string& uid, const std::vector<std::string>& names) {
  return Call(
      Operation::kGetAttributes, [&](In o) { return BuildGetAttributesRequest(o, uid, names); },
      [&](Wire d, size_t n, Out r) { return ParseGetAttributesResponse(d, n, uid, r); });
}

Status KmipClient::Revoke(const std::string& uid, const Revocation& revocation) {
  return Call(
      Operation::kRevoke, [&](In o) { return BuildRevokeRequest(o, uid, revocation); },
      [&](Wire d, size_t n, Out r) { return ParseRevokeResponse(d, n, uid, r); });
}

Status KmipClient::Destroy(const std::string& uid) {
  return Call(
      Operation::kDestroy, [&](In o) { return BuildDestroyRequest(o, uid); },
      [&](Wire d, size_t n, Out r) { return ParseDestroyResponse(d, n, uid, r); });
}

StatusOr<ServerQuery> KmipClient::Query(const std::vector<uint32_t>& functions) {
  return Call(
      Operation::kQuery, [&](In o) { return BuildQueryRequest(o, functions); },
      [&](Wire d, size_t n, Out r) { return ParseQueryResponse(d, n, r); });
}

StatusOr<EncryptResult> KmipClient::Encrypt(const CipherRequest& request, const crypto::SecureBuffer& plaintext) {
  return Call(
      Operation::kEncrypt, [&](In o) { return BuildEncryptRequest(o, request, plaintext); },
      [&](Wire d, size_t n, Out r) { return ParseEncryptResponse(d, n, request.unique_identifier, r); });
}

StatusOr<crypto::SecureBuffer> KmipClient::Decrypt(const CipherRequest& request,
                                                   const std::vector<uint8_t>& ciphertext) {
  return Call(
      Operation::kDecrypt, [&](In o) { return BuildDecryptRequest(o, request, ciphertext); },
      [&](Wire d, size_t n, Out r) { return ParseDecryptResponse(d, n, request.unique_identifier, r); });
}

StatusOr<LockerHealth> KmipClient::Health() {
  LockerHealth h;
  auto query = Query({enums::kQueryServerInformation});
  if (!query.ok()) {
    h.detail = query.status().ToString();
    return h;
  }
  h.reachable = true;
  h.endpoint = transport_->stats().active_server;
  h.version = query->vendor_identification;
  std::string version;
  {
    std::lock_guard<std::mutex> lock(version_mu_);
    version = negotiated_ ? version_.ToString() : "?";
  }
  h.detail = "KMIP " + version + " " + (h.version.empty() ? std::string("(no vendor identification)") : h.version) +
             " at " + h.endpoint;
  return h;
}

KmipClientStats KmipClient::stats() const {
  KmipClientStats s;
  s.transport = transport_->stats();
  s.operations = operations_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.negotiations = negotiations_.load(std::memory_order_relaxed);
  s.server_errors = server_errors_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(version_mu_);
  if (negotiated_) s.version = version_.ToString();
  return s;
}

std::string KmipClient::Describe() const {
  std::lock_guard<std::mutex> lock(version_mu_);
  return "kmip " + endpoints_ + (negotiated_ ? " v" + version_.ToString() : std::string());
}

}  // namespace keyring_locker::kmip
