// KeyService generations and soft delete (the MySQL key model) against the
// in-memory FakeLocker.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "keyring_backend/key_service.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

using testing::FakeLocker;
using testing::LockerRef;

class GenerationsTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> NewService() {
    KeyScopeOptions s;
    s.scope = "prod/db1";
    return std::make_unique<KeyService>(testing::FakeKeyLocker(&locker_, s), s, CacheOptions(), nullptr, "test:1",
                                        std::chrono::milliseconds(0));
  }
  static crypto::SecureBuffer Bytes(uint8_t fill, size_t n = 16) {
    crypto::SecureBuffer b(n);
    std::memset(b.data(), fill, n);
    return b;
  }
  FakeLocker locker_;
};

TEST_F(GenerationsTest, StoreRemoveStoreAgainMakesANewGenerationAndKeepsTheOld) {
  auto svc = NewService();
  auto a = Bytes(0xAA), b = Bytes(0xBB);
  ASSERT_TRUE(svc->CreateGeneration("rk_new", "AES", 16, &a).ok());
  EXPECT_EQ(svc->CreateGeneration("rk_new", "AES", 16, &b).code(), Code::kAlreadyExists);
  ASSERT_TRUE(svc->SoftRemove("rk_new").ok());
  EXPECT_EQ(svc->GetLive("rk_new").status().code(), Code::kNotFound);
  EXPECT_EQ(svc->SoftRemove("rk_new").code(), Code::kNotFound);
  ASSERT_TRUE(svc->CreateGeneration("rk_new", "AES", 16, &b).ok());
  auto live = svc->GetLive("rk_new");
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE((*live)->bytes.Equals(b));
  // The first generation is still in the locker, with its marker beside it.
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/rk_new/1").is_object());
  EXPECT_EQ(locker_.Get("keyring_locker/prod/db1/keys/rk_new/1.deleted")["version"], 1);
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/rk_new/2").is_object());
}

TEST_F(GenerationsTest, ARestartedServiceSeesTheRemovalWithoutExtraRequests) {
  {
    auto svc = NewService();
    ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, nullptr).ok());
    ASSERT_TRUE(svc->SoftRemove("k").ok());
  }
  auto svc = NewService();
  ASSERT_TRUE(svc->RefreshVersions().ok());  // what Backend::Open does
  const int lists = locker_.lists.load();
  EXPECT_EQ(svc->GetLive("k").status().code(), Code::kNotFound);
  EXPECT_EQ(locker_.lists.load(), lists);  // answered from the refresh's listing
}

TEST_F(GenerationsTest, ListLiveAndListDeleted) {
  auto svc = NewService();
  ASSERT_TRUE(svc->CreateGeneration("a", "AES", 32, nullptr).ok());
  ASSERT_TRUE(svc->CreateGeneration("b/x y", "AES", 32, nullptr).ok());
  ASSERT_TRUE(svc->SoftRemove("a").ok());
  auto live = svc->ListLive();
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(*live, std::vector<std::string>{"b/x y"});
  auto deleted = svc->ListDeleted();
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].name, "a");
  EXPECT_EQ((*deleted)[0].version, 1u);
  EXPECT_EQ((*deleted)[0].deleted_by, "test:1");
  EXPECT_FALSE((*deleted)[0].purged);
  EXPECT_GT((*deleted)[0].deleted_unix, 0);
}

TEST_F(GenerationsTest, RestoreBringsBackTheSameBytesOnlyForTheLatestGeneration) {
  auto svc = NewService();
  auto a = Bytes(0x11, 32);
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, &a).ok());
  ASSERT_TRUE(svc->SoftRemove("k").ok());
  EXPECT_EQ(svc->Restore("k", 2).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(svc->Restore("k", 1).ok());
  auto live = NewService()->GetLive("k");  // a fresh service reads the locker
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE((*live)->bytes.Equals(a));
  EXPECT_EQ(svc->Restore("k", 1).code(), Code::kFailedPrecondition);  // not deleted
  ASSERT_TRUE(svc->SoftRemove("k").ok());
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, nullptr).ok());
  EXPECT_EQ(svc->Restore("k", 1).code(), Code::kFailedPrecondition);  // gen 2 is newer
}

// WithLiveCached (the MySQL fetch's hot path) serves only what GetLive
// loaded for the live generation, and forgets it the moment the generation
// changes: a removed key is never served from it, a stored-again key never
// with the old bytes.
TEST_F(GenerationsTest, HotPathServesOnlyTheLiveGenerationGetLiveLoaded) {
  auto svc = NewService();
  auto a = Bytes(0xA1, 32), b = Bytes(0xB2, 32);
  auto served = [&](crypto::SecureBuffer* out) {
    return svc->WithLiveCached("k", [&](const KeyMaterial& m) {
      *out = crypto::SecureBuffer(m.bytes.size());
      std::memcpy(out->data(), m.bytes.data(), m.bytes.size());
    });
  };
  crypto::SecureBuffer got;
  EXPECT_FALSE(served(&got));  // unknown name
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, &a).ok());
  EXPECT_FALSE(served(&got));  // known, not yet loaded by a fetch
  ASSERT_TRUE(svc->GetLive("k").ok());
  const int fetches = locker_.fetches.load();
  ASSERT_TRUE(served(&got));
  EXPECT_TRUE(got.Equals(a));
  EXPECT_EQ(locker_.fetches.load(), fetches);  // no request
  const uint64_t hits = svc->stats().cache.hits;
  ASSERT_TRUE(served(&got));
  EXPECT_EQ(svc->stats().cache.hits, hits + 1);  // counted as a cache hit

  ASSERT_TRUE(svc->SoftRemove("k").ok());
  EXPECT_FALSE(served(&got));
  EXPECT_EQ(svc->GetLive("k").status().code(), Code::kNotFound);
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, &b).ok());
  EXPECT_FALSE(served(&got));  // generation 2 not loaded yet; generation 1 never again
  ASSERT_TRUE(svc->GetLive("k").ok());
  ASSERT_TRUE(served(&got));
  EXPECT_TRUE(got.Equals(b));

  ASSERT_TRUE(svc->SoftRemove("k").ok());
  ASSERT_TRUE(svc->Restore("k", 2).ok());  // the one backwards move drops it too
  EXPECT_FALSE(served(&got));
  ASSERT_TRUE(svc->GetLive("k").ok());
  ASSERT_TRUE(served(&got));
  EXPECT_TRUE(got.Equals(b));
}

// The hot path under churn (TSan runs this program: scripts/sanitize.sh):
// readers on the memo while another thread removes and stores the key
// again, each generation filled with its own byte. A reader may see any
// generation, never torn bytes, and after the churn only the last one.
TEST_F(GenerationsTest, HotPathReadersDuringRemoveAndStoreAgainSeeWholeGenerations) {
  auto svc = NewService();
  auto first = Bytes(1, 32);
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, &first).ok());
  ASSERT_TRUE(svc->GetLive("k").ok());
  constexpr int kGenerations = 20;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, served{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const bool hit = svc->WithLiveCached("k", [&](const KeyMaterial& m) {
          for (size_t i = 1; i < m.bytes.size(); ++i) {
            if (m.bytes.data()[i] != m.bytes.data()[0]) torn.fetch_add(1);
          }
          served.fetch_add(1);
        });
        if (!hit) (void)svc->GetLive("k");  // what the plugin does on a miss
      }
    });
  }
  for (int g = 2; g <= kGenerations; ++g) {
    // Each generation is served at least once before the next replaces it
    // (bounded: a reader that never gets in fails the test below).
    const int before = served.load();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (served.load() == before && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    ASSERT_GT(served.load(), before) << "no reader was served generation " << g - 1;
    ASSERT_TRUE(svc->SoftRemove("k").ok());
    auto b = Bytes(static_cast<uint8_t>(g), 32);
    ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, &b).ok());
  }
  done.store(true);
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(served.load(), 0);
  ASSERT_TRUE(svc->GetLive("k").ok());
  uint8_t last = 0;
  ASSERT_TRUE(svc->WithLiveCached("k", [&](const KeyMaterial& m) { last = m.bytes.data()[0]; }));
  EXPECT_EQ(last, kGenerations);
}

TEST_F(GenerationsTest, PurgeHonoursRetentionAndNeverReusesTheNumber) {
  auto svc = NewService();
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, nullptr).ok());
  ASSERT_TRUE(svc->SoftRemove("k").ok());
  auto none = svc->PurgeDeleted(std::chrono::hours(24));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/k/1").is_object());
  auto one = svc->PurgeDeleted(std::chrono::seconds(0));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1u);
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/k/1").is_null());
  EXPECT_EQ(svc->Restore("k", 1).code(), Code::kNotFound);
  auto fresh = NewService();
  EXPECT_EQ(fresh->GetLive("k").status().code(), Code::kNotFound);
  ASSERT_TRUE(fresh->CreateGeneration("k", "AES", 32, nullptr).ok());
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/k/2").is_object());
  auto deleted = fresh->ListDeleted();
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_TRUE((*deleted)[0].purged);
}

TEST_F(GenerationsTest, LockerDownFailsCleanly) {
  auto svc = NewService();
  ASSERT_TRUE(svc->CreateGeneration("k", "AES", 32, nullptr).ok());
  locker_.down = true;
  EXPECT_EQ(svc->SoftRemove("k").code(), Code::kUnavailable);
  EXPECT_EQ(svc->CreateGeneration("j", "AES", 32, nullptr).code(), Code::kUnavailable);
  EXPECT_TRUE(svc->GetLive("k").ok());  // served from memory
  locker_.down = false;
  EXPECT_TRUE(locker_.Get("keyring_locker/prod/db1/keys/k/1.deleted").is_null());
}

}  // namespace
}  // namespace keyring_locker
