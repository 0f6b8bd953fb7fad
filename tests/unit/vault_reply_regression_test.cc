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

// Issue #15: a KV v2 document overwritten as a new KV version (someone with
// KV write access replaced a create-only document) is refused, not read.
namespace keyring_locker {
namespace {

// Connect() reads the Transit key first.
const std::string kConnected = "200\n{\"data\":{\"type\":\"aes256-gcm96\"}}\n%%\n";
constexpr const char* kDoc = R"({"format":"keyring_locker/2","name":"18","version":1,"wrapped":"vault:v1:AAAA","length":32})";

StatusOr<nlohmann::json> FetchWithMetadataVersion(const std::string& version) {
  ReplayHttpClient http(SplitReplies(kConnected + "200\n{\"data\":{\"data\":" + kDoc +
                                     ",\"metadata\":{\"version\":" + version + "}}}"));
  VaultLocker locker(Options(2), &http, nullptr);
  return locker.Fetch("keyring_locker/p/keys/18/1");
}

TEST(VaultReplyIntegrity, OverwrittenKvVersionIsRefused) {
  EXPECT_TRUE(FetchWithMetadataVersion("1").ok());
  for (const char* v : {"2", "7", "\"1\"", "0", "-1"}) {
    auto got = FetchWithMetadataVersion(v);
    ASSERT_FALSE(got.ok()) << "KV version " << v << " was read as the original";
    EXPECT_EQ(got.status().code(), Code::kDataLoss);
    EXPECT_NE(got.status().message().find("was overwritten"), std::string::npos) << got.status().ToString();
  }
}

TEST(VaultReplyIntegrity, DuplicateFieldsInAReplyAreRefused) {
  // Two "wrapped" fields in a document: nlohmann would keep the last one.
  ReplayHttpClient kv(SplitReplies(kConnected +
      R"(200
{"data":{"data":{"format":"keyring_locker/2","name":"18","version":1,"wrapped":"vault:v1:AAAA","wrapped":"vault:v1:BBBB","length":32},"metadata":{"version":1}}})"));
  VaultLocker a(Options(2), &kv, nullptr);
  auto doc = a.Fetch("keyring_locker/p/keys/18/1");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), Code::kDataLoss);
  EXPECT_NE(doc.status().message().find("data.data.wrapped"), std::string::npos) << doc.status().ToString();

  // Two "plaintext" fields in a Transit answer.
  ReplayHttpClient transit(SplitReplies(kConnected + R"(200
{"data":{"plaintext":"AAAAAAAAAAAAAAAAAAAAAA==","plaintext":"BBBBBBBBBBBBBBBBBBBBBB=="}})"));
  VaultLocker b(Options(2), &transit, nullptr);
  auto key = b.Unwrap("vault:v1:AAAA", "");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kDataLoss);
  EXPECT_EQ(key.status().message().find("AAAAAAAA"), std::string::npos) << "no key bytes in the message";
}

TEST(VaultReplyIntegrity, ErrorTextsCannotForgeLogLines) {
  ReplayHttpClient http(SplitReplies(kConnected + "500\n{\"errors\":[\"boom\\n2026-01-01 0 [Note] forged\\u001b[2J\"]}"));
  VaultLocker locker(Options(2), &http, nullptr);
  auto got = locker.Fetch("keyring_locker/p/keys/1/1");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("boom?2026"), std::string::npos) << got.status().ToString();
  EXPECT_EQ(got.status().message().find_first_of("\n\x1b"), std::string::npos);
}

}  // namespace
}  // namespace keyring_locker
