#include "keyring_backend/cache/key_cache.h"

#include <algorithm>
#include <charconv>

namespace keyring_locker {

KeyCache::KeyCache(size_t max_entries) : max_entries_(std::max<size_t>(1, max_entries)) {}

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
  ReadMostlyMutex::ReadLock lock(mu_);
  auto it = entries_.find(slot);
  if (it == entries_.end()) {
    if (count_miss) misses_.Add(lock.stripe());
    return nullptr;
  }
  hits_.Add(lock.stripe());
  return it->second;
}

void KeyCache::Insert(const std::string& name, uint32_t version, KeyHandle key) {
  const SlotKey slot = Slot(name, version);
  // Key memory is freed after the lock (`key` when it was not inserted,
  // `dropped`): the readers need not wait for it.
  KeyHandle dropped;
  ReadMostlyMutex::WriteLock lock(mu_);
  if (entries_.count(slot) != 0) return;  // first writer wins: the bytes of a version never change
  entries_.emplace(slot, std::move(key));
  insertion_order_.push_back(slot);
  // Bounded memory: drop the oldest entries. A dropped key is only a future
  // miss (the locker still has it), never a lost key.
  while (entries_.size() > max_entries_ && !insertion_order_.empty()) {
    const SlotKey victim = std::move(insertion_order_.front());
    insertion_order_.pop_front();
    if (victim == slot) continue;
    auto v = entries_.find(victim);
    if (v == entries_.end()) continue;
    dropped = std::move(v->second);
    entries_.erase(v);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

void KeyCache::Erase(const std::string& name) {
  const std::string prefix = name + '\n';
  ReadMostlyMutex::WriteLock lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->first.text.compare(0, prefix.size(), prefix) == 0 ? entries_.erase(it) : std::next(it);
  }
  insertion_order_.erase(std::remove_if(insertion_order_.begin(), insertion_order_.end(),
                                        [&](const SlotKey& s) { return s.text.compare(0, prefix.size(), prefix) == 0; }),
                         insertion_order_.end());
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
  ReadMostlyMutex::ReadLock lock(latest_mu_);
  auto it = latest_.find(name);
  return it == latest_.end() ? 0 : it->second;
}

void KeyCache::RaiseLatest(const std::string& name, uint32_t version) {
  // Every refresh tick raises every version it read, nearly always to what
  // it was: only a real change takes the write lock and moves the epoch.
  if (Latest(name) >= version) return;
  ReadMostlyMutex::WriteLock lock(latest_mu_);
  uint32_t& v = latest_[name];
  if (version <= v) return;
  v = version;
  // After the change, so a reader that saw the old epoch re-reads (see LatestEpoch).
  latest_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void KeyCache::ForgetLatest(const std::string& name) {
  ReadMostlyMutex::WriteLock lock(latest_mu_);
  if (latest_.erase(name) > 0) latest_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<std::pair<std::string, uint32_t>> KeyCache::AllLatest() const {
  ReadMostlyMutex::ReadLock lock(latest_mu_);
  std::vector<std::pair<std::string, uint32_t>> out(latest_.begin(), latest_.end());
  std::sort(out.begin(), out.end());
  return out;
}

KeyCacheStats KeyCache::stats() const {
  KeyCacheStats s;
  s.loads = loads_.load();
  s.collapsed_waits = collapsed_.load();
  s.evictions = evictions_.load();
  {
    ReadMostlyMutex::ReadLock lock(mu_);
    s.entries = entries_.size();
  }
  s.hits = hits_.Sum();
  s.misses = misses_.Sum();
  return s;
}

}  // namespace keyring_locker
