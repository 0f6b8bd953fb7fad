// KeyService generations: the store/remove/store-again model MySQL needs,
// with soft deletion (see key_service.h). Nothing here overwrites or removes
// a key document except PurgeDeleted, which an operator runs on purpose.
#include <algorithm>
#include <set>

#include "common/crash_point.h"
#include "common/printable.h"
#include "common/rfc3339.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker {

KeyService::Generation KeyService::ScanGeneration(const std::vector<VersionEntry>& entries) {
  Generation g;
  const VersionEntry* latest = nullptr;
  for (const auto& e : entries) {
    if (latest == nullptr || e.version > latest->version) latest = &e;
  }
  if (latest == nullptr) return g;
  g.version = latest->version;
  // A marker without its record is a purged generation: still deleted, and
  // its number stays taken.
  g.deleted = latest->deleted || !latest->has_record;
  return g;
}

void KeyService::NoteGeneration(const std::string& name, Generation g) {
  {
    // Most listings repeat what is known: no write lock for those.
    ReadMostlyMutex::ReadLock lock(generations_mu_);
    auto it = generations_.find(name);
    if (it != generations_.end() && it->second.gen.version == g.version && it->second.gen.deleted == g.deleted) return;
  }
  ReadMostlyMutex::WriteLock lock(generations_mu_);
  GenerationMemo& cur = generations_[name];
  if (g.version > cur.gen.version || (g.version == cur.gen.version && g.deleted)) {
    if (g.version != cur.gen.version || g.deleted != cur.gen.deleted) cur.live.reset();
    cur.gen = g;
  }
}

void KeyService::RememberLive(const std::string& name, uint32_t version, const KeyHandle& key) {
  ReadMostlyMutex::WriteLock lock(generations_mu_);
  auto it = generations_.find(name);
  if (it != generations_.end() && it->second.gen.version == version && !it->second.gen.deleted) {
    it->second.live = key;
  }
}

StatusOr<KeyService::Generation> KeyService::CurrentGeneration(const std::string& name, bool from_locker) {
  if (!from_locker) {
    ReadMostlyMutex::ReadLock lock(generations_mu_);
    auto it = generations_.find(name);
    if (it != generations_.end()) return it->second.gen;
  }
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto entries = store_->ListVersions(name);
  if (!entries.ok()) {
    NoteError(entries.status());
    return entries.status().Annotate("reading the generations of key " + name);
  }
  // An absent name is not remembered: another server may create it.
  NoteVersions(name, *entries);
  return ScanGeneration(*entries);
}

StatusOr<KeyHandle> KeyService::GetLive(const std::string& name) {
  OperationDeadline budget(call_budget_);
  ASSIGN_OR_RETURN(Generation g, CurrentGeneration(name, false));
  if (g.version == 0 || g.deleted) return NotFound("key " + name + " does not exist (or was removed)");
  StatusOr<KeyHandle> key = Get(name, g.version);
  if (key.ok()) RememberLive(name, g.version, *key);
  return key;
}

Status KeyService::CreateGeneration(const std::string& name, const std::string& type, size_t length,
                                    const crypto::SecureBuffer* bytes) {
  OperationDeadline budget(call_budget_);
  RETURN_IF_ERROR(scope_.rules.Check(type, length, "key " + name));  // before any request
  // Always ask the locker: a store must never be decided on a stale memo.
  ASSIGN_OR_RETURN(Generation g, CurrentGeneration(name, true));
  if (g.version > 0 && !g.deleted) {
    return AlreadyExists("key " + name + " already exists; keys are never overwritten (remove it first)");
  }
  if (g.version >= 0xFFFFFFFEu) return FailedPrecondition("key " + name + " has no generation numbers left");
  Status s = Create(name, g.version + 1, type, length, bytes);
  if (s.ok()) NoteGeneration(name, Generation{g.version + 1, false});
  return s;
}

Status KeyService::SoftRemove(const std::string& name) {
  OperationDeadline budget(call_budget_);
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Generation g, CurrentGeneration(name, true));
  if (g.version == 0 || g.deleted) return NotFound("key " + name + " does not exist (or was already removed)");
  const std::time_t now = std::time(nullptr);
  const DeletionMarker marker{name, g.version, Rfc3339(now), static_cast<int64_t>(now), actor_};
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  Status s = store_->MarkDeleted(marker);
  // A marker already there (our retried request, or another server) means
  // the generation is deleted either way.
  if (s.code() == Code::kAlreadyExists) s = Status::Ok();
  if (s.ok()) CrashPoint("remove.after_marker");
  Audit("soft-remove", name, g.version, s, started);
  if (!s.ok()) {
    NoteError(s);
    return s.Annotate("marking key " + name + " deleted");
  }
  NoteGeneration(name, Generation{g.version, true});
  cache_.Erase(name);  // the bytes should not outlive the key in memory
  return Status::Ok();
}

StatusOr<std::vector<std::string>> KeyService::ListLive(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
  std::vector<std::string> live;
  for (const auto& n : names) {
    ASSIGN_OR_RETURN(Generation g, CurrentGeneration(n, true));
    if (g.version > 0 && !g.deleted) live.push_back(n);
  }
  return live;
}

StatusOr<std::vector<DeletedKeyInfo>> KeyService::ListDeleted(Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
  std::vector<DeletedKeyInfo> out;
  for (const auto& name : names) {
    locker_requests_.fetch_add(1, std::memory_order_relaxed);
    ASSIGN_OR_RETURN(std::vector<VersionEntry> entries, store_->ListVersions(name));
    for (const auto& e : entries) {
      if (!e.deleted) continue;
      ASSIGN_OR_RETURN(DeletionMarker m, store_->ReadMarker(name, e.version));
      DeletedKeyInfo info;
      info.name = name;
      info.version = e.version;
      info.deleted_at = Printable(m.deleted_at, 40);
      info.deleted_unix = m.deleted_unix;
      info.deleted_by = Printable(m.deleted_by, 100);
      info.purged = !e.has_record;
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const DeletedKeyInfo& a, const DeletedKeyInfo& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return out;
}

Status KeyService::Restore(const std::string& name, uint32_t version) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Generation g, CurrentGeneration(name, true));
  if (g.version != version) {
    return FailedPrecondition("key " + name + " version " + std::to_string(version) +
                              " is not its latest generation (" + std::to_string(g.version) +
                              "); only the latest can be restored - remove the newer one first");
  }
  if (!g.deleted) return FailedPrecondition("key " + name + " version " + std::to_string(version) + " is not deleted");
  auto record = store_->Read(name, version);
  if (!record.ok()) {
    if (record.status().code() == Code::kNotFound) {
      return NotFound("key " + name + " version " + std::to_string(version) + " was purged; it cannot be restored");
    }
    return record.status();
  }
  Status s = store_->Undelete(name, version);
  Audit("restore", name, version, s, started);
  if (!s.ok()) return s.Annotate("removing the deleted marker of key " + name);
  ReadMostlyMutex::WriteLock lock(generations_mu_);
  generations_[name] = GenerationMemo{Generation{version, false}, nullptr};  // the one backwards move
  return Status::Ok();
}

StatusOr<size_t> KeyService::PurgeDeleted(std::chrono::seconds retention, Sweep how) {
  OperationDeadline budget(SweepBudget(how));
  ASSIGN_OR_RETURN(std::vector<DeletedKeyInfo> deleted, ListDeleted(how));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  size_t purged = 0;
  for (const auto& d : deleted) {
    if (d.purged || d.deleted_unix + retention.count() > now) continue;
    const auto started = std::chrono::steady_clock::now();
    Status s = store_->Purge(d.name, d.version);
    Audit("purge", d.name, d.version, s, started);
    if (!s.ok()) {
      return s.Annotate("purging key " + d.name + " version " + std::to_string(d.version) + " after " +
                        std::to_string(purged) + " purged (those stay purged; run it again for the rest)");
    }
    cache_.Erase(d.name);
    {
      std::lock_guard<std::mutex> lock(known_mu_);
      auto it = known_.find(d.name);
      if (it != known_.end()) it->second.erase(d.version);
    }
    ++purged;
  }
  return purged;
}

}  // namespace keyring_locker
