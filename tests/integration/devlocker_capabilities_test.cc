// The dev locker's POST sys/capabilities-self answers as Vault 1.14 does:
// one key per path asked (sorted capabilities), "capabilities" as well when
// one path was asked, the data also at the top level; ["deny"] where no
// rule grants; ["root"] for a root token; any token may ask (the default
// policy grants it). keyring-locker check relies on it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;

class DevlockerCapabilities : public ::testing::Test {
 protected:
  void SetUp() override {
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    const std::string policy =
        "path \"secret/data/app/*\" { capabilities = [\"read\", \"create\"] }\n"
        "path \"secret/data/app/locked\" { capabilities = [\"deny\"] }\n"
        "path \"transit/encrypt/+\" { capabilities = [\"update\"] }\n";
    ASSERT_EQ(locker_->Call("PUT", "sys/policies/acl/app", {{"policy", policy}}).status / 100, 2);
    auto r = locker_->Call("POST", "auth/token/create", {{"policies", {"app"}}});
    ASSERT_EQ(r.status, 200);
    token_ = r.body["auth"]["client_token"];
  }
  std::unique_ptr<DevLocker> locker_;
  std::string token_;
};

TEST_F(DevlockerCapabilities, ManyPathsOneKeyEach) {
  auto r = locker_->Call("POST", "sys/capabilities-self",
                         {{"paths", {"secret/data/app/x", "secret/data/app/locked", "transit/encrypt/k", "other/x",
                                     "auth/token/renew-self"}}},
                         token_);
  ASSERT_EQ(r.status, 200) << r.body.dump();
  const json& d = r.body["data"];
  EXPECT_EQ(d["secret/data/app/x"], json({"create", "read"}));  // sorted
  EXPECT_EQ(d["secret/data/app/locked"], json({"deny"}));
  EXPECT_EQ(d["transit/encrypt/k"], json({"update"}));
  EXPECT_EQ(d["other/x"], json({"deny"}));
  EXPECT_EQ(d["auth/token/renew-self"], json({"update"}));  // the default policy
  EXPECT_FALSE(d.contains("capabilities")) << "only for one path";
  EXPECT_EQ(r.body["secret/data/app/x"], d["secret/data/app/x"]) << "also at the top level";
  EXPECT_TRUE(r.body.contains("request_id")) << "the envelope is kept";
}

TEST_F(DevlockerCapabilities, OnePathAlsoFillsCapabilities) {
  auto r = locker_->Call("POST", "sys/capabilities-self", {{"paths", {"secret/data/app/x"}}}, token_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["capabilities"], json({"create", "read"}));
  EXPECT_EQ(r.body["capabilities"], json({"create", "read"}));
  // The deprecated "path" field, as a comma-separated string.
  r = locker_->Call("POST", "sys/capabilities-self", {{"path", "secret/data/app/x,other/y"}}, token_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["other/y"], json({"deny"}));
}

TEST_F(DevlockerCapabilities, RootTokenHasRootAndNoPathsIsAnError) {
  auto r = locker_->Call("POST", "sys/capabilities-self", {{"paths", {"anything/at/all"}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["data"]["anything/at/all"], json({"root"}));
  r = locker_->Call("POST", "sys/capabilities-self", json::object(), token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["errors"][0], "paths must be supplied");
}

}  // namespace
}  // namespace keyring_locker
