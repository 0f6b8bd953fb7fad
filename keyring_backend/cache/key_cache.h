// KeyCache: key material the server has been served, in SecureBuffers.
// Reads are the server's hot path (every page write asks for the latest key
// version), so lookups take only a shared lock on one of 16 shards and never
// touch the network. Entries never expire: a key version's bytes never change,
// and serving a known key while the locker is down is the point. Concurrent
// misses for the same key collapse into one load (single flight).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"

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
  // Calls fn(const KeyMaterial&) on a cached key under the shard's shared
  // lock, without copying the handle (no reference-count traffic on the
  // server's hottest path); false on a miss, which is not counted (the
  // caller goes on to GetOrLoad). fn must be short and must not call back
  // into the cache.
  template <typename Fn>
  bool WithCached(const std::string& name, uint32_t version, Fn&& fn) const {
    const SlotKey slot = Slot(name, version);
    Shard& shard = ShardFor(slot);
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    auto it = shard.entries.find(slot);
    if (it == shard.entries.end()) return false;
    shard.hits.fetch_add(1, std::memory_order_relaxed);
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
  void RaiseLatest(const std::string& name, uint32_t version);
  void ForgetLatest(const std::string& name);
  std::vector<std::pair<std::string, uint32_t>> AllLatest() const;

  KeyCacheStats stats() const;

 private:
  // A cache line of its own per shard, and the hit/miss counters in it:
  // threads reading different keys share nothing they write.
  // "<name>\n<version>" and its hash, computed once per lookup: the hash
  // picks the shard and is the shard map's bucket hash too (a lookup used to
  // hash the same string twice, a fifth of a cached fetch's time).
  struct SlotKey {
    std::string text;
    size_t hash;
    bool operator==(const SlotKey& o) const { return hash == o.hash && text == o.text; }
  };
  struct SlotKeyHash {
    size_t operator()(const SlotKey& k) const { return k.hash; }
  };
  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    mutable std::atomic<uint64_t> hits{0}, misses{0};
    std::unordered_map<SlotKey, KeyHandle, SlotKeyHash> entries;
    std::deque<SlotKey> insertion_order;  // eviction order when over the bound
  };
  static SlotKey Slot(const std::string& name, uint32_t version);
  Shard& ShardFor(const SlotKey& slot) const { return shards_[slot.hash % kShards]; }
  KeyHandle Lookup(const std::string& name, uint32_t version, bool count_miss) const;

  static constexpr size_t kShards = 16;
  const size_t max_per_shard_;
  mutable Shard shards_[kShards];

  mutable std::shared_mutex latest_mu_;
  std::unordered_map<std::string, uint32_t> latest_;

  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_future<StatusOr<KeyHandle>>> flights_;

  std::atomic<uint64_t> loads_{0}, collapsed_{0}, evictions_{0};
};

}  // namespace keyring_locker
