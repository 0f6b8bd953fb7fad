// Authenticator renewal thread and Refresh against a scripted fake locker
// (gmock HttpClient): timing with short TTLs, re-login when renewal is
// impossible, refused or capped, retry on transient errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "keyring_backend/auth/authenticator.h"
#include "tests/support/fifo_util.h"

namespace keyring_locker {
namespace {

using ::testing::_;
using ::testing::AnyNumber;
using ::testing::Invoke;
using ::testing::ReturnRef;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A fake locker: each auth endpoint answers from a script the test sets;
// every call is logged with its time.
class FakeLocker : public HttpClient {
 public:
  struct Call {
    std::string path, token, body;
    Clock::time_point at;
  };
  using Handler = std::function<StatusOr<HttpResponse>(const HttpRequest&)>;

  FakeLocker() {
    ON_CALL(*this, options()).WillByDefault(ReturnRef(opts_));
    EXPECT_CALL(*this, options()).Times(AnyNumber());
    EXPECT_CALL(*this, Send(_)).Times(AnyNumber()).WillRepeatedly(Invoke([this](const HttpRequest& r) {
      Handler h;
      {
        std::lock_guard<std::mutex> l(mu_);
        std::string token;
        for (const auto& [n, v] : r.headers)
          if (n == "X-Vault-Token") token = v;
        calls_.push_back({r.path, token, r.body, Clock::now()});
        h = handlers_[r.path];
      }
      if (!h) return StatusOr<HttpResponse>(Internal("no handler for " + r.path));
      return h(r);
    }));
  }
  MOCK_METHOD(StatusOr<HttpResponse>, Send, (const HttpRequest&), (override));
  MOCK_METHOD(HttpStats, stats, (), (const, override));
  MOCK_METHOD(const HttpOptions&, options, (), (const, override));

  void On(const std::string& path, Handler h) {
    std::lock_guard<std::mutex> l(mu_);
    handlers_[path] = std::move(h);
  }
  std::vector<Call> CallsTo(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<Call> out;
    for (const Call& c : calls_)
      if (c.path == path) out.push_back(c);
    return out;
  }
  // Polls until `path` has been called `n` times or `limit` passes.
  bool WaitCalls(const std::string& path, size_t n, milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (CallsTo(path).size() >= n) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return CallsTo(path).size() >= n;
  }

 private:
  HttpOptions opts_;
  std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::vector<Call> calls_;
};

const char kLogin[] = "/v1/auth/approle/login";
const char kRenew[] = "/v1/auth/token/renew-self";
const char kLookup[] = "/v1/auth/token/lookup-self";

StatusOr<HttpResponse> Reply(long status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}
StatusOr<HttpResponse> Grant(const std::string& token, int ttl, bool renewable) {
  return Reply(200, {{"auth", {{"client_token", token}, {"lease_duration", ttl}, {"renewable", renewable}}}});
}
// Hands out "s.login-1", "s.login-2", ... with the given lease.
FakeLocker::Handler Logins(int ttl, bool renewable) {
  auto n = std::make_shared<std::atomic<int>>(0);
  return [=](const HttpRequest&) { return Grant("s.login-" + std::to_string(++*n), ttl, renewable); };
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/klk_renew_test_XXXXXX";
    ::close(::mkstemp(tmpl));
    path_ = tmpl;
    ::chmod(path_.c_str(), 0600);
    Write(content);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  void Write(const std::string& c) { std::ofstream(path_, std::ios::trunc) << c; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Authenticator> AppRoleAuth(FakeLocker* locker, const TempFile& secret) {
  AuthOptions o;
  o.method = AuthOptions::Method::kAppRole;
  o.role_id = "role-1";
  o.secret_id_file = secret.path();
  o.min_retry_interval = seconds(1);
  auto a = Authenticator::Create(o, locker);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return std::move(a).value();
}

// A token-file authenticator, logged in once; lookup-self answers `ttl`.
std::unique_ptr<Authenticator> LoggedInFromTokenFile(FakeLocker* locker, const TempFile& token, int ttl,
                                                     bool renewable) {
  locker->On(kLookup, [ttl, renewable](const HttpRequest&) {
    return Reply(200, {{"data", {{"ttl", ttl}, {"renewable", renewable}}}});
  });
  AuthOptions o;
  o.token_file = token.path();
  auto a = std::move(Authenticator::Create(o, locker)).value();
  EXPECT_TRUE(a->Login().ok());
  return a;
}

double SecondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

TEST(AuthRenewal, RenewsAtTwoThirdsOfTheTtl) {
  TempFile token("s.file-token");
  FakeLocker locker;
  locker.On(kLookup, [](const HttpRequest&) {
    return Reply(200, {{"data", {{"ttl", 3}, {"renewable", true}}}});
  });
  locker.On(kRenew, [](const HttpRequest& r) { return Grant("s.file-token", 3, true); });
  AuthOptions o;
  o.token_file = token.path();
  auto a = std::move(Authenticator::Create(o, &locker)).value();
  ASSERT_TRUE(a->Login().ok());
  const auto t0 = Clock::now();
  a->StartRenewal();
  ASSERT_TRUE(locker.WaitCalls(kRenew, 1, milliseconds(3000)));
  const auto first = locker.CallsTo(kRenew)[0];
  EXPECT_NEAR(SecondsBetween(t0, first.at), 2.0, 0.4);
  EXPECT_EQ(first.token, "s.file-token");
  EXPECT_EQ(json::parse(first.body), json::object());  // no increment: token default
  // The renewed TTL restarts the clock: the second renewal ~2 s after the first.
  ASSERT_TRUE(locker.WaitCalls(kRenew, 2, milliseconds(3000)));
  EXPECT_NEAR(SecondsBetween(first.at, locker.CallsTo(kRenew)[1].at), 2.0, 0.4);
  a->StopRenewal();
  EXPECT_GE(a->info().renewals, 2u);
  EXPECT_EQ(a->info().failures, 0u);
}

TEST(AuthRenewal, LogsInAgainWhenNotRenewable) {
  TempFile secret("secret-1");
  FakeLocker locker;
  locker.On(kLogin, Logins(2, false));
  auto a = AppRoleAuth(&locker, secret);
  ASSERT_TRUE(a->Login().ok());
  EXPECT_EQ(a->Token(), "s.login-1");
  a->StartRenewal();
  ASSERT_TRUE(locker.WaitCalls(kLogin, 2, milliseconds(2500)));
  a->StopRenewal();
  EXPECT_EQ(a->Token(), "s.login-2");
  EXPECT_TRUE(locker.CallsTo(kRenew).empty());
  EXPECT_EQ(a->info().logins, 2u);
}

TEST(AuthRenewal, LogsInAgainWhenRenewalIsRefused) {
  TempFile secret("secret-1");
  FakeLocker locker;
  locker.On(kLogin, Logins(2, true));
  locker.On(kRenew, [](const HttpRequest&) { return Reply(403, {{"errors", {"permission denied"}}}); });
  auto a = AppRoleAuth(&locker, secret);
  ASSERT_TRUE(a->Login().ok());
  a->StartRenewal();
  ASSERT_TRUE(locker.WaitCalls(kLogin, 2, milliseconds(2500)));
  a->StopRenewal();
  EXPECT_EQ(locker.CallsTo(kRenew).size(), 1u);
  EXPECT_EQ(a->Token(), "s.login-2");
}

TEST(AuthRenewal, LogsInAgainWhenRenewalIsCapped) {
  TempFile secret("secret-1");
  FakeLocker locker;
  locker.On(kLogin, Logins(3, true));
  // The token hit its max TTL: renewal grants 1 s instead of the 3 s wanted.
  locker.On(kRenew, [](const HttpRequest& r) { return Grant("s.login-1", 1, true); });
  auto a = AppRoleAuth(&locker, secret);
  ASSERT_TRUE(a->Login().ok());
  a->StartRenewal();
  ASSERT_TRUE(locker.WaitCalls(kLogin, 2, milliseconds(3000)));
  a->StopRenewal();
  EXPECT_EQ(locker.CallsTo(kRenew).size(), 1u);
  EXPECT_EQ(a->Token(), "s.login-2");
}

TEST(AuthRenewal, RetriesTransientFailuresWhileTheTokenLasts) {
  TempFile secret("secret-1");
  FakeLocker locker;
  locker.On(kLogin, Logins(30, true));
  auto fails = std::make_shared<std::atomic<int>>(0);
  locker.On(kRenew, [fails](const HttpRequest&) {
    if ((*fails)++ == 0) return Reply(503, {{"errors", {"Vault is sealed"}}});
    return Grant("s.login-1", 30, true);
  });
  AuthOptions o;
  o.method = AuthOptions::Method::kAppRole;
  o.role_id = "role-1";
  o.secret_id_file = secret.path();
  o.min_retry_interval = seconds(1);
  o.renew_fraction = 0.1;  // first renewal after 3 s
  auto a = std::move(Authenticator::Create(o, &locker)).value();
  ASSERT_TRUE(a->Login().ok());
  a->StartRenewal();
  ASSERT_TRUE(locker.WaitCalls(kRenew, 2, milliseconds(6000)));
  a->StopRenewal();
  auto renews = locker.CallsTo(kRenew);
  EXPECT_NEAR(SecondsBetween(renews[0].at, renews[1].at), 1.0, 0.3);
  AuthInfo i = a->info();
  EXPECT_EQ(i.failures, 1u);
  EXPECT_NE(i.last_error.find("503"), std::string::npos) << i.last_error;
  EXPECT_EQ(i.last_error.find("s.login-1"), std::string::npos);
  EXPECT_EQ(i.renewals, 1u);
  EXPECT_EQ(locker.CallsTo(kLogin).size(), 1u);
}

TEST(AuthRenewal, NonExpiringTokenNeedsNoWorkAndStopsPromptly) {
  TempFile token("s.root");
  FakeLocker locker;
  auto a = LoggedInFromTokenFile(&locker, token, 0, false);
  a->StartRenewal();
  std::this_thread::sleep_for(milliseconds(500));
  const auto t0 = Clock::now();
  a->StopRenewal();
  EXPECT_LT(SecondsBetween(t0, Clock::now()), 0.2);
  EXPECT_EQ(locker.CallsTo(kLookup).size(), 1u);
  EXPECT_TRUE(locker.CallsTo(kRenew).empty());
}

TEST(AuthRefresh, OnlyTheRejectedTokenTriggersALogin) {
  TempFile secret("secret-1");
  FakeLocker locker;
  locker.On(kLogin, Logins(600, true));
  auto a = AppRoleAuth(&locker, secret);
  ASSERT_TRUE(a->Login().ok());
  // Someone already replaced the token that was rejected: nothing to do.
  EXPECT_TRUE(a->Refresh("s.some-older-token").ok());
  EXPECT_EQ(locker.CallsTo(kLogin).size(), 1u);
  EXPECT_TRUE(a->Refresh("s.login-1").ok());
  EXPECT_EQ(a->Token(), "s.login-2");
  // A login that yields the rejected token again cannot help.
  locker.On(kLogin, [](const HttpRequest&) { return Grant("s.login-2", 600, true); });
  Status s = a->Refresh("s.login-2");
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_EQ(s.message().find("s.login-2"), std::string::npos) << s.message();
}

TEST(AuthRefresh, TokenFileIsReReadAfterRotation) {
  TempFile token("s.old");
  FakeLocker locker;
  auto a = LoggedInFromTokenFile(&locker, token, 600, true);
  token.Write("s.new\n");
  ASSERT_TRUE(a->Refresh("s.old").ok());
  EXPECT_EQ(a->Token(), "s.new");
  EXPECT_EQ(locker.CallsTo(kLookup).back().token, "s.new");
  Status same = a->Refresh("s.new");
  EXPECT_EQ(same.code(), Code::kUnauthenticated);
  EXPECT_NE(same.message().find(token.path()), std::string::npos) << same.message();
  EXPECT_EQ(same.message().find("s.new"), std::string::npos);
}

// The re-read after a rejected token runs on a server thread (a query
// waiting for its key): a FIFO swapped in for the token file must not hang
// that thread (issue #15).
TEST(AuthRefresh, TokenFileReplacedByAFifoFailsWithoutBlocking) {
  TempFile token("s.old");
  FakeLocker locker;
  auto a = LoggedInFromTokenFile(&locker, token, 600, true);
  testing::Fifo fifo(token.path());
  Status s = testing::WithinBoundedTime(fifo, [&] { return a->Refresh("s.old"); });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find(token.path() + "' is a FIFO"), std::string::npos) << s.message();
  EXPECT_EQ(locker.CallsTo(kLookup).size(), 1u);
}

}  // namespace
}  // namespace keyring_locker
