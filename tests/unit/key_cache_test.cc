#include "keyring_backend/cache/key_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/support/test_keys.h"

namespace keyring_locker {
namespace {

using testing::MakeKey;

TEST(KeyCacheTest, FindAfterInsertAndMissBefore) {
  KeyCache cache(100);
  EXPECT_EQ(cache.Find("1", 1), nullptr);
  cache.Insert("1", 1, MakeKey(7));
  KeyHandle k = cache.Find("1", 1);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->bytes.data()[0], 7);
  EXPECT_EQ(cache.Find("1", 2), nullptr);
  EXPECT_EQ(cache.Find("11", 1), nullptr);
  auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.entries, 1u);
}

TEST(KeyCacheTest, FirstInsertWinsBecauseVersionBytesNeverChange) {
  KeyCache cache(100);
  cache.Insert("k", 1, MakeKey(1));
  cache.Insert("k", 1, MakeKey(2));
  EXPECT_EQ(cache.Find("k", 1)->bytes.data()[0], 1);
}

TEST(KeyCacheTest, LatestOnlyIncreases) {
  KeyCache cache(100);
  EXPECT_EQ(cache.Latest("k"), 0u);
  cache.RaiseLatest("k", 3);
  cache.RaiseLatest("k", 2);
  EXPECT_EQ(cache.Latest("k"), 3u);
  cache.RaiseLatest("k", 4);
  EXPECT_EQ(cache.Latest("k"), 4u);
  cache.ForgetLatest("k");
  EXPECT_EQ(cache.Latest("k"), 0u);
}

TEST(KeyCacheTest, LatestEpochMovesOnlyWhenALatestVersionChanges) {
  KeyCache cache(100);
  const uint64_t start = cache.LatestEpoch();
  cache.RaiseLatest("k", 3);
  const uint64_t raised = cache.LatestEpoch();
  EXPECT_NE(raised, start);
  cache.RaiseLatest("k", 3);  // what every refresh tick does: no change
  cache.RaiseLatest("k", 2);
  EXPECT_EQ(cache.LatestEpoch(), raised);
  cache.ForgetLatest("nothing");
  EXPECT_EQ(cache.LatestEpoch(), raised);
  cache.ForgetLatest("k");
  EXPECT_NE(cache.LatestEpoch(), raised);
}

TEST(KeyCacheTest, ConcurrentMissesCollapseIntoOneLoad) {
  KeyCache cache(100);
  std::atomic<int> loads{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      while (!go) std::this_thread::yield();
      auto r = cache.GetOrLoad("k", 1, [&]() -> StatusOr<KeyHandle> {
        ++loads;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return MakeKey(9);
      });
      if (r.ok() && (*r)->bytes.data()[0] == 9) ++ok;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(ok.load(), 16);
  EXPECT_GE(cache.stats().collapsed_waits, 1u);
}

TEST(KeyCacheTest, FailedLoadIsNotCachedAndIsRetriedNextTime) {
  KeyCache cache(100);
  int calls = 0;
  auto fail = [&]() -> StatusOr<KeyHandle> { ++calls; return Unavailable("down"); };
  EXPECT_EQ(cache.GetOrLoad("k", 1, fail).status().code(), Code::kUnavailable);
  EXPECT_EQ(cache.GetOrLoad("k", 1, [&]() -> StatusOr<KeyHandle> { ++calls; return MakeKey(3); })->get()->bytes.data()[0], 3);
  EXPECT_EQ(calls, 2);
}

TEST(KeyCacheTest, LoaderExceptionBecomesInternalError) {
  KeyCache cache(100);
  auto r = cache.GetOrLoad("k", 1, []() -> StatusOr<KeyHandle> { throw std::runtime_error("boom"); });
  EXPECT_EQ(r.status().code(), Code::kInternal);
}

TEST(KeyCacheTest, BoundedEntriesEvictOldest) {
  KeyCache cache(32);
  for (uint32_t v = 1; v <= 1000; ++v) cache.Insert("k", v, MakeKey(1));
  auto s = cache.stats();
  EXPECT_EQ(s.entries, 32u);
  EXPECT_EQ(s.evictions, 1000u - 32u);
  EXPECT_EQ(cache.Find("k", 968), nullptr);  // the oldest went first
  EXPECT_NE(cache.Find("k", 969), nullptr);
  EXPECT_NE(cache.Find("k", 1000), nullptr);  // the newest stays
}

TEST(KeyCacheTest, EraseRemovesEveryVersionOfOneName) {
  KeyCache cache(100);
  cache.Insert("a", 1, MakeKey(1));
  cache.Insert("a", 2, MakeKey(1));
  cache.Insert("ab", 1, MakeKey(1));
  cache.Erase("a");
  EXPECT_EQ(cache.Find("a", 1), nullptr);
  EXPECT_EQ(cache.Find("a", 2), nullptr);
  EXPECT_NE(cache.Find("ab", 1), nullptr);
}

TEST(KeyCacheTest, ReadersDuringInsertsSeeWholeKeys) {
  KeyCache cache(100000);
  cache.Insert("k", 1, MakeKey(5));
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        KeyHandle k = cache.Find("k", 1);
        for (size_t j = 0; j < 32; ++j) torn += k->bytes.data()[j] != 5;
        ++reads;
      }
    });
  }
  for (uint32_t v = 2; v < 5000; ++v) cache.Insert("k", v, MakeKey(static_cast<uint8_t>(v)));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace keyring_locker
