// KeyService: the one object each loaded adapter talks to. It names keys
// inside the configured scope, has the envelope seal every key before it is
// stored (create-only), serves keys from the KeyCache, refreshes the latest
// versions in the background and writes the audit log. Adapters translate the
// server's calls into these methods and nothing more.
//
// Below it: envelope/envelope.h (sealing, checks), then the two locker
// roles, store/key_store.h (where records live) and wrapper/key_wrapper.h
// (who wraps), paired by the configuration (lockers/open_locker.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "keyring_backend/audit/audit_log.h"
#include "keyring_backend/cache/key_cache.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/envelope/envelope.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/request_health.h"
#include "keyring_backend/store/key_store.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

struct KeyServiceStats {
  KeyCacheStats cache;
  uint64_t locker_requests = 0;  // KeyService operations that reached the locker
  uint64_t locker_errors = 0;
  uint64_t stale_serves = 0;     // version refreshes that failed while cached keys kept being served
  uint64_t keys_created = 0;
  uint64_t refresh_ticks = 0;    // background version refreshes run
  std::string last_error;        // never contains key bytes or tokens; cleared when the locker answers again
  std::chrono::system_clock::time_point last_refresh{};
  RequestHealthSnapshot health;   // failing now or not, since when, the last error's time
};

struct KeyVersionInfo {
  std::string name;
  uint32_t version = 0;
  std::string type;
  size_t length = 0;
  std::string created;  // RFC 3339, from the document
  std::string creator;  // actor that created it
  std::string origin;   // "locker" (Transit data key), "local-random", "server"
  bool bound = false;   // format keyring_locker/2: the wrapped key names itself (docs/security.md)
  // False: only a listing saw this version; its record was not read yet
  // (KnownKeyVersions without reading), so the fields above are empty.
  bool read = true;
};

// A soft-deleted generation (see "Generations" below). `purged` means the
// key document itself is gone (PurgeDeleted) and only the marker remains.
struct DeletedKeyInfo {
  std::string name;
  uint32_t version = 0;
  std::string deleted_at;    // RFC 3339
  int64_t deleted_unix = 0;  // seconds since the epoch, for retention
  std::string deleted_by;
  bool purged = false;
};

// How a sweep over every key of the scope (RefreshVersions, RotateAll,
// ListKeyVersions, ListLive, ListDeleted, PurgeDeleted) is timed.
enum class Sweep {
  // All of its requests within one call budget (timeouts.total_ms): for
  // server threads, which must never wait longer. Running out stops the
  // sweep with DEADLINE_EXCEEDED; what was done stays done and nothing is
  // half-written (every write is create-only, except PurgeDeleted's, which
  // each remove one whole document).
  kOneBudget,
  // Each request bounded on its own: for tools and background threads,
  // where a large scope on a slow link must still get to its last key (one
  // budget per round would stop at the same key every round).
  kPerRequest,
};

// What RotateAll did. It stops at the first key it cannot rotate.
struct RotateAllResult {
  std::vector<std::pair<std::string, uint32_t>> rotated;  // name, new version; in listing order
  std::vector<std::string> not_rotated;  // the key it stopped at and every one after it
  Status status;  // why it stopped; when the listing failed, both lists are empty
};

// Where keys live and who wraps them: the pair a configuration chooses.
struct KeyLocker {
  std::unique_ptr<KeyStore> store;
  std::unique_ptr<KeyWrapper> wrapper;
};

class KeyService {
 public:
  // `audit` may be null (audit log off). The locker must be connected.
  // `call_budget`: one budget for each server call that reaches the locker
  // (Get on a miss, LatestVersionFromLocker, EnsureKey, Rotate, Create, and
  // the generation calls): all of its requests together end within it
  // (timeouts.total_ms; 0 = each request bounded on its own, for lockers
  // that answer in-process). Sweeps over many keys use it as Sweep says.
  KeyService(KeyLocker locker, KeyScopeOptions scope, CacheOptions cache,
             std::unique_ptr<AuditLog> audit, std::string actor, std::chrono::milliseconds call_budget);
  ~KeyService();

  // Hot path: the latest version the cache knows, 0 if none. No I/O, no wait.
  uint32_t LatestVersionCached(const std::string& name) const { return cache_.Latest(name); }
  // Moves whenever a LatestVersionCached answer may have changed: read it
  // first, and an answer stays good while it has not moved (KeyCache).
  uint64_t LatestVersionEpoch() const { return cache_.LatestEpoch(); }
  // Key bytes for (name, version): a cache hit, or one locker fetch + unwrap
  // shared by every concurrent caller. kNotFound if the locker has no such key.
  StatusOr<KeyHandle> Get(const std::string& name, uint32_t version);
  // fn(const KeyMaterial&) on a cached key, under the cache's lock, without
  // copying its handle; false when it is not cached (then call Get). For a
  // server call that only copies the bytes out (MariaDB's get_key).
  template <typename Fn>
  bool WithCachedKey(const std::string& name, uint32_t version, Fn&& fn) const {
    return cache_.WithCached(name, version, std::forward<Fn>(fn));
  }
  // Reads the versions of `name` from the locker (not the cache); 0 = none.
  StatusOr<uint32_t> LatestVersionFromLocker(const std::string& name);
  // Makes sure `name` has at least one version (creates version 1 with a
  // locker-generated key if the locker has none) and returns the latest.
  StatusOr<uint32_t> EnsureKey(const std::string& name, size_t length = 32, const std::string& type = "AES");
  // Creates version latest+1. If another server rotated at the same moment,
  // returns the version that exists now instead of overwriting anything.
  StatusOr<uint32_t> Rotate(const std::string& name, size_t length = 32, const std::string& type = "AES");
  // Rotate for a key that must exist already: kNotFound when the locker has
  // no version of it (one listing decides both; nothing is created).
  StatusOr<uint32_t> RotateExisting(const std::string& name, size_t length = 32, const std::string& type = "AES");
  // Creates (name, version) from bytes the server supplies (MySQL key_store)
  // or, when `bytes` is null, from a new random key. kAlreadyExists if present.
  Status Create(const std::string& name, uint32_t version, const std::string& type, size_t length,
                const crypto::SecureBuffer* bytes);
  // RotateExisting for every key of the scope, in listing order.
  RotateAllResult RotateAll(Sweep how = Sweep::kOneBudget);
  // Re-reads every key name and latest version in the scope from the locker.
  // On failure the cache keeps serving (counted as a stale serve); versions
  // read before it stopped are kept.
  Status RefreshVersions(Sweep how = Sweep::kOneBudget);
  // The background refresh's tick: what changed since the last one, at a
  // cost that does not grow with the scope. Where the store reads the whole
  // scope in one request (KMIP) that is RefreshVersions; otherwise one
  // listing of the names, then the versions of names not seen before plus
  // kRefreshSlice of the others in turn (a rotation by another server is
  // seen within N / kRefreshSlice ticks; RefreshVersions, e.g. SET GLOBAL
  // keyring_locker_refresh, sees it at once). docs/architecture.md.
  static constexpr size_t kRefreshSlice = 8;
  // How long the background refresh waits before its first tick: a random
  // time between half the interval and the whole of it, so servers started
  // together do not refresh together ever after (never later than before).
  static std::chrono::milliseconds FirstRefreshDelay(std::chrono::seconds interval);
  Status RefreshChanges();
  // Metadata of every version in the scope (never key bytes): one listing
  // of the names and one per name; records are read only for versions this
  // service has not read or written before (records never change).
  StatusOr<std::vector<KeyVersionInfo>> ListKeyVersions(Sweep how = Sweep::kOneBudget);
  // The same from what this service knows already (its last listings, the
  // records it read or wrote), no listing: the key metadata snapshot
  // behind SHOW STATUS, rebuilt after every change at no cost. With
  // `read_missing` the records of versions only a listing saw are read
  // (once: then they are known); without, those come back with read=false.
  StatusOr<std::vector<KeyVersionInfo>> KnownKeyVersions(bool read_missing, Sweep how = Sweep::kOneBudget);
  // Fetches and unwraps the latest version of every key the service knows
  // and has not cached, so the server's first use of each is a cache hit:
  // records read with up to `in_flight` requests at once, unwrapped in
  // batches (KeyWrapper::UnwrapBatch). Within the caller's budget; a cut
  // warm-up leaves the rest to the first use. Returns how many were cached.
  StatusOr<size_t> WarmLatest(size_t in_flight);
  // Names of every key in the scope.
  StatusOr<std::vector<std::string>> ListNames();

  // Generations: the model for servers whose keys are not versioned but can
  // be removed and stored again under the same id (MySQL). Each store makes
  // version latest+1; a removal writes a create-only deletion marker beside
  // the key record, which stays (recoverable) until PurgeDeleted. The one
  // listing of the name's versions tells both the latest version and
  // whether it is deleted, so a restart costs no extra requests.
  //
  // Bytes of the live generation; kNotFound if the name has none.
  StatusOr<KeyHandle> GetLive(const std::string& name);
  // The hot path of GetLive: once a fetch has loaded the live generation,
  // calls fn(const KeyMaterial&) under one shared lock and returns true, with
  // one lookup of the name and no locker request, handle copy or deadline;
  // false otherwise (the caller goes on to GetLive). fn must be short and
  // must not call back into this KeyService.
  template <typename Fn>
  bool WithLiveCached(const std::string& name, Fn&& fn) {
    ReadMostlyMutex::ReadLock lock(generations_mu_);
    auto it = generations_.find(name);
    if (it == generations_.end() || it->second.gen.deleted || !it->second.live) return false;
    live_hits_.Add(lock.stripe());
    fn(*it->second.live);
    return true;
  }
  // Makes a new generation (bytes null = new random key). kAlreadyExists if
  // a live generation exists: nothing is ever overwritten.
  Status CreateGeneration(const std::string& name, const std::string& type, size_t length,
                          const crypto::SecureBuffer* bytes);
  // Marks the live generation deleted. kNotFound if there is none.
  Status SoftRemove(const std::string& name);
  // Names that have a live generation (reads the locker).
  StatusOr<std::vector<std::string>> ListLive(Sweep how = Sweep::kOneBudget);
  StatusOr<std::vector<DeletedKeyInfo>> ListDeleted(Sweep how = Sweep::kOneBudget);
  // Undeletes `version` of `name`; only the latest generation can come back
  // (a newer live one would otherwise be shadowed), and only if not purged.
  Status Restore(const std::string& name, uint32_t version);
  // Removes the key documents of generations deleted at least `retention`
  // ago; the markers stay, so generation numbers are never reused. Returns
  // how many were purged.
  StatusOr<size_t> PurgeDeleted(std::chrono::seconds retention, Sweep how = Sweep::kOneBudget);

  // A server call made of several KeyService calls (a SET GLOBAL that
  // rotates every key, then lists them for SHOW STATUS) opens
  // OperationDeadline(call_budget()) around them: nested budgets keep the
  // earliest deadline, so together they end within one budget.
  std::chrono::milliseconds call_budget() const { return call_budget_; }
  // The budget a sweep opens: call_budget() for kOneBudget, none (each
  // request bounded on its own) for kPerRequest.
  std::chrono::milliseconds SweepBudget(Sweep how) const {
    return how == Sweep::kOneBudget ? call_budget_ : std::chrono::milliseconds(0);
  }

  void StartBackgroundRefresh();
  void StopBackgroundRefresh();
  // Wakes the background thread for one refresh now instead of at the end
  // of its interval (a start whose version refresh did not fit its budget).
  void RefreshSoon();

  KeyServiceStats stats() const;
  // Called once (on the thread whose request succeeded, no lock held) when a
  // locker request succeeds after a run of failures, with a message naming
  // how long it failed and how often. Must not block. Set it before the
  // service is shared, or accept that a recovery just before is not seen.
  void SetRecoveryObserver(std::function<void(const std::string& message)> observer);
  // How many runs of failures have ended so far: a caller that paused after
  // a failure retries at once when this moved on (no lock, no I/O).
  uint64_t LockerRecoveries() const { return health_.Recoveries(); }
  // How many key names the service knows of (the latest versions it has
  // read or created); no I/O. Lower than the scope's count while a start's
  // version refresh is still running.
  size_t KnownKeyCount() const { return cache_.AllLatest().size(); }
  KeyStore& store() { return *store_; }
  KeyWrapper& wrapper() { return *wrapper_; }
  // "vault https://host:8200 kv=secret(v2) transit=transit/keyring_locker"
  std::string Describe() const { return store_->Describe() + " " + wrapper_->Describe(); }
  // Where this service's keys live, with prefix and scope (what the MariaDB
  // datadir marker records and compares).
  KeyHomeIdentity Identity() const { return store_->Identity(); }
  // Key names as one printable token ([A-Za-z0-9_.-] kept, others %XX):
  // status variable names, document paths.
  static std::string EncodeName(const std::string& name);
  static StatusOr<std::string> DecodeName(const std::string& segment);

 private:
  StatusOr<KeyHandle> Load(const std::string& name, uint32_t version);
  StatusOr<uint32_t> RotateImpl(const std::string& name, size_t length, const std::string& type, bool must_exist);
  void Audit(const char* op, const std::string& name, int64_t version, const Status& result,
             std::chrono::steady_clock::time_point started, const std::string& detail = "");
  void NoteError(const Status& s);
  void NoteSuccess();  // a request the locker answered (a "not found" included)
  void RefreshLoop();

  struct Generation {
    uint32_t version = 0;  // 0 = the name has none
    bool deleted = false;  // marker present, or the document was purged
  };
  static Generation ScanGeneration(const std::vector<VersionEntry>& entries);
  // From the memo, else one listing of the name's versions.
  StatusOr<Generation> CurrentGeneration(const std::string& name, bool from_locker);
  // Memo updates only move forward (newer version, or same version now
  // deleted), so a refresh that raced a removal cannot resurrect a key.
  void NoteGeneration(const std::string& name, Generation g);
  // What the service knows of each name's versions (KnownKeyVersions): a
  // listing replaces a name's set of versions (a purged one goes), a record
  // read or written fills one version's details.
  void NoteListed(const std::string& name, const std::vector<VersionEntry>& entries);
  void NoteRecord(const std::string& name, uint32_t version, const RecordMeta& meta);
  // Everything one listing of a name tells: latest, generation, versions.
  uint32_t NoteVersions(const std::string& name, const std::vector<VersionEntry>& entries);

  std::unique_ptr<KeyStore> store_;
  std::unique_ptr<KeyWrapper> wrapper_;
  const std::chrono::milliseconds call_budget_;
  KeyScopeOptions scope_;
  CacheOptions cache_options_;
  std::unique_ptr<AuditLog> audit_;
  std::string actor_;
  Envelope envelope_;
  KeyCache cache_;

  std::atomic<uint64_t> locker_requests_{0}, locker_errors_{0}, stale_serves_{0}, keys_created_{0}, refresh_ticks_{0};
  mutable std::mutex state_mu_;  // last_error_, last_refresh_
  std::string last_error_;
  std::chrono::system_clock::time_point last_refresh_{};
  std::function<void(const std::string&)> recovery_observer_;
  RequestHealth health_;

  std::mutex known_mu_;
  std::map<std::string, std::map<uint32_t, KeyVersionInfo>> known_;

  // Read on every MySQL key fetch (WithLiveCached), written when a
  // generation is stored, removed or listed: readers on different CPUs
  // share no cache line they write (read_mostly_mutex.h).
  ReadMostlyMutex generations_mu_;
  struct GenerationMemo {
    Generation gen;
    // The live generation's bytes once GetLive has loaded them: the MySQL
    // fetch's hot path (WithLiveCached) is then one lookup. Dropped whenever
    // the generation changes (stored again, removed, restored), so a removed
    // key's bytes do not linger here. Holds at most one version per name,
    // beyond the cache's bound: the live MySQL keys the server has fetched.
    KeyHandle live;
  };
  std::unordered_map<std::string, GenerationMemo> generations_;
  StripedCounter live_hits_;  // WithLiveCached hits, counted as cache hits
  // Sets `live` when `name` is still at that live version.
  void RememberLive(const std::string& name, uint32_t version, const KeyHandle& key);

  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  bool stop_refresh_ = false;
  bool refresh_soon_ = false;
  size_t refresh_cursor_ = 0;  // RefreshChanges' place in the sorted names; its thread only
  std::thread refresh_thread_;
};

}  // namespace keyring_locker
