// LockedSlab (crypto/locked_slab.h) through SecureBuffer: small buffers share
// locked pages, a freed slot is wiped and reused, an empty page goes back to
// the system, and 10,000 keys lock a few hundred KiB instead of 40 MB.
#include "crypto/locked_slab.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/secure_buffer.h"

#if defined(__SANITIZE_ADDRESS__)
#define KLK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KLK_TEST_ASAN 1
#endif
#endif
#ifdef KLK_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace keyring_locker::crypto {
namespace {

// Reads bytes of a slot that was freed: the point of these tests. Under
// AddressSanitizer a free slot is poisoned (reading it is the bug ASan is
// there to catch), so the test lifts the poison first.
bool FreedBytesAreZero(const uint8_t* p, size_t n) {
#ifdef KLK_TEST_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// AddressSanitizer and ThreadSanitizer turn mlock into a no-op: VmLck says
// nothing then.
#if defined(__SANITIZE_THREAD__)
#define KLK_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KLK_TEST_TSAN 1
#endif
#endif
constexpr bool kMlockReal =
#if defined(KLK_TEST_ASAN) || defined(KLK_TEST_TSAN)
    false;
#else
    true;
#endif

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

long VmLckKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(LockedSlabTest, SmallBuffersShareAPageAndAreMarkedDontDump) {
  const SlabStats before = LockedSlab::Instance().Stats();
  SecureBuffer a(32);
  SecureBuffer b(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  const auto page_of = [](const SecureBuffer& x) { return reinterpret_cast<uintptr_t>(x.data()) / PageSize(); };
  EXPECT_EQ(page_of(a), page_of(b)) << "two 32-byte keys took two pages";
  EXPECT_TRUE(a.ExcludedFromCoreDumps());
  const SlabStats held = LockedSlab::Instance().Stats();
  EXPECT_LE(held.pages, before.pages + 1);
  EXPECT_EQ(held.slots_in_use, before.slots_in_use + 2);
}

TEST(LockedSlabTest, SlotSizesCoverEveryLengthUpToTheLargestSlot) {
  for (size_t n : {size_t{1}, size_t{16}, size_t{32}, size_t{33}, size_t{100}, size_t{512}, size_t{1000},
                   LockedSlab::kLargestSlot}) {
    SlabSlot slot;
    ASSERT_TRUE(LockedSlab::Instance().Allocate(n, &slot)) << n;
    EXPECT_GE(slot.capacity, n);
    EXPECT_LE(slot.capacity, 2 * n < 32 ? 32 : 2 * n) << "slot far larger than asked for " << n;
    LockedSlab::Instance().Free(slot);
  }
  SlabSlot too_big;
  EXPECT_FALSE(LockedSlab::Instance().Allocate(LockedSlab::kLargestSlot + 1, &too_big));
  EXPECT_FALSE(LockedSlab::Instance().Allocate(0, &too_big));
}

TEST(LockedSlabTest, FreedSlotIsWipedAndReusedFirst) {
  SecureBuffer keeps_page_mapped(64);
  uint8_t* raw = nullptr;
  {
    SecureBuffer secret(64);
    std::memset(secret.data(), 0x5A, secret.size());
    raw = secret.data();
  }
  // The page is still mapped (the other slot lives): the old bytes must be gone.
  EXPECT_TRUE(FreedBytesAreZero(raw, 64)) << "key bytes survived the release";
  SecureBuffer next(64);
  EXPECT_EQ(next.data(), raw) << "the freed slot was not handed out again";
}

TEST(LockedSlabTest, TruncatedBufferIsWipedWhole) {
  SecureBuffer keeps_page_mapped(128);
  uint8_t* raw = nullptr;
  {
    SecureBuffer b(100);
    std::memset(b.data(), 0xC3, b.size());
    b.Truncate(10);
    raw = b.data();
  }
  EXPECT_TRUE(FreedBytesAreZero(raw, 128)) << "bytes past the truncated size survived the release";
}

TEST(LockedSlabTest, TenThousandKeysFitInFewPagesAndThePagesGoBack) {
  const SlabStats before = LockedSlab::Instance().Stats();
  const long vmlck_before = VmLckKb();
  {
    std::vector<SecureBuffer> keys;
    keys.reserve(10000);
    for (int i = 0; i < 10000; ++i) {
      keys.emplace_back(32);
      std::memset(keys.back().data(), i & 0xFF, 32);
    }
    const SlabStats held = LockedSlab::Instance().Stats();
    const size_t pages_needed = (10000 * 32 + PageSize() - 1) / PageSize();
    EXPECT_LE(held.pages - before.pages, pages_needed + 1) << "one page per key is back";
    EXPECT_EQ(held.slots_in_use - before.slots_in_use, 10000u);
    if (kMlockReal && held.unlocked_slots == before.unlocked_slots && vmlck_before >= 0) {
      const long grew_kb = VmLckKb() - vmlck_before;
      EXPECT_LE(grew_kb, static_cast<long>((pages_needed + 1) * PageSize() / 1024));
      EXPECT_GE(grew_kb, static_cast<long>(pages_needed * PageSize() / 1024));
    }
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(keys[i].data()[31], i & 0xFF) << "slots overlap at key " << i;
  }
  const SlabStats after = LockedSlab::Instance().Stats();
  EXPECT_EQ(after.pages, before.pages) << "empty pages were kept";
  EXPECT_EQ(after.slots_in_use, before.slots_in_use);
  if (kMlockReal && vmlck_before >= 0) {
    EXPECT_EQ(VmLckKb(), vmlck_before);
  }
}

TEST(LockedSlabTest, ConcurrentAllocationsNeverShareASlot) {
  const SlabStats before = LockedSlab::Instance().Stats();
  std::vector<std::thread> threads;
  std::vector<int> corrupted(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &corrupted] {
      std::vector<SecureBuffer> mine;
      for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 50; ++i) {
          mine.emplace_back(static_cast<size_t>(16 + (i % 4) * 40));  // three slot sizes
          std::memset(mine.back().data(), t + 1, mine.back().size());
        }
        for (const auto& b : mine) {
          for (size_t i = 0; i < b.size(); ++i) corrupted[t] += b.data()[i] != t + 1;
        }
        mine.erase(mine.begin(), mine.begin() + 40);  // free most, keep some across rounds
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(corrupted[t], 0) << "thread " << t << " saw another's bytes";
  const SlabStats after = LockedSlab::Instance().Stats();
  EXPECT_EQ(after.slots_in_use, before.slots_in_use);
  EXPECT_EQ(after.pages, before.pages);
}

// Child process body: no locked-memory allowance. Every slab buffer counts as
// a failed mlock; the bytes counted unlocked are the one page they share.
[[noreturn]] void SlabBuffersWithoutMemlockAllowance() {
  const rlimit limit{0, 0};
  if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) _exit(3);
  if (geteuid() == 0 && setuid(65534) != 0) _exit(4);
  const MemoryLockStats before = SecureBuffer::LockStats();
  {
    std::vector<SecureBuffer> held;
    for (int i = 0; i < 10; ++i) held.emplace_back(32);
    const MemoryLockStats now = SecureBuffer::LockStats();
    if (now.mlock_failures - before.mlock_failures != 10) _exit(10);
    if (now.unlocked_buffers - before.unlocked_buffers != 10) _exit(11);
    if (now.unlocked_bytes - before.unlocked_bytes != PageSize()) _exit(12);
    if (now.locked_bytes != before.locked_bytes) _exit(13);
  }
  const MemoryLockStats after = SecureBuffer::LockStats();
  _exit(after.unlocked_buffers == before.unlocked_buffers && after.unlocked_bytes == before.unlocked_bytes ? 0 : 14);
}

TEST(LockedSlabDeathTest, BuffersInAnUnlockedPageAreCountedAsFailedMlocks) {
  if (!kMlockReal) GTEST_SKIP() << "this sanitizer turns mlock into a no-op";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(SlabBuffersWithoutMemlockAllowance(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace keyring_locker::crypto

namespace keyring_locker::crypto {
namespace {

// Slots sit back to back: under AddressSanitizer a read past the bytes
// asked for (into the slot's tail or a free slot) must be reported.
TEST(LockedSlabDeathTest, OverrunPastTheAskedSizeIsReportedUnderAsan) {
#ifndef KLK_TEST_ASAN
  GTEST_SKIP() << "only an AddressSanitizer build poisons the slots";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SecureBuffer a(20);
        volatile const uint8_t* p = a.data();
        std::printf("%d\n", p[25]);
      },
      "use-after-poison");
#endif
}

}  // namespace
}  // namespace keyring_locker::crypto
