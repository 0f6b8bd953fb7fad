// The envelope between KeyService and the two locker roles: which wrapper a
// record needs, the wrapper "none" only over a store that protects keys,
// and the store-protected path (the KMIP shape) end to end through
// KeyService, on the tests' memory store.
#include <gtest/gtest.h>

#include "keyring_backend/key_service.h"
#include "keyring_backend/wrapper/no_wrapper.h"
#include "tests/support/fake_locker.h"
#include "tests/support/local_aead_wrapper.h"
#include "tests/support/memory_key_store.h"

namespace keyring_locker {
namespace {

using testing::MemoryKeyStore;

KeyScopeOptions Scope() {
  KeyScopeOptions s;
  s.scope = "env/test";
  s.rules.server = KeyServer::kMariaDb;
  return s;
}

std::unique_ptr<KeyService> Service(std::unique_ptr<KeyStore> store, std::unique_ptr<KeyWrapper> wrapper) {
  return std::make_unique<KeyService>(KeyLocker{std::move(store), std::move(wrapper)}, Scope(), CacheOptions{},
                                      nullptr, "test:1", std::chrono::milliseconds(0));
}

TEST(EnvelopeTest, StoreProtectedKeysRoundTripThroughKeyService) {
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  auto svc = Service(std::make_unique<MemoryKeyStore>(shared, "s", true), std::make_unique<NoWrapper>());
  // 32 bytes: made by the store itself (KMIP Create); 16: local random, registered.
  auto v = svc->EnsureKey("1", 32);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto w = svc->EnsureKey("2", 16);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    const KeyRecord& r1 = shared->records.at({"s\n1", 1});
    EXPECT_EQ(r1.format, Envelope::kStoreProtectedFormat);
    EXPECT_EQ(r1.origin, "locker");
    EXPECT_EQ(r1.plaintext.size(), 32u);
    EXPECT_TRUE(r1.wrapped.empty());
    EXPECT_EQ(r1.wrapper, "none");
    EXPECT_EQ(shared->records.at({"s\n2", 1}).origin, "local-random");
  }
  auto cached = svc->Get("1", 1);
  ASSERT_TRUE(cached.ok());
  // A restarted server reads the same bytes from the store.
  auto restarted = Service(std::make_unique<MemoryKeyStore>(shared, "s", true), std::make_unique<NoWrapper>());
  auto again = restarted->Get("1", 1);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->bytes.Equals((*cached)->bytes));
  ASSERT_EQ(*restarted->Rotate("1", 32), 2u);
  EXPECT_FALSE((*restarted->Get("1", 2))->bytes.Equals((*again)->bytes));
}

TEST(EnvelopeTest, ServerBytesAreStoredAsGivenUnderNone) {
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  auto svc = Service(std::make_unique<MemoryKeyStore>(shared, "s", true), std::make_unique<NoWrapper>());
  crypto::SecureBuffer bytes = std::move(crypto::RandomKey(24)).value();
  ASSERT_TRUE(svc->Create("k", 1, "AES", 24, &bytes).ok());
  std::lock_guard<std::mutex> lock(shared->mu);
  EXPECT_TRUE(shared->records.at({"s\nk", 1}).plaintext.Equals(bytes));
  EXPECT_EQ(shared->records.at({"s\nk", 1}).origin, "server");
}

TEST(EnvelopeTest, NoneIsRefusedOverAStoreThatKeepsOnlyWrappedKeys) {
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  auto svc = Service(std::make_unique<MemoryKeyStore>(shared, "s", false), std::make_unique<NoWrapper>());
  auto v = svc->EnsureKey("1", 32);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("configure a wrapper"), std::string::npos) << v.status().ToString();
  EXPECT_TRUE(shared->records.empty());
}

TEST(EnvelopeTest, ABareRecordInAStoreThatDoesNotProtectKeysIsRefused) {
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  KeyRecord r;
  r.name = "1";
  r.version = 1;
  r.format = Envelope::kStoreProtectedFormat;
  r.length = 32;
  r.wrapped = "x";
  shared->records.emplace(std::make_pair(std::string("s\n1"), 1u), std::move(r));
  auto svc = Service(std::make_unique<MemoryKeyStore>(shared, "s", false), std::make_unique<testing::LocalAeadWrapper>());
  auto k = svc->Get("1", 1);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Code::kDataLoss);
  EXPECT_NE(k.status().message().find("bare key"), std::string::npos) << k.status().ToString();
}

TEST(EnvelopeTest, AKeySealedByAnotherWrapperNamesBoth) {
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  auto writer = Service(std::make_unique<MemoryKeyStore>(shared, "s", false), std::make_unique<testing::LocalAeadWrapper>());
  ASSERT_TRUE(writer->EnsureKey("1", 32).ok());
  testing::FakeLocker fake;
  auto reader = Service(std::make_unique<MemoryKeyStore>(shared, "s", false), std::make_unique<testing::FakeWrapper>(&fake));
  auto k = reader->Get("1", 1);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(k.status().message().find("\"local-aead:test\""), std::string::npos) << k.status().ToString();
  EXPECT_NE(k.status().message().find("\"fake-aead\""), std::string::npos);
  EXPECT_EQ(fake.unwraps.load(), 0) << "nothing is sent to a wrapper that did not seal the key";
}

TEST(EnvelopeTest, AssociatedDataBindsTheKeyWhereTheWrapperCan) {
  // LocalAeadWrapper binds its associated data: a record moved to another
  // version fails at the wrapper already, before the binding check.
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  auto svc = Service(std::make_unique<MemoryKeyStore>(shared, "s", false), std::make_unique<testing::LocalAeadWrapper>());
  ASSERT_TRUE(svc->EnsureKey("1", 32).ok());
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    KeyRecord moved;
    const KeyRecord& r = shared->records.at({"s\n1", 1});
    moved.name = "1";
    moved.version = 2;
    moved.format = r.format;
    moved.length = r.length;
    moved.wrapper = r.wrapper;
    moved.wrapped = r.wrapped;
    shared->records.emplace(std::make_pair(std::string("s\n1"), 2u), std::move(moved));
  }
  auto k = svc->Get("1", 2);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("unwrapping key 1 version 2"), std::string::npos) << k.status().ToString();
}

}  // namespace
}  // namespace keyring_locker
