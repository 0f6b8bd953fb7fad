// Injected faults and request statistics of the dev locker: the client tests
// depend on each action doing exactly what it says.
#include <chrono>

#include <gtest/gtest.h>

#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class DevLockerFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    ASSERT_EQ(L().Call("POST", "secret/data/f", {{"data", {{"v", 1}}}}).status, 200);
  }
  DevLocker& L() { return *locker_; }
  long MillisOf(const std::function<void()>& fn) {
    auto start = Clock::now();
    fn();
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }
  std::unique_ptr<DevLocker> locker_;
};

TEST_F(DevLockerFaultTest, StatusWithRetryAfterAppliesCountTimes) {
  L().InjectFault({{"path_prefix", "secret/"}, {"action", "status"}, {"status", 429}, {"retry_after", 7}, {"count", 2}});
  auto first = L().Call("GET", "secret/data/f");
  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(first.headers["Retry-After"], "7");
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, 429);
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, 200);
}

TEST_F(DevLockerFaultTest, PathPrefixAndMethodFilter) {
  L().InjectFault({{"path_prefix", "/v1/transit/"}, {"method", "POST"}, {"action", "status"}, {"status", 500}});
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, 200);
  EXPECT_EQ(L().Call("GET", "transit/keys/none").status, 404);
  EXPECT_EQ(L().Call("POST", "transit/encrypt/k", {{"plaintext", "eA=="}}).status, 500);
  EXPECT_EQ(L().Call("GET", "sys/devlocker/faults").body["data"]["faults"].size(), 1u);
  L().ClearFaults();
  EXPECT_EQ(L().Call("POST", "transit/encrypt/k", {{"plaintext", "eA=="}}).status, 200);
}

TEST_F(DevLockerFaultTest, DelayAndSlowStillAnswer) {
  L().InjectFault({{"action", "delay"}, {"delay_ms", 400}, {"count", 1}});
  DevLocker::Reply r{0, nullptr, {}};
  EXPECT_GE(MillisOf([&] { r = L().Call("GET", "secret/data/f"); }), 380);
  EXPECT_EQ(r.status, 200);
  L().InjectFault({{"action", "slow"}, {"delay_ms", 3}, {"count", 1}});
  EXPECT_GE(MillisOf([&] { r = L().Call("GET", "secret/data/f"); }), 300);  // > 100 bytes x 3 ms
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["data"]["v"], 1);
}

TEST_F(DevLockerFaultTest, DropAndTruncateGiveNoUsableResponse) {
  L().InjectFault({{"action", "drop"}, {"count", 1}});
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, -1);
  L().InjectFault({{"action", "truncate"}, {"count", 1}});
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, -1);
  EXPECT_EQ(L().Call("GET", "secret/data/f").status, 200);
}

TEST_F(DevLockerFaultTest, HangOutlastsClientTimeoutAndDoesNotStarveOthers) {
  L().InjectFault({{"path_prefix", "secret/"}, {"action", "hang"}});
  DevLocker::CallOptions quick;
  quick.timeout_ms = 300;
  EXPECT_EQ(L().CallWith(quick, "GET", "secret/data/f").status, -1);
  EXPECT_EQ(L().CallWith(quick, "GET", "secret/data/f").status, -1);
  EXPECT_EQ(L().Call("GET", "sys/health", nullptr, "-").status, 200);
  // Stopping must not wait for the hanging handlers (fixture fails after 5 s).
  EXPECT_LT(MillisOf([&] { L().Stop(); }), 3000);
}

TEST_F(DevLockerFaultTest, RedirectMalformedOversized) {
  L().InjectFault({{"action", "redirect"}, {"location", "https://127.0.0.1:1"}, {"count", 1}});
  auto r = L().Call("GET", "secret/data/f");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.headers["Location"], "https://127.0.0.1:1/v1/secret/data/f");
  L().InjectFault({{"action", "malformed"}, {"count", 1}});
  r = L().Call("GET", "secret/data/f");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.contains("unparsable_body"));
  L().InjectFault({{"action", "oversized"}, {"size_bytes", 1 << 20}, {"count", 1}});
  r = L().Call("GET", "secret/data/f");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["padding"].get<std::string>().size(), (1u << 20) - 23);
  EXPECT_EQ(L().Call("POST", "sys/devlocker/faults", {{"action", "explode"}}).status, 400);
}

TEST_F(DevLockerFaultTest, ExpireTokensKeepsRoot) {
  auto made = L().Call("POST", "auth/token/create", {{"policies", {"p"}}});
  const std::string t = made.body["auth"]["client_token"];
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 200);
  L().InjectFault({{"action", "expire_tokens"}});
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self", nullptr, t).status, 403);
  EXPECT_EQ(L().Call("GET", "auth/token/lookup-self").status, 200);
}

TEST_F(DevLockerFaultTest, FaultsNeedRootAndStatsCount) {
  auto made = L().Call("POST", "auth/token/create", {{"policies", {"p"}}});
  const std::string t = made.body["auth"]["client_token"];
  EXPECT_EQ(L().Call("POST", "sys/devlocker/faults", {{"action", "drop"}}, t).status, 403);
  ASSERT_EQ(L().Call("DELETE", "sys/devlocker/stats").status, 204);
  for (int i = 0; i < 3; ++i) L().Call("GET", "secret/data/f");
  json stats = L().Stats();
  EXPECT_EQ(stats["requests"], 3);
  EXPECT_EQ(stats["by_path"]["secret/data/f"], 3);
  // The fixture opens a new connection per call: one handshake each
  // (the stats calls themselves included).
  EXPECT_GE(stats["tls_handshakes"].get<int>(), 3);
}

}  // namespace
}  // namespace keyring_locker::testing
