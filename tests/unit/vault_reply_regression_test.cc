// Replies that once made VaultLocker throw out of its public functions
// (found by tests/fuzz/fuzz_vault_responses; the inputs are in
// tests/fuzz/corpus/vault_responses/odd_types and wrong_types_detect).
// Each must now be a Status or a sensible value, never an exception.
#include <gtest/gtest.h>

#include "keyring_backend/vault/vault_locker.h"
#include "tests/fuzz/vault_replay.h"

namespace keyring_locker {
namespace {

using fuzz::ReplayHttpClient;
using fuzz::SplitReplies;

VaultOptions Options(int kv_version) {
  VaultOptions o;
  o.kv_version = kv_version;
  return o;
}

TEST(VaultReplyRegression, HealthWithNonBooleanSealedIsNotAnException) {
  ReplayHttpClient http(SplitReplies(R"(200
{"sealed":"yes","standby":1,"version":5})"));
  VaultLocker locker(Options(2), &http, nullptr);
  StatusOr<LockerHealth> h = Internal("Health() not called");
  ASSERT_NO_THROW(h = locker.Health());
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->reachable);
  EXPECT_FALSE(h->sealed);   // not a boolean: not believed
  EXPECT_FALSE(h->standby);
  EXPECT_EQ(h->version, "");
}

TEST(VaultReplyRegression, MountTypeOfWrongTypeIsNotAnException) {
  ReplayHttpClient http(SplitReplies(R"(200
{"data":{"type":7,"options":{"version":2}}}
%%
200
{"data":{"type":"aes256-gcm96"}})"));
  VaultLocker locker(Options(0), &http, nullptr);
  Status s;
  ASSERT_NO_THROW(s = locker.Connect());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(locker.kv_version(), 2);  // a numeric version 2 is still version 2
}

TEST(VaultReplyRegression, MountDataOfWrongTypeIsNotAnException) {
  ReplayHttpClient http(SplitReplies(R"(200
{"data":"kv"}
%%
200
{"data":{}})"));
  VaultLocker locker(Options(0), &http, nullptr);
  Status s;
  ASSERT_NO_THROW(s = locker.Connect());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(locker.kv_version(), 1);
}

TEST(VaultReplyRegression, SysMountsOptionsOfWrongTypeIsNotAnException) {
  ReplayHttpClient http(SplitReplies(R"(404
{"errors":[]}
%%
200
{"data":{"secret/":{"type":"kv","options":"v2"}}}
%%
200
{"data":{}})"));
  VaultLocker locker(Options(0), &http, nullptr);
  Status s;
  ASSERT_NO_THROW(s = locker.Connect());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(locker.kv_version(), 1);
}

TEST(VaultReplyRegression, NonKvMountIsAClearError) {
  ReplayHttpClient http(SplitReplies(R"(200
{"data":{"type":"transit"}})"));
  VaultLocker locker(Options(0), &http, nullptr);
  Status s = locker.Connect();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("locker.kv_mount"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace keyring_locker
