// Helpers for the concurrency stress test: run-length knobs from the
// environment (short in CI, long from scripts/stress.sh), a progress
// watchdog, a fixed-size latency histogram and RSS readings.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keyring_locker::stress {

// A positive integer from the environment, else `fallback`. A malformed value
// aborts: a long run silently falling back to 10 s would report nonsense.
inline long EnvLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n <= 0) {
    std::fprintf(stderr, "stress: %s=%s is not a positive integer; unset it or give a number\n", name, v);
    std::abort();
  }
  return n;
}

// Resident set size of this process in KiB (/proc/self/statm, page units).
inline long RssKib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

// Fails the program when `progress()` stops moving for `stall` (a deadlock,
// or a livelock that makes no reads), or when the whole run exceeds `limit`.
// Samples every 100 ms and calls `on_sample` each time (RSS, refresh counts).
class ProgressWatchdog {
 public:
  ProgressWatchdog(std::chrono::seconds stall, std::chrono::seconds limit, std::function<uint64_t()> progress,
                   std::function<void()> on_sample)
      : thread_([this, stall, limit, progress = std::move(progress), on_sample = std::move(on_sample)] {
          const auto start = std::chrono::steady_clock::now();
          auto last_move = start;
          uint64_t last = progress();
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; })) {
            const auto now = std::chrono::steady_clock::now();
            const uint64_t p = progress();
            if (p != last) {
              last = p;
              last_move = now;
            }
            if (!paused_ && now - last_move > stall) {
              std::fprintf(stderr, "stress: no progress for %lld s (deadlock?)\n",
                           static_cast<long long>(stall.count()));
              std::abort();
            }
            if (now - start > limit) {
              std::fprintf(stderr, "stress: not finished after %lld s (deadlock?)\n",
                           static_cast<long long>(limit.count()));
              std::abort();
            }
            if (on_sample) on_sample();
          }
        }) {}
  ~ProgressWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Stops the stall check (not the overall limit) once the workers are told
  // to stop: progress then ends by design.
  void Pause() {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool paused_ = false;
  std::thread thread_;
};

// Log-scale histogram of nanosecond latencies: 16 buckets per power of two
// (about 4% resolution), fixed memory however long the run.
class LatencyHistogram {
 public:
  static constexpr int kPerOctave = 16;
  static constexpr int kBuckets = 40 * kPerOctave;  // up to 2^40 ns, about 18 minutes

  void Add(uint64_t ns) {
    ++counts_[Bucket(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  void Merge(const LatencyHistogram& o) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    if (o.max_ > max_) max_ = o.max_;
  }
  uint64_t count() const { return total_; }
  uint64_t max_ns() const { return max_; }
  // Upper edge of the bucket holding the q-quantile (0 when empty).
  uint64_t Quantile(double q) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i] > 0) return UpperEdge(i);
    }
    return max_;
  }

 private:
  static int Bucket(uint64_t ns) {
    if (ns < 2) return 0;
    const int b = static_cast<int>(std::log2(static_cast<double>(ns)) * kPerOctave);
    return b < kBuckets ? b : kBuckets - 1;
  }
  static uint64_t UpperEdge(int bucket) {
    return static_cast<uint64_t>(std::exp2(static_cast<double>(bucket + 1) / kPerOctave));
  }
  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets, 0);
  uint64_t total_ = 0, max_ = 0;
};

}  // namespace keyring_locker::stress
