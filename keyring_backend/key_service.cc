#include "keyring_backend/key_service.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/printable.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/store/document_layout.h"

namespace keyring_locker {

KeyService::KeyService(KeyLocker locker, KeyScopeOptions scope, CacheOptions cache, std::unique_ptr<AuditLog> audit,
                       std::string actor, std::chrono::milliseconds call_budget)
    : store_(std::move(locker.store)),
      wrapper_(std::move(locker.wrapper)),
      call_budget_(call_budget),
      scope_(std::move(scope)),
      cache_options_(cache),
      audit_(std::move(audit)),
      actor_(std::move(actor)),
      envelope_(store_.get(), wrapper_.get(),
                EnvelopeOptions{scope_.prefix + "/" + scope_.scope, scope_.read_unbound_documents, scope_.rules}),
      cache_(cache.max_keys) {}

KeyService::~KeyService() { StopBackgroundRefresh(); }

std::string KeyService::EncodeName(const std::string& name) { return DocumentLayout::EncodeName(name); }

StatusOr<std::string> KeyService::DecodeName(const std::string& segment) { return DocumentLayout::DecodeName(segment); }

void KeyService::NoteError(const Status& s) {
  locker_errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(state_mu_);
  last_error_ = s.ToString();
  health_.Failure(s);
}

void KeyService::NoteSuccess() {
  std::string recovered = health_.Success();
  if (recovered.empty()) return;
  std::function<void(const std::string&)> observer;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    last_error_.clear();
    observer = recovery_observer_;
  }
  if (observer) observer(recovered);
}

void KeyService::SetRecoveryObserver(std::function<void(const std::string& message)> observer) {
  std::lock_guard<std::mutex> lock(state_mu_);
  recovery_observer_ = std::move(observer);
}

void KeyService::Audit(const char* op, const std::string& name, int64_t version, const Status& result,
                       std::chrono::steady_clock::time_point started, const std::string& detail) {
  if (!audit_) return;
  AuditEvent e;
  e.op = op;
  e.key_id = name;
  e.version = version;
  e.locker = Describe();
  e.result = result.ok() ? "ok" : CodeName(result.code());
  e.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  e.detail = detail;
  audit_->Record(e);
}

StatusOr<KeyHandle> KeyService::Load(const std::string& name, uint32_t version) {
  const auto started = std::chrono::steady_clock::now();
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  std::string failed_step;
  auto opened = envelope_.Open(name, version, &failed_step);
  if (!opened.ok()) {
    if (opened.status().code() != Code::kNotFound) NoteError(opened.status());
    else NoteSuccess();
    Audit("fetch", name, version, opened.status(), started, failed_step);
    return opened.status();
  }
  NoteSuccess();
  NoteRecord(name, version, opened->meta);
  auto material = std::make_shared<KeyMaterial>();
  material->bytes = std::move(opened->bytes);
  material->type = opened->type;
  Audit("fetch", name, version, Status::Ok(), started, opened->bound ? "" : "unbound");
  return KeyHandle(std::move(material));
}

StatusOr<KeyHandle> KeyService::Get(const std::string& name, uint32_t version) {
  // The server's hot path: a hit returns before the loader (a std::function)
  // is even built.
  if (KeyHandle hit = cache_.FindHit(name, version)) return hit;
  return cache_.GetOrLoad(name, version, [&] {
    OperationDeadline budget(call_budget_);  // only a miss reaches the locker
    return Load(name, version);
  });
}

StatusOr<uint32_t> KeyService::LatestVersionFromLocker(const std::string& name) {
  OperationDeadline budget(call_budget_);
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto entries = store_->ListVersions(name);
  if (!entries.ok()) {
    NoteError(entries.status());
    return entries.status();
  }
  NoteSuccess();
  return NoteVersions(name, *entries);
}

uint32_t KeyService::NoteVersions(const std::string& name, const std::vector<VersionEntry>& entries) {
  uint32_t latest = 0;
  for (const auto& e : entries) {
    if (e.has_record) latest = std::max(latest, e.version);
  }
  if (latest > 0) cache_.RaiseLatest(name, latest);
  Generation g = ScanGeneration(entries);
  if (g.version > 0) NoteGeneration(name, g);
  NoteListed(name, entries);
  return latest;
}

void KeyService::NoteListed(const std::string& name, const std::vector<VersionEntry>& entries) {
  std::lock_guard<std::mutex> lock(known_mu_);
  // Only adds: a listing that left before this service wrote a version
  // must not drop it (PurgeDeleted forgets what it purges). A name listed
  // without records is still remembered as listed (RefreshChanges).
  auto& versions = known_[name];
  for (const auto& e : entries) {
    if (!e.has_record) continue;
    if (versions.count(e.version) != 0) continue;
    KeyVersionInfo& info = versions[e.version];
    info.name = name;
    info.version = e.version;
    info.read = false;
  }
}

void KeyService::NoteRecord(const std::string& name, uint32_t version, const RecordMeta& meta) {
  KeyVersionInfo info;
  info.name = name;
  info.version = version;
  // Shown in SHOW STATUS, logs and a DBA's terminal: bounded, printable.
  info.type = Printable(meta.type, 16);
  info.length = static_cast<size_t>(meta.length);
  info.created = Printable(meta.created, 40);
  info.creator = Printable(meta.creator, 100);
  info.origin = Printable(meta.origin, 16);
  info.bound = meta.format == Envelope::kBoundFormat || meta.format == Envelope::kStoreProtectedFormat;
  info.read = true;
  std::lock_guard<std::mutex> lock(known_mu_);
  known_[name][version] = std::move(info);
}

Status KeyService::Create(const std::string& name, uint32_t version, const std::string& type, size_t length,
                          const crypto::SecureBuffer* bytes) {
  OperationDeadline budget(call_budget_);
  const auto started = std::chrono::steady_clock::now();
  if (name.empty() || name.size() > 256 || name.find('\n') != std::string::npos) {
    return InvalidArgument("key name must be 1..256 characters without newlines");
  }
  RETURN_IF_ERROR(scope_.rules.Check(type, length, "key " + name));
  if (bytes != nullptr && bytes->size() != length) return InvalidArgument("key length does not match the bytes given");
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto key = envelope_.Create(name, version, KeyMeta{type, actor_}, length, bytes);
  Audit("create", name, version, key.status(), started, key.ok() ? key->origin : "");
  if (!key.ok()) {
    if (key.status().code() != Code::kAlreadyExists) NoteError(key.status());
    else NoteSuccess();
    return key.status();
  }
  NoteSuccess();
  keys_created_.fetch_add(1, std::memory_order_relaxed);
  NoteRecord(name, version, key->meta);
  auto material = std::make_shared<KeyMaterial>();
  material->bytes = std::move(key->bytes);
  material->type = type;
  cache_.Insert(name, version, std::move(material));
  cache_.RaiseLatest(name, version);
  return Status::Ok();
}

StatusOr<uint32_t> KeyService::EnsureKey(const std::string& name, size_t length, const std::string& type) {
  OperationDeadline budget(call_budget_);
  ASSIGN_OR_RETURN(uint32_t latest, LatestVersionFromLocker(name));
  if (latest > 0) return latest;
  Status s = Create(name, 1, type, length, nullptr);
  if (s.ok()) return 1u;
  if (s.code() != Code::kAlreadyExists) return s;
  return LatestVersionFromLocker(name);  // another server created it first
}

StatusOr<uint32_t> KeyService::Rotate(const std::string& name, size_t length, const std::string& type) {
  return RotateImpl(name, length, type, false);
}

StatusOr<uint32_t> KeyService::RotateExisting(const std::string& name, size_t length, const std::string& type) {
  return RotateImpl(name, length, type, true);
}

StatusOr<uint32_t> KeyService::RotateImpl(const std::string& name, size_t length, const std::string& type,
                                          bool must_exist) {
  OperationDeadline budget(call_budget_);
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(uint32_t latest, LatestVersionFromLocker(name));
  if (must_exist && latest == 0) return NotFound("key " + name + " does not exist in this scope");
  if (latest >= 0xFFFFFFFEu) return FailedPrecondition("key " + name + " has no version numbers left");
  Status s = Create(name, latest + 1, type, length, nullptr);
  Audit("rotate", name, latest + 1, s, started);
  if (s.ok()) return latest + 1;
  if (s.code() != Code::kAlreadyExists) return s;
  return LatestVersionFromLocker(name);  // a concurrent rotation won; use its version
}

KeyServiceStats KeyService::stats() const {
  KeyServiceStats s;
  s.cache = cache_.stats();
  s.cache.hits += live_hits_.Sum();
  s.locker_requests = locker_requests_.load();
  s.locker_errors = locker_errors_.load();
  s.stale_serves = stale_serves_.load();
  s.keys_created = keys_created_.load();
  s.refresh_ticks = refresh_ticks_.load();
  std::lock_guard<std::mutex> lock(state_mu_);
  s.last_error = last_error_;
  s.last_refresh = last_refresh_;
  s.health = health_.Snapshot();
  return s;
}

}  // namespace keyring_locker
