// AWS KMS as the key wrapper, against moto over verified TLS and, for the
// faults moto cannot play, a stand-in in front of it (same certificate):
// wrap/unwrap through the envelope into a directory store, the encryption
// context, a changed key_id and a rotated KMS key with old records still
// readable, a disabled key (cache keeps serving, new keys fail, recovery),
// the service down and hanging (one budget), and throttling (retried).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/aws/aws_kms_wrapper.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/http/operation_deadline.h"
#include "tests/integration/moto_fixture.h"

namespace keyring_locker {
namespace {

using ::testing::HasSubstr;
using testing::MotoServer;

// HTTPS on 127.0.0.1 with moto's certificate; forwards to moto, or plays
// a fault: KMS's DisabledException, ThrottlingException N times, or a
// hang (accepts, never answers until released).
class KmsStandIn {
 public:
  enum class Mode { kForward, kDisabled, kThrottle, kHang };
  explicit KmsStandIn(const MotoServer& moto)
      : moto_(moto),
        server_((moto.ca_file().substr(0, moto.ca_file().rfind('/')) + "/server.pem").c_str(),
                (moto.ca_file().substr(0, moto.ca_file().rfind('/')) + "/server-key.pem").c_str()) {
    server_.Post("/", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      if (mode == Mode::kHang) {
        for (int i = 0; i < 200 && mode == Mode::kHang; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (mode == Mode::kDisabled && req.get_header_value("X-Amz-Target") != "TrentService.CreateKey") {
        res.status = 400;
        res.set_content(R"({"__type":"DisabledException","message":"key is disabled"})", "application/x-amz-json-1.1");
        return;
      }
      if (mode == Mode::kThrottle && throttles_left-- > 0) {
        res.status = 400;
        res.set_content(R"({"__type":"ThrottlingException","message":"Rate exceeded"})", "application/x-amz-json-1.1");
        return;
      }
      httplib::Client cli(moto_.url());
      cli.set_ca_cert_path(moto_.ca_file().c_str());
      httplib::Headers h = {{"X-Amz-Target", req.get_header_value("X-Amz-Target")},
                            {"Authorization", req.get_header_value("Authorization")}};
      auto r = cli.Post("/", h, req.body, "application/x-amz-json-1.1");
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      res.set_content(r->body, "application/x-amz-json-1.1");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~KmsStandIn() { Stop(); }
  void Stop() {
    mode = Mode::kForward;
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  std::atomic<Mode> mode{Mode::kForward};
  std::atomic<int> throttles_left{0};
  std::atomic<int> requests{0};

 private:
  const MotoServer& moto_;
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
};

class AwsKmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    moto_ = testing::SharedMoto();
    if (moto_ == nullptr) {
      if (MotoServer::Required()) FAIL() << testing::MotoUnavailable();
      GTEST_SKIP() << testing::MotoUnavailable();
    }
    char tmpl[] = "/tmp/klk_aws.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::unique_ptr<AwsKmsWrapper> Wrapper(const std::string& key, const std::string& scope = "keyring_locker/t") {
    auto w = AwsKmsWrapper::Open(moto_->NewClient(), {key, scope});
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  // A server's backend: keys in a directory, wrapped by AWS KMS at `url`.
  std::unique_ptr<Backend> OpenBackend(const std::string& url, const std::string& key) {
    Config c;
    c.roles.store = "directory";
    c.roles.wrapper = "aws_kms";
    c.roles.directory = dir_ + "/keys";
    c.keys.scope = "aws/test";
    c.keys.rules.server = KeyServer::kMariaDb;
    c.aws_kms.regions = {"us-east-1"};
    c.aws_kms.endpoints = {url};
    c.aws_kms.key_id = key;
    c.aws_kms.ca_file = moto_->ca_file();
    c.aws_kms.credentials.source = "env";
    c.http.total_timeout = std::chrono::milliseconds(1500);
    c.http.connect_timeout = std::chrono::milliseconds(500);
    c.http.backoff_initial = std::chrono::milliseconds(20);
    c.http.backoff_max = std::chrono::milliseconds(100);
    auto b = Backend::Open(c);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }
  MotoServer* moto_ = nullptr;
  std::string dir_;
};

TEST_F(AwsKmsTest, KeysRoundTripThroughADirectoryStore) {
  const std::string key = moto_->CreateKey();
  auto b = OpenBackend(moto_->url(), key);
  ASSERT_NE(b, nullptr);
  auto v = b->keys().EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto first = b->keys().Get("1", *v);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A second server on the same directory reads it back through KMS.
  auto other = OpenBackend(moto_->url(), key);
  auto again = other->keys().Get("1", *v);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->bytes.Equals((*first)->bytes));
  auto record = other->keys().store().Read("1", *v);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->wrapper, "aws-kms");
  EXPECT_THAT(record->wrapped, ::testing::StartsWith("aws-kms:v1:" + key + ":"));
  EXPECT_EQ(record->origin, "locker") << "GenerateDataKey made the key";
}

TEST_F(AwsKmsTest, TheEncryptionContextBindsScopeAndIdentity) {
  const std::string key = moto_->CreateKey();
  auto w = Wrapper(key);
  auto bytes = crypto::RandomKey(32);
  auto wrapped = w->Wrap(*bytes, "keyring_locker/t\n1\n1");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_TRUE(w->Unwrap(*wrapped, "keyring_locker/t\n1\n1").ok());
  auto other_key = w->Unwrap(*wrapped, "keyring_locker/t\n2\n1");
  ASSERT_FALSE(other_key.ok());
  EXPECT_EQ(other_key.status().code(), Code::kDataLoss);
  auto other_scope = Wrapper(key, "keyring_locker/other")->Unwrap(*wrapped, "keyring_locker/t\n1\n1");
  EXPECT_EQ(other_scope.status().code(), Code::kDataLoss);
  EXPECT_THAT(w->Context("a\xff"), HasSubstr("keyring_locker_key_b64"));
}

TEST_F(AwsKmsTest, ChangingTheKeyOrRotatingItKeepsOldRecordsReadable) {
  const std::string old_key = moto_->CreateKey(), new_key = moto_->CreateKey();
  auto bytes = crypto::RandomKey(32);
  auto old_wrapped = Wrapper(old_key)->Wrap(*bytes, "ad");
  ASSERT_TRUE(old_wrapped.ok());
  // aws_kms.key_id now names another key: new wraps use it, old records
  // name theirs and still decrypt.
  auto w = Wrapper(new_key);
  auto back = w->Unwrap(*old_wrapped, "ad");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->Equals(*bytes));
  EXPECT_THAT(*w->Wrap(*bytes, "ad"), HasSubstr(new_key));
  // KMS rotation of the key material: old ciphertexts still decrypt.
  auto client = moto_->NewClient();
  const std::string id = old_key.substr(old_key.rfind('/') + 1);
  ASSERT_TRUE(client->Call("EnableKeyRotation", "{\"KeyId\":\"" + id + "\"}", id).ok());
  ASSERT_TRUE(client->Call("RotateKeyOnDemand", "{\"KeyId\":\"" + id + "\"}", id).ok());
  auto rotated = Wrapper(old_key)->Unwrap(*old_wrapped, "ad");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_TRUE(rotated->Equals(*bytes));
  // A record whose ARN was swapped for another key's is refused.
  std::string swapped = *old_wrapped;
  swapped.replace(swapped.find(old_key), old_key.size(), new_key);
  auto refused = w->Unwrap(swapped, "ad");
  EXPECT_EQ(refused.status().code(), Code::kDataLoss);
}

TEST_F(AwsKmsTest, ADisabledKeyStopsNewKeysWhileCachedOnesServeAndRecovers) {
  KmsStandIn kms(*moto_);
  const std::string key = moto_->CreateKey();
  auto b = OpenBackend(kms.url(), key);
  ASSERT_NE(b, nullptr);
  auto v = b->keys().EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(b->keys().Get("1", *v).ok());

  kms.mode = KmsStandIn::Mode::kDisabled;
  EXPECT_TRUE(b->keys().Get("1", *v).ok()) << "a cached key keeps working";
  auto fresh = b->keys().EnsureKey("2");
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(fresh.status().message(), HasSubstr("enable it"));
  auto restarted = OpenBackend(kms.url(), key);  // a restarted server has no cache
  auto cold = restarted->keys().Get("1", *v);
  ASSERT_FALSE(cold.ok());
  EXPECT_EQ(cold.status().code(), Code::kFailedPrecondition);

  kms.mode = KmsStandIn::Mode::kForward;  // re-enabled
  EXPECT_TRUE(restarted->keys().Get("1", *v).ok());
  EXPECT_TRUE(b->keys().EnsureKey("2").ok());
}

TEST_F(AwsKmsTest, ThrottlingIsRetriedWithBackoff) {
  KmsStandIn kms(*moto_);
  auto options = moto_->ClientOptions();
  options.endpoints = {kms.url()};
  options.http.backoff_initial = std::chrono::milliseconds(10);
  options.http.backoff_max = std::chrono::milliseconds(50);
  auto client = aws::AwsKmsClient::Open(options);
  ASSERT_TRUE(client.ok());
  auto w = AwsKmsWrapper::Open(std::move(client).value(), {moto_->CreateKey(), "keyring_locker/t"});
  kms.mode = KmsStandIn::Mode::kThrottle;
  kms.throttles_left = 2;
  kms.requests = 0;
  auto bytes = crypto::RandomKey(32);
  auto wrapped = (*w)->Wrap(*bytes, "ad");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(kms.requests.load(), 3);
  kms.throttles_left = 1000;  // throttled beyond the retries: a transient error
  auto refused = (*w)->Wrap(*bytes, "ad");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("ThrottlingException"));
}

TEST_F(AwsKmsTest, DownOrHangingServiceEndsWithinOneBudgetAndTheCacheServes) {
  auto kms = std::make_unique<KmsStandIn>(*moto_);
  const std::string key = moto_->CreateKey();
  auto b = OpenBackend(kms->url(), key);
  ASSERT_NE(b, nullptr);
  auto v = b->keys().EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();

  kms->mode = KmsStandIn::Mode::kHang;
  auto start = std::chrono::steady_clock::now();
  auto hung = b->keys().EnsureKey("2");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(hung.ok());
  EXPECT_TRUE(hung.status().code() == Code::kDeadlineExceeded || hung.status().code() == Code::kUnavailable)
      << hung.status().ToString();
  EXPECT_LT(took, std::chrono::milliseconds(2500)) << "one budget of 1500 ms for the whole call";
  EXPECT_TRUE(b->keys().Get("1", *v).ok()) << "cached";

  kms->Stop();  // down: connections refused
  start = std::chrono::steady_clock::now();
  auto down = b->keys().EnsureKey("3");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  EXPECT_TRUE(b->keys().Get("1", *v).ok()) << "cached";
}

TEST_F(AwsKmsTest, SecondRegionTakesOverWhenTheFirstIsDown) {
  auto options = moto_->ClientOptions();
  options.regions = {"us-east-1", "us-west-2"};
  options.endpoints = {"https://127.0.0.1:1", moto_->url()};
  auto client = aws::AwsKmsClient::Open(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // moto keeps keys per region: a key made in us-west-2.
  auto r = (*client)->Call("CreateKey", "{}", "(new)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string arn = r->body["KeyMetadata"]["Arn"].get<std::string>();
  EXPECT_THAT(arn, HasSubstr(":us-west-2:")) << "signed for the region of the endpoint that answered";
}

}  // namespace
}  // namespace keyring_locker
