#include "keyring_backend/cache/key_cache.h"

#include <algorithm>
#include <charconv>

namespace keyring_locker {

KeyCache::KeyCache(size_t max_entries) : max_per_shard_(std::max<size_t>(1, (max_entries + kShards - 1) / kShards)) {}

KeyCache::SlotKey KeyCache::Slot(const std::string& name, uint32_t version) {
  // '\n' cannot appear in a key name (KeyService validates), so slots are unique.
  char digits[10];
  const auto end = std::to_chars(digits, digits + sizeof(digits), version).ptr;
  SlotKey key;
  key.text.reserve(name.size() + 1 + static_cast<size_t>(end - digits));
  key.text.append(name).append(1, '\n').append(digits, end);
  key.hash = std::hash<std::string>{}(key.text);
  return key;
}

KeyHandle KeyCache::Find(const std::string& name, uint32_t version) const { return Lookup(name, version, true); }

KeyHandle KeyCache::FindHit(const std::string& name, uint32_t version) const { return Lookup(name, version, false); }

KeyHandle KeyCache::Lookup(const std::string& name, uint32_t version, bool count_miss) const {
  const SlotKey slot = Slot(name, version);
  Shard& shard = ShardFor(slot);
  std::shared_lock<std::shared_mutex> lock(shard.mu);
  auto it = shard.entries.find(slot);
  if (it == shard.entries.end()) {
    if (count_miss) shard.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.hits.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

void KeyCache::Insert(const std::string& name, uint32_t version, KeyHandle key) {
  const SlotKey slot = Slot(name, version);
  Shard& shard = ShardFor(slot);
  std::unique_lock<std::shared_mutex> lock(shard.mu);
  auto [it, inserted] = shard.entries.emplace(slot, std::move(key));
  if (!inserted) return;  // first writer wins: the bytes of a version never change
  shard.insertion_order.push_back(slot);
  // Bounded memory: drop the oldest entries of this shard. A dropped key is
  // only a future miss (the locker still has it), never a lost key.
  while (shard.entries.size() > max_per_shard_ && !shard.insertion_order.empty()) {
    const SlotKey victim = std::move(shard.insertion_order.front());
    shard.insertion_order.pop_front();
    if (!(victim == slot) && shard.entries.erase(victim) > 0) evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

void KeyCache::Erase(const std::string& name) {
  const std::string prefix = name + '\n';
  for (auto& shard : shards_) {
    std::unique_lock<std::shared_mutex> lock(shard.mu);
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      it = it->first.text.compare(0, prefix.size(), prefix) == 0 ? shard.entries.erase(it) : std::next(it);
    }
    auto& order = shard.insertion_order;
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](const SlotKey& s) { return s.text.compare(0, prefix.size(), prefix) == 0; }),
                order.end());
  }
}

StatusOr<KeyHandle> KeyCache::GetOrLoad(const std::string& name, uint32_t version,
                                        const std::function<StatusOr<KeyHandle>()>& loader) {
  if (KeyHandle hit = Find(name, version)) return hit;
  const std::string slot = Slot(name, version).text;
  std::promise<StatusOr<KeyHandle>> promise;
  std::shared_future<StatusOr<KeyHandle>> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(flights_mu_);
    auto it = flights_.find(slot);
    if (it != flights_.end()) {
      flight = it->second;
    } else {
      // Re-check under the flight lock: a load may have finished meanwhile.
      if (KeyHandle hit = Find(name, version)) return hit;
      flight = promise.get_future().share();
      flights_.emplace(slot, flight);
      leader = true;
    }
  }
  if (!leader) {
    collapsed_.fetch_add(1, std::memory_order_relaxed);
    return flight.get();
  }
  loads_.fetch_add(1, std::memory_order_relaxed);
  StatusOr<KeyHandle> result = Internal("key loader threw");
  try {
    result = loader();
  } catch (...) {
    result = Internal("unexpected exception while loading key " + name + " version " + std::to_string(version));
  }
  if (result.ok()) Insert(name, version, *result);
  promise.set_value(result);
  std::lock_guard<std::mutex> lock(flights_mu_);
  flights_.erase(slot);
  return result;
}

uint32_t KeyCache::Latest(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(latest_mu_);
  auto it = latest_.find(name);
  return it == latest_.end() ? 0 : it->second;
}

void KeyCache::RaiseLatest(const std::string& name, uint32_t version) {
  std::unique_lock<std::shared_mutex> lock(latest_mu_);
  uint32_t& v = latest_[name];
  v = std::max(v, version);
}

void KeyCache::ForgetLatest(const std::string& name) {
  std::unique_lock<std::shared_mutex> lock(latest_mu_);
  latest_.erase(name);
}

std::vector<std::pair<std::string, uint32_t>> KeyCache::AllLatest() const {
  std::shared_lock<std::shared_mutex> lock(latest_mu_);
  std::vector<std::pair<std::string, uint32_t>> out(latest_.begin(), latest_.end());
  std::sort(out.begin(), out.end());
  return out;
}

KeyCacheStats KeyCache::stats() const {
  KeyCacheStats s;
  s.loads = loads_.load();
  s.collapsed_waits = collapsed_.load();
  s.evictions = evictions_.load();
  for (auto& shard : shards_) {
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    s.entries += shard.entries.size();
    s.hits += shard.hits.load(std::memory_order_relaxed);
    s.misses += shard.misses.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace keyring_locker
