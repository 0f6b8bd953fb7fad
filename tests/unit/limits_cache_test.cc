// Limit: "bounded memory for the cache". KeyCache holds at most
// ceil(max_keys / 16) versions per shard; past that it evicts the oldest
// insertions. Eviction loses nothing (the locker still has the key, the next
// Get reloads it) and never frees bytes a caller still holds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/secure_buffer.h"
#include "keyring_backend/cache/key_cache.h"
#include "tests/support/test_keys.h"

namespace keyring_locker {
namespace {

using testing::MakeKey;

TEST(LimitsCache, EntriesAndLockedBuffersStayBoundedPastTheLimit) {
  constexpr size_t kMax = 64;  // 4 per shard
  KeyCache cache(kMax);
  const size_t live_before = crypto::SecureBuffer::LiveBuffers();
  for (uint32_t v = 1; v <= 20000; ++v) cache.Insert("k", v, MakeKey(static_cast<uint8_t>(v)));
  const KeyCacheStats s = cache.stats();
  EXPECT_LE(s.entries, kMax);
  EXPECT_EQ(s.evictions, 20000u - s.entries);
  // Evicted entries really released their locked pages.
  EXPECT_LE(crypto::SecureBuffer::LiveBuffers() - live_before, kMax);
}

TEST(LimitsCache, BoundRoundsUpToWholeShardsOnly) {
  // max_keys = 1 still keeps one per shard: the documented worst case is
  // 16 * ceil(max_keys / 16) entries.
  KeyCache cache(1);
  for (uint32_t v = 1; v <= 1000; ++v) cache.Insert("k", v, MakeKey(1));
  EXPECT_LE(cache.stats().entries, 16u);
  EXPECT_GE(cache.stats().entries, 1u);
}

TEST(LimitsCache, EvictedKeyIsReloadedAndHeldHandlesStayValid) {
  KeyCache cache(16);  // one per shard
  KeyHandle held = MakeKey(0xAB);
  cache.Insert("k", 1, held);
  for (uint32_t v = 2; v <= 500; ++v) cache.Insert("k", v, MakeKey(2));
  ASSERT_EQ(cache.Find("k", 1), nullptr) << "version 1 should have been evicted";
  // The caller's handle still owns the bytes (ASan would flag a use after free).
  EXPECT_EQ(held->bytes.data()[31], 0xAB);
  int loads = 0;
  auto again = cache.GetOrLoad("k", 1, [&]() -> StatusOr<KeyHandle> {
    ++loads;
    return MakeKey(0xAB);
  });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(loads, 1);
  EXPECT_EQ((*again)->bytes.data()[0], 0xAB);
  EXPECT_NE(cache.Find("k", 1), nullptr);
}

}  // namespace
}  // namespace keyring_locker
