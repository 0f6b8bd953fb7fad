// KeyService sweeps: calls that walk every key of the scope (listing,
// refreshing versions, rotating all) and the background refresh. A sweep
// on a server thread runs under one call budget (Sweep::kOneBudget), so
// SET GLOBAL on a slow locker returns within timeouts.total_ms however many
// keys the scope has; tools and background threads bound each request.
#include <algorithm>
#include <random>

#include "common/printable.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/http/parallel_requests.h"

namespace keyring_locker {

StatusOr<std::vector<std::string>> KeyService::ListNames() {
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto names = store_->ListNames();
  if (!names.ok()) NoteError(names.status());
  else NoteSuccess();
  return names;
}

RotateAllResult KeyService::RotateAll(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  RotateAllResult out;
  auto names = ListNames();
  if (!names.ok()) {
    out.status = names.status().Annotate("listing the keys of the scope");
    return out;
  }
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    auto v = RotateExisting(name);
    if (!v.ok()) {
      out.status = v.status().Annotate("rotating key " + name);
      out.not_rotated.assign(names->begin() + static_cast<std::ptrdiff_t>(i), names->end());
      return out;
    }
    out.rotated.emplace_back(name, *v);
  }
  return out;
}

Status KeyService::RefreshVersions(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  // One request for the whole scope where the store can (KMIP), else one
  // listing of names plus one per name (Vault KV, a directory). Versions
  // read before a failure are kept.
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  Status result = store_->ListScope([this](const std::string& name, const std::vector<VersionEntry>& entries) {
    (void)NoteVersions(name, entries);
  });
  if (!result.ok()) {
    NoteError(result);
    stale_serves_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }
  NoteSuccess();
  std::lock_guard<std::mutex> lock(state_mu_);
  last_refresh_ = std::chrono::system_clock::now();
  return Status::Ok();
}

Status KeyService::RefreshChanges() {
  if (store_->ListsScopeInOneRequest()) return RefreshVersions(Sweep::kPerRequest);
  auto names = ListNames();
  if (!names.ok()) {
    stale_serves_.fetch_add(1, std::memory_order_relaxed);
    return names.status();
  }
  std::sort(names->begin(), names->end());
  std::vector<std::string> to_read;
  std::vector<std::string> seen;
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    for (const auto& n : *names) (known_.count(n) == 0 ? to_read : seen).push_back(n);
  }
  const size_t slice = std::min(kRefreshSlice, seen.size());
  for (size_t k = 0; k < slice; ++k) to_read.push_back(seen[(refresh_cursor_ + k) % seen.size()]);
  refresh_cursor_ = seen.empty() ? 0 : (refresh_cursor_ + slice) % seen.size();

  std::mutex mu;
  Status first_error;
  locker_requests_.fetch_add(to_read.size(), std::memory_order_relaxed);
  ForEachInParallel(to_read.size(), kDefaultRequestsInFlight, [&](size_t i) {
    auto versions = store_->ListVersions(to_read[i]);
    if (versions.ok()) {
      (void)NoteVersions(to_read[i], *versions);
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = versions.status().Annotate("re-reading the versions of key " + to_read[i]);
  });
  if (!first_error.ok()) {
    NoteError(first_error);
    stale_serves_.fetch_add(1, std::memory_order_relaxed);
    return first_error;
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  last_refresh_ = std::chrono::system_clock::now();
  return Status::Ok();
}

StatusOr<std::vector<KeyVersionInfo>> KeyService::ListKeyVersions(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
  for (const auto& name : names) {
    locker_requests_.fetch_add(1, std::memory_order_relaxed);
    auto versions = store_->ListVersions(name);
    if (!versions.ok()) {
      NoteError(versions.status());
      return versions.status().Annotate("listing the versions of key " + name);
    }
    (void)NoteVersions(name, *versions);
  }
  return KnownKeyVersions(true, how);
}

StatusOr<std::vector<KeyVersionInfo>> KeyService::KnownKeyVersions(bool read_missing, Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  std::vector<KeyVersionInfo> out;
  {
    std::lock_guard<std::mutex> lock(known_mu_);
    for (const auto& [name, versions] : known_) {
      for (const auto& [version, info] : versions) out.push_back(info);
    }
  }
  // known_ is ordered by name, then version: so is `out`.
  std::vector<KeyVersionInfo> kept;
  kept.reserve(out.size());
  for (auto& info : out) {
    if (info.read || !read_missing) {
      kept.push_back(std::move(info));
      continue;
    }
    locker_requests_.fetch_add(1, std::memory_order_relaxed);
    auto record = store_->Read(info.name, info.version);
    if (!record.ok()) {
      // A record that vanished since the listing, or is damaged, is left
      // out; a locker that stopped answering (or a budget that ran out)
      // fails the call, or a partial listing would pass for a whole one.
      const Code c = record.status().code();
      if (c == Code::kNotFound || c == Code::kDataLoss) continue;
      NoteError(record.status());
      return record.status().Annotate("reading the metadata of key " + info.name + " version " +
                                      std::to_string(info.version));
    }
    NoteRecord(info.name, info.version, Envelope::MetaOf(*record));
    std::lock_guard<std::mutex> lock(known_mu_);
    kept.push_back(known_[info.name][info.version]);
  }
  return kept;
}

StatusOr<size_t> KeyService::WarmLatest(size_t in_flight) {
  std::vector<KeyToOpen> wanted;
  for (const auto& [name, latest] : cache_.AllLatest()) {
    if (latest != 0 && cache_.Find(name, latest) == nullptr) wanted.push_back(KeyToOpen{name, latest});
  }
  if (wanted.empty()) return size_t{0};
  const auto started = std::chrono::steady_clock::now();
  locker_requests_.fetch_add(wanted.size(), std::memory_order_relaxed);
  std::vector<StatusOr<OpenedKey>> opened = envelope_.OpenMany(wanted, in_flight);
  size_t cached = 0;
  Status first_error;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const KeyToOpen& k = wanted[i];
    if (!opened[i].ok()) {
      // Not fatal: the first use asks again, on its own, and says why.
      if (first_error.ok()) first_error = opened[i].status();
      continue;
    }
    NoteRecord(k.name, k.version, opened[i]->meta);
    auto material = std::make_shared<KeyMaterial>();
    material->bytes = std::move(opened[i]->bytes);
    material->type = opened[i]->type;
    Audit("fetch", k.name, k.version, Status::Ok(), started, opened[i]->bound ? "warm" : "warm unbound");
    cache_.Insert(k.name, k.version, std::move(material));
    ++cached;
  }
  if (cached == 0 && !first_error.ok()) return first_error;
  return cached;
}

void KeyService::StartBackgroundRefresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  if (refresh_thread_.joinable()) return;
  stop_refresh_ = false;
  refresh_thread_ = std::thread([this] { RefreshLoop(); });
}

void KeyService::StopBackgroundRefresh() {
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    stop_refresh_ = true;
  }
  refresh_cv_.notify_all();
  if (refresh_thread_.joinable()) refresh_thread_.join();
}

void KeyService::RefreshSoon() {
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    refresh_soon_ = true;
  }
  refresh_cv_.notify_all();
}

// Servers restarted together (a fleet after a deploy, a host reboot) would
// otherwise refresh in the same instant every interval for as long as they
// run: a locker load spike of N requests at once instead of N spread over
// the interval (docs/benchmarks.md, "Fleet"). Not a secret: a plain engine.
std::chrono::milliseconds KeyService::FirstRefreshDelay(std::chrono::seconds interval) {
  const long long full = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
  if (full <= 1) return std::chrono::milliseconds(full);
  std::mt19937_64 engine{std::random_device{}()};
  std::uniform_int_distribution<long long> dist(full / 2, full);
  return std::chrono::milliseconds(dist(engine));
}

void KeyService::RefreshLoop() {
  std::unique_lock<std::mutex> lock(refresh_mu_);
  std::chrono::milliseconds wait = FirstRefreshDelay(cache_options_.version_refresh);
  while (!stop_refresh_) {
    // Wall-clock interval (steady clock), not CPU time.
    (void)refresh_cv_.wait_for(lock, wait, [this] { return stop_refresh_ || refresh_soon_; });
    wait = cache_options_.version_refresh;
    if (stop_refresh_) break;
    const bool whole_scope = refresh_soon_;
    refresh_soon_ = false;
    lock.unlock();
    // No server thread waits on this one: per request, so every key of a
    // large scope is reached even when the locker is slow. RefreshSoon (a
    // start whose read of the scope was cut) reads the whole scope; a
    // plain tick only what changed, at a constant cost.
    if (whole_scope) {
      (void)RefreshVersions(Sweep::kPerRequest);  // failures are counted and logged via last_error
    } else {
      (void)RefreshChanges();
    }
    refresh_ticks_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
  }
}

}  // namespace keyring_locker
