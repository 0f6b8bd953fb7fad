// Limit: "bounded memory for the cache". KeyCache holds at most max_keys
// versions; past that it evicts the oldest insertions. Eviction loses nothing (the locker still has the key, the next
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
  constexpr size_t kMax = 64;
  KeyCache cache(kMax);
  const size_t live_before = crypto::SecureBuffer::LiveBuffers();
  for (uint32_t v = 1; v <= 20000; ++v) cache.Insert("k", v, MakeKey(static_cast<uint8_t>(v)));
  const KeyCacheStats s = cache.stats();
  EXPECT_EQ(s.entries, kMax);
  EXPECT_EQ(s.evictions, 20000u - s.entries);
  // Evicted entries really released their locked pages.
  EXPECT_LE(crypto::SecureBuffer::LiveBuffers() - live_before, kMax);
}

TEST(LimitsCache, TheBoundIsExactWhateverTheNames) {
  // One bound for the whole cache, not per part: many names or one, at
  // most max_keys entries, and the newest is always kept.
  KeyCache one(1);
  for (uint32_t v = 1; v <= 1000; ++v) one.Insert("k", v, MakeKey(1));
  EXPECT_EQ(one.stats().entries, 1u);
  EXPECT_NE(one.Find("k", 1000), nullptr);
  KeyCache many(10);
  for (uint32_t i = 1; i <= 1000; ++i) many.Insert(std::to_string(i), 1, MakeKey(1));
  EXPECT_EQ(many.stats().entries, 10u);
  EXPECT_NE(many.Find("1000", 1), nullptr);
  EXPECT_EQ(many.Find("990", 1), nullptr);
}

TEST(LimitsCache, EvictedKeyIsReloadedAndHeldHandlesStayValid) {
  KeyCache cache(16);
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
