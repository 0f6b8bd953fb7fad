// The dev locker speaks enough of Vault's wire format for keyring_locker's
// tests: these pin the behaviours those tests rely on.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker::testing {
namespace {

using json = nlohmann::json;

class DevLockerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { locker_ = DevLocker::Start().release(); }
  static void TearDownTestSuite() {
    delete locker_;
    locker_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(locker_, nullptr); }
  DevLocker& L() { return *locker_; }
  // A token limited to `policies`, created by root.
  std::string Token(const json& policies, const json& extra = json::object()) {
    json body = extra;
    body["policies"] = policies;
    auto r = L().Call("POST", "auth/token/create", body);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return r.body["auth"]["client_token"].get<std::string>();
  }
  static DevLocker* locker_;
};
DevLocker* DevLockerTest::locker_ = nullptr;

int Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

TEST_F(DevLockerTest, CreatesTlsMaterialWithPrivateKeys) {
  for (const char* stem : {"ca", "server", "client"}) {
    EXPECT_EQ(Mode(L().tls_dir() + "/" + stem + "-key.pem"), 0600) << stem;
    EXPECT_NE(Mode(L().tls_dir() + "/" + stem + ".pem"), -1) << stem;
  }
}

TEST_F(DevLockerTest, HealthAnswersWithoutToken) {
  auto r = L().Call("GET", "sys/health", nullptr, "-");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["sealed"], false);
  EXPECT_EQ(r.body["initialized"], true);
  EXPECT_EQ(r.body["version"], "1.15.0-devlocker");
}

TEST_F(DevLockerTest, UntrustedClientFailsTls) {
  DevLocker::CallOptions no_ca;
  no_ca.trust_ca = false;
  auto r = L().CallWith(no_ca, "GET", "sys/health", nullptr, "-");
  EXPECT_EQ(r.status, -1) << r.body.dump();
}

TEST_F(DevLockerTest, UnknownOrMissingTokenIsDenied) {
  EXPECT_EQ(L().Call("GET", "secret/data/x", nullptr, "-").status, 403);
  auto r = L().Call("GET", "secret/data/x", nullptr, "hvs.not-a-token");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["errors"][0], "permission denied");
}

TEST_F(DevLockerTest, KvV2CreateOnlyThenConflict) {
  json w = {{"options", {{"cas", 0}}}, {"data", {{"k", "v1"}}}};
  auto first = L().Call("POST", "secret/data/cas/one", w);
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["data"]["version"], 1);
  auto second = L().Call("POST", "secret/data/cas/one", w);
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(second.body["errors"][0], "check-and-set parameter did not match the current version");
  auto update = L().Call("POST", "secret/data/cas/one", {{"options", {{"cas", 1}}}, {"data", {{"k", "v2"}}}});
  EXPECT_EQ(update.status, 200);
  auto read = L().Call("GET", "secret/data/cas/one");
  EXPECT_EQ(read.body["data"]["data"]["k"], "v2");
  EXPECT_EQ(read.body["data"]["metadata"]["version"], 2);
  EXPECT_EQ(L().Call("GET", "secret/data/cas/one?version=1").body["data"]["data"]["k"], "v1");
}

TEST_F(DevLockerTest, KvV2MaxVersionsPrunesOldVersions) {
  ASSERT_EQ(L().Call("POST", "secret/metadata/prune", {{"max_versions", 3}}).status, 204);
  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(L().Call("POST", "secret/data/prune", {{"data", {{"i", i}}}}).status, 200);
  auto meta = L().Call("GET", "secret/metadata/prune");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(meta.body["data"]["current_version"], 5);
  EXPECT_EQ(meta.body["data"]["oldest_version"], 3);
  EXPECT_EQ(meta.body["data"]["max_versions"], 3);
  EXPECT_EQ(meta.body["data"]["versions"].size(), 3u);
  EXPECT_EQ(L().Call("GET", "secret/data/prune?version=1").status, 404);
  // The mount default is 10, silently.
  for (int i = 1; i <= 12; ++i) L().Call("POST", "secret/data/prune10", {{"data", {{"i", i}}}});
  EXPECT_EQ(L().Call("GET", "secret/metadata/prune10").body["data"]["oldest_version"], 3);
}

TEST_F(DevLockerTest, KvV2MetadataAndList) {
  L().Call("POST", "secret/metadata/lst/a", {{"custom_metadata", {{"owner", "t"}}}, {"cas_required", true}});
  EXPECT_EQ(L().Call("POST", "secret/data/lst/a", {{"data", {{"x", 1}}}}).status, 400);  // cas required
  EXPECT_EQ(L().Call("POST", "secret/data/lst/a", {{"options", {{"cas", 0}}}, {"data", {{"x", 1}}}}).status, 200);
  L().Call("POST", "secret/data/lst/dir/b", {{"data", {{"x", 1}}}});
  auto meta = L().Call("GET", "secret/metadata/lst/a");
  EXPECT_EQ(meta.body["data"]["custom_metadata"]["owner"], "t");
  EXPECT_EQ(meta.body["data"]["cas_required"], true);
  auto list = L().Call("LIST", "secret/metadata/lst/");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["data"]["keys"], json({"a", "dir/"}));
  auto empty = L().Call("LIST", "secret/metadata/nothing-here/");
  EXPECT_EQ(empty.status, 404);
  EXPECT_EQ(empty.body["errors"], json::array());
}

TEST_F(DevLockerTest, KvV2DeletedAndDestroyedVersionsAre404WithMetadata) {
  L().Call("POST", "secret/data/del", {{"data", {{"v", 1}}}});
  L().Call("POST", "secret/data/del", {{"data", {{"v", 2}}}});
  ASSERT_EQ(L().Call("DELETE", "secret/data/del").status, 204);
  auto r = L().Call("GET", "secret/data/del");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["data"]["metadata"]["version"], 2);
  EXPECT_NE(r.body["data"]["metadata"]["deletion_time"], "");
  EXPECT_EQ(L().Call("POST", "secret/undelete/del", {{"versions", {2}}}).status, 204);
  EXPECT_EQ(L().Call("GET", "secret/data/del").status, 200);
  EXPECT_EQ(L().Call("POST", "secret/destroy/del", {{"versions", {1}}}).status, 204);
  auto gone = L().Call("GET", "secret/data/del?version=1");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body["data"]["metadata"]["destroyed"], true);
  EXPECT_EQ(L().Call("DELETE", "secret/metadata/del").status, 204);
  EXPECT_EQ(L().Call("GET", "secret/metadata/del").status, 404);
}

TEST_F(DevLockerTest, KvV1MountIsFlat) {
  ASSERT_EQ(L().Call("POST", "sys/mounts/kv1", {{"type", "kv"}, {"options", {{"version", "1"}}}}).status, 204);
  auto ui = L().Call("GET", "sys/internal/ui/mounts/kv1");
  EXPECT_EQ(ui.body["data"]["options"]["version"], "1");
  EXPECT_EQ(L().Call("GET", "sys/internal/ui/mounts/secret").body["data"]["options"]["version"], "2");
  EXPECT_EQ(L().Call("GET", "sys/internal/ui/mounts/nope").status, 404);
  ASSERT_EQ(L().Call("POST", "kv1/app/k", {{"a", "b"}}).status, 204);
  EXPECT_EQ(L().Call("GET", "kv1/app/k").body["data"], json({{"a", "b"}}));
  EXPECT_EQ(L().Call("LIST", "kv1/app").body["data"]["keys"], json({"k"}));
  EXPECT_EQ(L().Call("DELETE", "kv1/app/k").status, 204);
  EXPECT_EQ(L().Call("GET", "kv1/app/k").status, 404);
  auto mounts = L().Call("GET", "sys/mounts");
  EXPECT_EQ(mounts.body["data"]["secret/"]["options"]["version"], "2");
  EXPECT_EQ(mounts.body["data"]["kv1/"]["type"], "kv");
}

}  // namespace
}  // namespace keyring_locker::testing
