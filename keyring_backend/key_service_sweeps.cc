// KeyService sweeps: calls that walk every key of the scope (listing,
// refreshing versions, rotating all) and the background refresh. A sweep
// on a server thread runs under one call budget (Sweep::kOneBudget), so
// SET GLOBAL on a slow locker returns within timeouts.total_ms however many
// keys the scope has; tools and background threads bound each request.
#include <algorithm>

#include "common/printable.h"
#include "keyring_backend/key_service.h"

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
    uint32_t latest = 0;
    for (const auto& e : entries) {
      if (e.has_record) latest = std::max(latest, e.version);
    }
    if (latest > 0) cache_.RaiseLatest(name, latest);
    Generation g = ScanGeneration(entries);
    if (g.version > 0) NoteGeneration(name, g);
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

StatusOr<std::vector<KeyVersionInfo>> KeyService::ListKeyVersions(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
  std::vector<KeyVersionInfo> out;
  for (const auto& name : names) {
    locker_requests_.fetch_add(1, std::memory_order_relaxed);
    ASSIGN_OR_RETURN(std::vector<VersionEntry> versions, store_->ListVersions(name));
    for (const auto& e : versions) {
      if (!e.has_record) continue;
      const uint32_t v = e.version;
      auto record = store_->Read(name, v);
      if (!record.ok()) {
        // A record that vanished since the listing, or is damaged, is left
        // out; a locker that stopped answering (or a budget that ran out)
        // fails the call, or a partial listing would pass for a whole one.
        const Code c = record.status().code();
        if (c == Code::kNotFound || c == Code::kDataLoss) continue;
        NoteError(record.status());
        return record.status().Annotate("reading the metadata of key " + name + " version " + std::to_string(v));
      }
      KeyVersionInfo info;
      info.name = name;
      info.version = v;
      // Shown in SHOW STATUS, logs and a DBA's terminal: bounded, printable.
      info.type = Printable(record->type, 16);
      info.length = static_cast<size_t>(record->length);
      info.created = Printable(record->created, 40);
      info.creator = Printable(record->creator, 100);
      info.origin = Printable(record->origin, 16);
      info.bound = record->format == Envelope::kBoundFormat || record->format == Envelope::kStoreProtectedFormat;
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const KeyVersionInfo& a, const KeyVersionInfo& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return out;
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

void KeyService::RefreshLoop() {
  std::unique_lock<std::mutex> lock(refresh_mu_);
  while (!stop_refresh_) {
    // Wall-clock interval (steady clock), not CPU time.
    (void)refresh_cv_.wait_for(lock, cache_options_.version_refresh, [this] { return stop_refresh_ || refresh_soon_; });
    if (stop_refresh_) break;
    refresh_soon_ = false;
    lock.unlock();
    // No server thread waits on this one: per request, so every key of a
    // large scope is reached even when the locker is slow.
    (void)RefreshVersions(Sweep::kPerRequest);  // failures are counted and logged via last_error
    lock.lock();
  }
}

}  // namespace keyring_locker
