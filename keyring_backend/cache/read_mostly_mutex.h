// ReadMostlyMutex: a reader-writer lock for what the server reads on every
// call and we write rarely (a key cached, a generation stored). A
// std::shared_mutex makes every reader write the lock's one reader count, so
// readers on two cores bounce one cache line between them: a cached lookup
// cost 24 ns on one thread and 190 ns per thread on two (docs/benchmarks.md).
// Here a reader locks only the stripe of the CPU it runs on, a cache line of
// its own; a writer locks every stripe, in order. Readers on different CPUs
// then share nothing they write; a write costs kStripes lock acquisitions,
// which is nothing next to the locker request that precedes most writes.
//
// Each stripe prefers writers: a reader arriving while a writer waits waits
// behind it. With the default (readers first) a writer could wait as long as
// readers kept overlapping on its stripe, and InnoDB's threads never stop
// asking; the price is that a reader must never take the same
// ReadMostlyMutex twice (the second could wait behind a writer that waits
// for the first).
//
// StripedCounter is the statistics counter to go with it: one per stripe,
// summed when read, so counting a hit does not bounce a line either.
#pragma once

#include <pthread.h>
#include <sched.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && \
    defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#include <sys/rseq.h>
#define KLK_HAVE_RSEQ_CPU_ID 1
#endif
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace keyring_locker {

// The stripe for the calling thread: its CPU, or (where the kernel cannot
// say) a number given to each thread once. Only a hint: correctness never
// depends on it, since a reader remembers the stripe it locked. The CPU comes
// from the rseq area glibc registers for every thread (0.3 ns: one load)
// when there is one, else sched_getcpu (3 ns here, a tenth of a lookup).
inline size_t CurrentStripe(size_t stripes) {
#ifdef KLK_HAVE_RSEQ_CPU_ID
  if (__rseq_size > 0) {
    const auto* area = reinterpret_cast<const volatile struct rseq*>(
        static_cast<const char*>(__builtin_thread_pointer()) + __rseq_offset);
    const auto cpu = static_cast<int32_t>(area->cpu_id);  // < 0: not registered
    if (cpu >= 0) return static_cast<size_t>(cpu) % stripes;
  }
#endif
  const int cpu = sched_getcpu();
  if (cpu >= 0) return static_cast<size_t>(cpu) % stripes;
  static std::atomic<size_t> next{0};
  thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % stripes;
}

class ReadMostlyMutex {
 public:
  ReadMostlyMutex() = default;
  ReadMostlyMutex(const ReadMostlyMutex&) = delete;
  ReadMostlyMutex& operator=(const ReadMostlyMutex&) = delete;

  // Cores beyond 32 share stripes in pairs (or more), which costs them a
  // bounce only when both read at the same instant. (TSan also tracks at
  // most 64 locks held by one thread: a writer must leave room.)
  static constexpr size_t kStripes = 32;

  class ReadLock {
   public:
    explicit ReadLock(const ReadMostlyMutex& m) : m_(m), stripe_(CurrentStripe(kStripes)) {
      pthread_rwlock_rdlock(&m_.stripes_[stripe_].lock);
    }
    ~ReadLock() { pthread_rwlock_unlock(&m_.stripes_[stripe_].lock); }
    ReadLock(const ReadLock&) = delete;
    ReadLock& operator=(const ReadLock&) = delete;
    // The stripe this reader locked: a StripedCounter slot no other CPU writes.
    size_t stripe() const { return stripe_; }

   private:
    const ReadMostlyMutex& m_;
    const size_t stripe_;
  };

  class WriteLock {
   public:
    explicit WriteLock(ReadMostlyMutex& m) : m_(m) {
      for (auto& s : m_.stripes_) pthread_rwlock_wrlock(&s.lock);  // always in this order: writers cannot deadlock
    }
    ~WriteLock() {
      for (size_t i = kStripes; i-- > 0;) pthread_rwlock_unlock(&m_.stripes_[i].lock);
    }
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;

   private:
    ReadMostlyMutex& m_;
  };

 private:
  struct alignas(64) Stripe {
    Stripe() {
      pthread_rwlockattr_t attr;
      pthread_rwlockattr_init(&attr);
      pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
      pthread_rwlock_init(&lock, &attr);
      pthread_rwlockattr_destroy(&attr);
    }
    ~Stripe() { pthread_rwlock_destroy(&lock); }
    Stripe(const Stripe&) = delete;
    Stripe& operator=(const Stripe&) = delete;
    mutable pthread_rwlock_t lock;
  };
  Stripe stripes_[kStripes];
};

// Add is a load and a store, not a locked read-modify-write (5 ns less per
// lookup): two threads adding to one stripe at the same instant (one was
// moved to the other's CPU between its lock and its count) may lose one of
// the two counts. These are statistics; nothing decides on them.
class StripedCounter {
 public:
  void Add(size_t stripe, uint64_t n = 1) {
    auto& slot = slots_[stripe % ReadMostlyMutex::kStripes].n;
    slot.store(slot.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Add() { Add(CurrentStripe(ReadMostlyMutex::kStripes)); }
  uint64_t Sum() const {
    uint64_t total = 0;
    for (const auto& s : slots_) total += s.n.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> n{0};
  };
  Slot slots_[ReadMostlyMutex::kStripes];
};

}  // namespace keyring_locker
