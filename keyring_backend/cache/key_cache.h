// KeyCache: key material the server has been served, in SecureBuffers.
// Reads are the server's hot path (every page write asks for the latest key
// version), so a lookup takes only its CPU's stripe of a ReadMostlyMutex
// (read_mostly_mutex.h) and never touches the network: readers on different
// cores write no shared cache line. Entries never expire: a key version's
// bytes never change, and serving a known key while the locker is down is
// the point. Concurrent misses for the same key collapse into one load
// (single flight).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/cache/read_mostly_mutex.h"

namespace keyring_locker {

struct KeyMaterial {
  crypto::SecureBuffer bytes;
  std::string type;  // "AES", "RSA", ... as the server named it
};
using KeyHandle = std::shared_ptr<const KeyMaterial>;

struct KeyCacheStats {
  uint64_t hits = 0, misses = 0, loads = 0, collapsed_waits = 0, evictions = 0;
  size_t entries = 0;
};

class KeyCache {
 public:
  explicit KeyCache(size_t max_entries);

  // nullptr on a miss. Never blocks on I/O.
  KeyHandle Find(const std::string& name, uint32_t version) const;
  // Find that counts only a hit: for a caller that goes on to GetOrLoad on
  // a miss (which counts it), so a fast path does not count misses twice.
  KeyHandle FindHit(const std::string& name, uint32_t version) const;
  // Calls fn(const KeyMaterial&) on a cached key under a read lock, without
  // copying the handle (no reference-count traffic on the
  // server's hottest path); false on a miss, which is not counted (the
  // caller goes on to GetOrLoad). fn must be short and must not call back
  // into the cache.
  template <typename Fn>
  bool WithCached(const std::string& name, uint32_t version, Fn&& fn) const {
    const SlotKey slot = Slot(name, version);
    ReadMostlyMutex::ReadLock lock(mu_);
    auto it = entries_.find(slot);
    if (it == entries_.end()) return false;
    hits_.Add(lock.stripe());
    fn(*it->second);
    return true;
  }
  void Insert(const std::string& name, uint32_t version, KeyHandle key);
  void Erase(const std::string& name);  // every version of `name`

  // Find, or run `loader` once for all concurrent callers asking for the same
  // key; the result is inserted when it is OK.
  StatusOr<KeyHandle> GetOrLoad(const std::string& name, uint32_t version,
                                const std::function<StatusOr<KeyHandle>()>& loader);

  // Latest known version per key name; 0 = unknown. Only ever increases
  // (a refresh that sees an older list never takes a version back).
  uint32_t Latest(const std::string& name) const;
  // Changes whenever some name's latest version does (raised or forgotten).
  // A caller that read it before Latest(name) may keep that answer, lock-
  // free, for as long as the epoch is unchanged (KeyGate does).
  uint64_t LatestEpoch() const { return latest_epoch_.load(std::memory_order_acquire); }
  void RaiseLatest(const std::string& name, uint32_t version);
  void ForgetLatest(const std::string& name);
  std::vector<std::pair<std::string, uint32_t>> AllLatest() const;

  KeyCacheStats stats() const;

 private:
  // "<name>\n<version>" and its hash, computed once per lookup (a lookup
  // used to hash the same string twice, a fifth of a cached fetch's time).
  struct SlotKey {
    std::string text;
    size_t hash;
    bool operator==(const SlotKey& o) const { return hash == o.hash && text == o.text; }
  };
  struct SlotKeyHash {
    size_t operator()(const SlotKey& k) const { return k.hash; }
  };
  static SlotKey Slot(const std::string& name, uint32_t version);
  KeyHandle Lookup(const std::string& name, uint32_t version, bool count_miss) const;

  const size_t max_entries_;
  // entries_ and insertion_order_; latest_ has its own, so a refresh that
  // raises versions does not stop get_key readers.
  mutable ReadMostlyMutex mu_;
  std::unordered_map<SlotKey, KeyHandle, SlotKeyHash> entries_;
  std::deque<SlotKey> insertion_order_;  // eviction order when over the bound
  mutable StripedCounter hits_, misses_;

  mutable ReadMostlyMutex latest_mu_;
  std::unordered_map<std::string, uint32_t> latest_;
  std::atomic<uint64_t> latest_epoch_{1};

  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_future<StatusOr<KeyHandle>>> flights_;

  std::atomic<uint64_t> loads_{0}, collapsed_{0}, evictions_{0};
};

}  // namespace keyring_locker
