// KmipClient over a scripted transport: version negotiation, which
// requests are sent again after which failures, deadlines and counters.
// (Against a real server: tests/integration/kmip_store_test.cc.)
#include "keyring_backend/kmip/kmip_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker::kmip {
namespace {

using crypto::SecureBuffer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What a request said: its header version, operation and payload.
struct Sent {
  ProtocolVersion version;
  uint32_t operation = 0;
  std::vector<ProtocolVersion> offered;  // Discover Versions only
};

Sent Read(const SecureBuffer& request) {
  Sent s;
  StatusOr<TtlvItem> msg = DecodeTtlv(request.data(), request.size());
  EXPECT_TRUE(msg.ok()) << msg.status().ToString();
  if (!msg.ok()) return s;
  const TtlvItem* header = *msg->ChildStructure(tag::kRequestHeader);
  const TtlvItem* v = *header->ChildStructure(tag::kProtocolVersion);
  s.version = {*v->ChildInteger(tag::kProtocolVersionMajor), *v->ChildInteger(tag::kProtocolVersionMinor)};
  const TtlvItem* item = *msg->ChildStructure(tag::kBatchItem);
  s.operation = *item->ChildEnumeration(tag::kOperation);
  const TtlvItem* payload = *item->ChildStructure(tag::kRequestPayload);
  for (const TtlvItem* p : payload->FindAll(tag::kProtocolVersion)) {
    s.offered.push_back({*p->ChildInteger(tag::kProtocolVersionMajor), *p->ChildInteger(tag::kProtocolVersionMinor)});
  }
  return s;
}

TtlvItem VersionItem(ProtocolVersion v) {
  TtlvItem item = TtlvItem::Structure(tag::kProtocolVersion);
  item.Add(TtlvItem::Integer(tag::kProtocolVersionMajor, v.major));
  item.Add(TtlvItem::Integer(tag::kProtocolVersionMinor, v.minor));
  return item;
}

// A one-item Response Message: success with `payload`, or a failure.
SecureBuffer Reply(Operation op, ProtocolVersion v, TtlvItem payload, std::optional<uint32_t> failure = {}) {
  TtlvItem header = TtlvItem::Structure(tag::kResponseHeader);
  header.Add(VersionItem(v));
  header.Add(TtlvItem::DateTime(tag::kTimeStamp, 1700000000));
  header.Add(TtlvItem::Integer(tag::kBatchCount, 1));
  TtlvItem item = TtlvItem::Structure(tag::kBatchItem);
  item.Add(TtlvItem::Enumeration(tag::kOperation, static_cast<uint32_t>(op)));
  if (failure) {
    item.Add(TtlvItem::Enumeration(tag::kResultStatus, enums::kResultOperationFailed));
    item.Add(TtlvItem::Enumeration(tag::kResultReason, *failure));
    item.Add(TtlvItem::TextString(tag::kResultMessage, "scripted failure"));
  } else {
    item.Add(TtlvItem::Enumeration(tag::kResultStatus, enums::kResultSuccess));
    item.Add(std::move(payload));
  }
  TtlvItem msg = TtlvItem::Structure(tag::kResponseMessage);
  msg.Add(std::move(header));
  msg.Add(std::move(item));
  return std::move(EncodeTtlv(msg)).value();
}

TtlvItem Payload() { return TtlvItem::Structure(tag::kResponsePayload); }

SecureBuffer Versions(std::vector<ProtocolVersion> versions) {
  TtlvItem p = Payload();
  for (ProtocolVersion v : versions) p.Add(VersionItem(v));
  return Reply(Operation::kDiscoverVersions, kKmip1_2, std::move(p));
}

SecureBuffer Located(ProtocolVersion v, std::vector<std::string> uids) {
  TtlvItem p = Payload();
  for (const std::string& u : uids) p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, u));
  return Reply(Operation::kLocate, v, std::move(p));
}

SecureBuffer Registered(ProtocolVersion v, const std::string& uid) {
  TtlvItem p = Payload();
  p.Add(TtlvItem::TextString(tag::kUniqueIdentifier, uid));
  return Reply(Operation::kRegister, v, std::move(p));
}

// Answers requests from a script, one step per RoundTrip.
class ScriptedTransport : public KmipTransport {
 public:
  using Step = std::function<StatusOr<SecureBuffer>(const Sent& sent, Delivery* delivery)>;
  std::deque<Step> script;
  std::vector<Sent> sent;
  uint64_t connects = 1;

  StatusOr<SecureBuffer> RoundTrip(const SecureBuffer& request, Delivery* delivery) override {
    sent.push_back(Read(request));
    *delivery = Delivery::kMaybeDelivered;
    if (script.empty()) {
      ADD_FAILURE() << "unexpected request, operation " << sent.back().operation;
      return Internal("no script step");
    }
    Step step = std::move(script.front());
    script.pop_front();
    return step(sent.back(), delivery);
  }
  KmipTransportStats stats() const override {
    KmipTransportStats s;
    s.connects = connects;
    s.active_server = "kmip.test:5696";
    return s;
  }
  const std::string& warning() const override { return warning_; }
  std::string Describe() const override { return "scripted"; }

 private:
  std::string warning_;
};

ScriptedTransport::Step Answer(SecureBuffer reply) {
  auto shared = std::make_shared<SecureBuffer>(std::move(reply));
  return [shared](const Sent&, Delivery*) -> StatusOr<SecureBuffer> { return shared->Clone(); };
}

ScriptedTransport::Step Fail(Delivery fate, Code code = Code::kUnavailable) {
  return [fate, code](const Sent&, Delivery* d) -> StatusOr<SecureBuffer> {
    *d = fate;
    return Status(code, "scripted transport failure");
  };
}

class KmipClientTest : public ::testing::Test {
 protected:
  KmipClient& Client(KmipClientOptions options = KmipClientOptions()) {
    options.retry_backoff = std::chrono::milliseconds(1);
    auto t = std::make_unique<ScriptedTransport>();
    transport_ = t.get();
    client_ = std::make_unique<KmipClient>(std::move(t), options, "kmip.test:5696,kmip2.test:5696");
    return *client_;
  }
  ScriptedTransport& transport() { return *transport_; }
  // Negotiation answered with 1.4 first.
  void Negotiated() { transport().script.push_back(Answer(Versions({kKmip1_4, {1, 3}, kKmip1_2}))); }

  ScriptedTransport* transport_ = nullptr;
  std::unique_ptr<KmipClient> client_;
};

TEST_F(KmipClientTest, NegotiatesTheServersFirstChoiceAmongWhatItOffers) {
  KmipClient& c = Client();
  transport().script.push_back(Answer(Versions({{1, 3}, kKmip1_2})));
  transport().script.push_back(Answer(Located({1, 3}, {"7"})));
  auto uids = c.Locate(LocateQuery());
  ASSERT_TRUE(uids.ok()) << uids.status().ToString();
  EXPECT_THAT(*uids, ElementsAre("7"));
  ASSERT_EQ(transport().sent.size(), 2u);
  // Asked in the lowest version we speak, offering 1.4 down to 1.2.
  EXPECT_EQ(transport().sent[0].operation, static_cast<uint32_t>(Operation::kDiscoverVersions));
  EXPECT_EQ(transport().sent[0].version, kKmip1_2);
  EXPECT_EQ(transport().sent[0].offered, (std::vector<ProtocolVersion>{kKmip1_4, {1, 3}, kKmip1_2}));
  EXPECT_EQ(transport().sent[1].version, (ProtocolVersion{1, 3}));
  EXPECT_EQ(c.stats().version, "1.3");
  EXPECT_EQ(c.Describe(), "kmip kmip.test:5696,kmip2.test:5696 v1.3");
  // Once per connection.
  transport().script.push_back(Answer(Located({1, 3}, {})));
  ASSERT_TRUE(c.Locate(LocateQuery()).ok());
  EXPECT_EQ(transport().sent.size(), 3u);
  EXPECT_EQ(c.stats().negotiations, 1u);
}

TEST_F(KmipClientTest, RefusesAServerWithoutKmip12OrLater) {
  for (const std::vector<ProtocolVersion>& answer :
       {std::vector<ProtocolVersion>{{1, 1}, {1, 0}}, std::vector<ProtocolVersion>{}}) {
    KmipClient& c = Client();
    transport().script.push_back(Answer(Versions(answer)));
    Status s = c.Connect();
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("speaks none of KMIP 1.4, 1.3, 1.2"));
    EXPECT_THAT(s.message(), HasSubstr("needs KMIP 1.2 or later"));
  }
  // A server that answers Discover Versions with an error keeps its code.
  KmipClient& c = Client();
  transport().script.push_back(
      Answer(Reply(Operation::kDiscoverVersions, {1, 0}, Payload(), enums::kReasonAuthenticationNotSuccessful)));
  Status s = c.Connect();
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("negotiating the KMIP version"));
}

TEST_F(KmipClientTest, MaxVersionBoundsTheOffer) {
  KmipClientOptions o;
  o.max_version = kKmip1_2;
  KmipClient& c = Client(o);
  transport().script.push_back(Answer(Versions({kKmip1_2})));
  ASSERT_TRUE(c.Connect().ok());
  EXPECT_EQ(transport().sent[0].offered, std::vector<ProtocolVersion>{kKmip1_2});

  EXPECT_EQ(*KmipClient::ParseMaxVersion("1.3", "kmip.max_version"), (ProtocolVersion{1, 3}));
  for (const char* bad : {"2.0", "1.1", "1.5", "", "1.4 "}) {
    auto v = KmipClient::ParseMaxVersion(bad, "kmip.max_version");
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(v.status().message(), HasSubstr("kmip.max_version"));
  }
}

TEST_F(KmipClientTest, ANewConnectionNegotiatesAgain) {
  KmipClient& c = Client();
  Negotiated();
  transport().script.push_back(Answer(Located(kKmip1_4, {})));
  ASSERT_TRUE(c.Locate(LocateQuery()).ok());
  transport().connects = 2;  // the server restarted; the transport reconnected
  transport().script.push_back(Answer(Versions({kKmip1_2})));
  transport().script.push_back(Answer(Located(kKmip1_2, {})));
  ASSERT_TRUE(c.Locate(LocateQuery()).ok());
  ASSERT_EQ(transport().sent.size(), 4u);
  EXPECT_EQ(transport().sent[2].operation, static_cast<uint32_t>(Operation::kDiscoverVersions));
  EXPECT_EQ(transport().sent[3].version, kKmip1_2);
  EXPECT_EQ(c.stats().negotiations, 2u);
}

TEST_F(KmipClientTest, OperationsThatChangeNothingAreSentAgainAfterAMaybeDeliveredFailure) {
  KmipClient& c = Client();
  Negotiated();
  transport().script.push_back(Fail(Delivery::kMaybeDelivered));
  transport().script.push_back(Answer(Located(kKmip1_4, {"1", "2"})));
  auto uids = c.Locate(LocateQuery());
  ASSERT_TRUE(uids.ok()) << uids.status().ToString();
  EXPECT_EQ(uids->size(), 2u);
  EXPECT_EQ(c.stats().retries, 1u);
}

TEST_F(KmipClientTest, OperationsThatChangeStateAreNeverSentTwice) {
  KmipClient& c = Client();
  Negotiated();
  transport().script.push_back(Fail(Delivery::kMaybeDelivered));
  auto uid = c.Register(KeyAttributes(), SecureBuffer::CopyOf(std::string(32, 'k')));
  EXPECT_EQ(uid.status().code(), Code::kUnavailable);
  EXPECT_THAT(uid.status().message(), HasSubstr("Register (0x03) was not sent again"));
  transport().script.push_back(Fail(Delivery::kMaybeDelivered));
  EXPECT_THAT(c.Activate("5").message(), HasSubstr("Activate (0x12) was not sent again"));
  transport().script.push_back(Fail(Delivery::kMaybeDelivered));
  EXPECT_FALSE(c.Destroy("5").ok());
  EXPECT_EQ(transport().sent.size(), 4u) << "one request each, after the negotiation";
  EXPECT_EQ(c.stats().retries, 0u);

  // Not sent at all: safe to send again, whatever the operation.
  transport().script.push_back(Fail(Delivery::kNotSent));
  transport().script.push_back(Answer(Registered(kKmip1_4, "9")));
  auto again = c.Register(KeyAttributes(), SecureBuffer::CopyOf(std::string(32, 'k')));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, "9");
}

TEST_F(KmipClientTest, RetriesAreBoundedAndOnlyForTransportFailures) {
  KmipClient& c = Client();
  Negotiated();
  for (int i = 0; i < 3; ++i) transport().script.push_back(Fail(Delivery::kNotSent));
  EXPECT_EQ(c.Locate(LocateQuery()).status().code(), Code::kUnavailable);
  EXPECT_EQ(transport().sent.size(), 4u);  // negotiation + max_attempts
  // The server's own answer is final.
  transport().script.push_back(Answer(Reply(Operation::kGet, kKmip1_4, Payload(), enums::kReasonItemNotFound)));
  EXPECT_EQ(c.Get("77").status().code(), Code::kNotFound);
  EXPECT_EQ(transport().sent.size(), 5u);
  // So are the budget and a refused size.
  transport().script.push_back(Fail(Delivery::kNotSent, Code::kDeadlineExceeded));
  EXPECT_EQ(c.Get("77").status().code(), Code::kDeadlineExceeded);
  transport().script.push_back(Fail(Delivery::kMaybeDelivered, Code::kResourceExhausted));
  EXPECT_EQ(c.Get("77").status().code(), Code::kResourceExhausted);
  EXPECT_EQ(transport().sent.size(), 7u);
  const KmipClientStats s = c.stats();
  EXPECT_EQ(s.operations, 4u);
  EXPECT_EQ(s.failures, 4u);
  EXPECT_EQ(s.server_errors, 1u);
  EXPECT_EQ(s.retries, 2u);
}

TEST_F(KmipClientTest, NoBackOffPastTheCallsDeadline) {
  // A back-off longer than what is left of the call's budget: give up at once.
  KmipClientOptions o;
  o.retry_backoff = std::chrono::milliseconds(500);
  auto t = std::make_unique<ScriptedTransport>();
  ScriptedTransport* raw = t.get();
  KmipClient slow(std::move(t), o, "kmip.test");
  raw->script.push_back(Answer(Versions({kKmip1_4})));
  raw->script.push_back(Fail(Delivery::kNotSent));
  OperationDeadline budget(std::chrono::milliseconds(100));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(slow.Locate(LocateQuery()).status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(100));
  EXPECT_EQ(raw->sent.size(), 2u);
}

TEST_F(KmipClientTest, HealthNamesTheServerAndVersion) {
  KmipClient& c = Client();
  Negotiated();
  TtlvItem p = Payload();
  p.Add(TtlvItem::TextString(tag::kVendorIdentification, "Test KMIP 9"));
  transport().script.push_back(Answer(Reply(Operation::kQuery, kKmip1_4, std::move(p))));
  auto h = c.Health();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->reachable);
  EXPECT_EQ(h->version, "Test KMIP 9");
  EXPECT_EQ(h->endpoint, "kmip.test:5696");
  EXPECT_EQ(h->detail, "KMIP 1.4 Test KMIP 9 at kmip.test:5696");
  // Unreachable: a health report saying why, not an error.
  transport().script.push_back(Fail(Delivery::kNotSent));
  transport().script.push_back(Fail(Delivery::kNotSent));
  transport().script.push_back(Fail(Delivery::kNotSent));
  h = c.Health();
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->reachable);
  EXPECT_THAT(h->detail, HasSubstr("scripted transport failure"));
}

}  // namespace
}  // namespace keyring_locker::kmip
