// SHOW STATUS LIKE 'keyring_locker%': one function per variable, each taking
// a fresh BackendStatus snapshot into the server's per-call buffer (no shared
// static storage, so concurrent SHOW STATUS calls cannot race).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <vector>

#include "common/rfc3339.h"
#include "crypto/secure_buffer.h"
#include "plugin/mariadb/plugin_state.h"

namespace keyring_locker::mariadb {
namespace {

template <typename F>
int ShowNumber(struct st_mysql_show_var* var, void* buff, F get) {
  unsigned long long n = 0;
  try {
    if (Backend* b = State().backend.get()) n = get(b->status());
  } catch (...) {
    // A status read must never take the server down; show 0.
  }
  *static_cast<unsigned long long*>(buff) = n;
  var->type = SHOW_ULONGLONG;
  var->value = static_cast<char*>(buff);
  return 0;
}

template <typename F>
int ShowText(struct st_mysql_show_var* var, void* buff, F get) {
  std::string text;
  try {
    if (Backend* b = State().backend.get()) text = get(b->status());
  } catch (...) {
    text = "(unavailable)";
  }
  const size_t n = std::min(text.size(), static_cast<size_t>(SHOW_VAR_FUNC_BUFF_SIZE) - 1);
  std::memcpy(buff, text.data(), n);
  static_cast<char*>(buff)[n] = '\0';
  var->type = SHOW_CHAR;
  var->value = static_cast<char*>(buff);
  return 0;
}

#define KLK_NUM(fn, expr)                                                                              \
  int fn(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*, enum enum_var_type) {        \
    return ShowNumber(var, buff, [](const BackendStatus& s) -> unsigned long long { return (expr); }); \
  }
#define KLK_TEXT(fn, expr)                                                                       \
  int fn(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*, enum enum_var_type) {  \
    return ShowText(var, buff, [](const BackendStatus& s) -> std::string { return (expr); }); \
  }

long long TokenSecondsLeft(const AuthInfo& a) {
  if (a.ttl.count() == 0) return 0;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(a.expires - std::chrono::system_clock::now());
  return left.count() > 0 ? left.count() : 0;
}

KLK_NUM(ShowCacheHits, s.keys.cache.hits)
KLK_NUM(ShowCacheMisses, s.keys.cache.misses)
KLK_NUM(ShowKeysCached, s.keys.cache.entries)
KLK_NUM(ShowLockerRequests, s.keys.locker_requests)
KLK_NUM(ShowLockerErrors, s.keys.locker_errors)
KLK_NUM(ShowStaleServes, s.keys.stale_serves)
KLK_NUM(ShowKeysCreated, s.keys.keys_created)
KLK_NUM(ShowHttpRequests, s.http.requests)
KLK_NUM(ShowHttpRetries, s.http.retries)
KLK_NUM(ShowHttpFailovers, s.http.failovers)
KLK_NUM(ShowTokenTtl, TokenSecondsLeft(s.auth))
KLK_NUM(ShowTokenRenewals, s.auth.renewals)
KLK_TEXT(ShowLastError, s.keys.last_error)
// When the last error happened (empty once the locker answers again), and
// whether the locker answers now: what a monitor alerts on (issue #16).
KLK_TEXT(ShowLastErrorTime, s.keys.health.last_error_time)
KLK_TEXT(ShowLockerState, !s.keys.health.failing ? "ok" : s.keys.health.unreachable ? "unreachable" : "failing")
KLK_TEXT(ShowActiveEndpoint, s.http.active_endpoint)
KLK_TEXT(ShowLocker, s.locker)

// tls.verify=false (or kmip.verify=false) stays visible for as long as it
// is in force, not only in the one warning at startup (issue #15).
KLK_TEXT(ShowTlsVerify, s.tls_verify ? "ON" : "OFF")

// Key memory the kernel may swap out (mlock refused: RLIMIT_MEMLOCK, no
// CAP_IPC_LOCK). Process-wide counters, readable without a backend.
int ShowLockStat(struct st_mysql_show_var* var, void* buff, size_t crypto::MemoryLockStats::*field) {
  *static_cast<unsigned long long*>(buff) = crypto::SecureBuffer::LockStats().*field;
  var->type = SHOW_ULONGLONG;
  var->value = static_cast<char*>(buff);
  return 0;
}
int ShowMemoryLockedBytes(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*,
                          enum enum_var_type) {
  return ShowLockStat(var, buff, &crypto::MemoryLockStats::locked_bytes);
}
int ShowMemoryUnlockedBuffers(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*,
                              enum enum_var_type) {
  return ShowLockStat(var, buff, &crypto::MemoryLockStats::unlocked_buffers);
}

// keyring_locker_key: one row per key version, from the last KeyMetadata
// snapshot (SHOW STATUS never asks the locker). The server walks the array
// returned here, copying names and values, before this thread can call the
// function again; so a per-thread pin of the snapshot plus its SHOW_VAR
// array keeps every pointer valid for exactly as long as the server reads
// it, while refreshes replace the shared snapshot freely.
struct PinnedKeyRows {
  std::shared_ptr<const KeyMetadataSnapshot> snapshot;
  std::vector<struct st_mysql_show_var> vars;
};

int ShowKeys(MYSQL_THD, struct st_mysql_show_var* var, void*, struct system_status_var*, enum enum_var_type) {
  static const struct st_mysql_show_var kEmpty[] = {{nullptr, nullptr, SHOW_UNDEF}};
  var->type = SHOW_ARRAY;
  var->value = const_cast<struct st_mysql_show_var*>(kEmpty);
  // Off by default: two rows per key would flood tools that scrape SHOW
  // GLOBAL STATUS on a large scope; the summary rows below stay bounded.
  if (!State().status_per_key) return 0;
  try {
    thread_local PinnedKeyRows pinned;
    KeyMetadata* meta = State().metadata.get();
    auto snapshot = meta ? meta->Current() : nullptr;
    if (snapshot == nullptr) return 0;
    meta->Shown();  // versions not read yet get read now, in the background
    if (snapshot != pinned.snapshot) {
      std::vector<struct st_mysql_show_var> vars;
      vars.reserve(snapshot->rows.size() + 1);
      for (const auto& row : snapshot->rows)
        vars.push_back({row.name.c_str(), const_cast<char*>(row.value.c_str()), SHOW_CHAR});
      vars.push_back({nullptr, nullptr, SHOW_UNDEF});
      pinned.vars = std::move(vars);
      pinned.snapshot = std::move(snapshot);
    }
    var->value = pinned.vars.data();
  } catch (...) {
    // Out of memory while building the array: show no key rows.
  }
  return 0;
}

std::string SnapshotTime(const KeyMetadataSnapshot& s) {
  if (s.taken == std::chrono::system_clock::time_point{}) return "never";
  return Rfc3339(s.taken);
}

int ShowKeysListed(struct st_mysql_show_var* var, void* buff, bool error) {
  return ShowText(var, buff, [error](const BackendStatus&) -> std::string {
    KeyMetadata* meta = State().metadata.get();
    auto snapshot = meta ? meta->Current() : nullptr;
    if (snapshot == nullptr) return "";
    return error ? snapshot->last_error : SnapshotTime(*snapshot);
  });
}
int ShowKeysListedAt(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*,
                     enum enum_var_type) {
  return ShowKeysListed(var, buff, false);
}
int ShowKeysListError(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*,
                      enum enum_var_type) {
  return ShowKeysListed(var, buff, true);
}

// Summary of the last key metadata snapshot: a fixed number of rows.
template <typename F>
int ShowSummaryNumber(struct st_mysql_show_var* var, void* buff, F get) {
  return ShowNumber(var, buff, [get](const BackendStatus&) -> unsigned long long {
    KeyMetadata* meta = State().metadata.get();
    auto snapshot = meta ? meta->Current() : nullptr;
    return snapshot ? get(snapshot->summary) : 0;
  });
}
unsigned long long AgeSeconds(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return 0;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t).count();
  return age > 0 ? static_cast<unsigned long long>(age) : 0;
}
#define KLK_SUMMARY(fn, expr)                                                                                      \
  int fn(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*, enum enum_var_type) {    \
    return ShowSummaryNumber(var, buff, [](const KeyMetadataSummary& m) -> unsigned long long { return (expr); }); \
  }
KLK_SUMMARY(ShowKeysInScope, m.keys)
KLK_SUMMARY(ShowVersionsInScope, m.versions)
KLK_SUMMARY(ShowOldestLatestAge, AgeSeconds(m.oldest_latest))
KLK_SUMMARY(ShowNewestLatestAge, AgeSeconds(m.newest_latest))
int ShowOldestLatestKey(MYSQL_THD, struct st_mysql_show_var* var, void* buff, struct system_status_var*,
                        enum enum_var_type) {
  return ShowText(var, buff, [](const BackendStatus&) -> std::string {
    KeyMetadata* meta = State().metadata.get();
    auto snapshot = meta ? meta->Current() : nullptr;
    return snapshot ? snapshot->summary.oldest_latest_key : "";
  });
}

}  // namespace

#define KLK_ENTRY(name, fn) {name, reinterpret_cast<char*>(&fn), SHOW_SIMPLE_FUNC}
struct st_mysql_show_var g_status_variables[] = {
    KLK_ENTRY("keyring_locker_cache_hits", ShowCacheHits),
    KLK_ENTRY("keyring_locker_cache_misses", ShowCacheMisses),
    KLK_ENTRY("keyring_locker_keys_cached", ShowKeysCached),
    KLK_ENTRY("keyring_locker_locker_requests", ShowLockerRequests),
    KLK_ENTRY("keyring_locker_locker_errors", ShowLockerErrors),
    KLK_ENTRY("keyring_locker_stale_serves", ShowStaleServes),
    KLK_ENTRY("keyring_locker_keys_created", ShowKeysCreated),
    KLK_ENTRY("keyring_locker_http_requests", ShowHttpRequests),
    KLK_ENTRY("keyring_locker_http_retries", ShowHttpRetries),
    KLK_ENTRY("keyring_locker_http_failovers", ShowHttpFailovers),
    KLK_ENTRY("keyring_locker_token_ttl_s", ShowTokenTtl),
    KLK_ENTRY("keyring_locker_token_renewals", ShowTokenRenewals),
    KLK_ENTRY("keyring_locker_last_error", ShowLastError),
    KLK_ENTRY("keyring_locker_last_error_time", ShowLastErrorTime),
    KLK_ENTRY("keyring_locker_locker_state", ShowLockerState),
    KLK_ENTRY("keyring_locker_active_endpoint", ShowActiveEndpoint),
    KLK_ENTRY("keyring_locker_locker", ShowLocker),
    KLK_ENTRY("keyring_locker_keys_listed_at", ShowKeysListedAt),
    KLK_ENTRY("keyring_locker_keys_list_error", ShowKeysListError),
    KLK_ENTRY("keyring_locker_keys_in_scope", ShowKeysInScope),
    KLK_ENTRY("keyring_locker_versions_in_scope", ShowVersionsInScope),
    KLK_ENTRY("keyring_locker_oldest_latest_version_age_s", ShowOldestLatestAge),
    KLK_ENTRY("keyring_locker_oldest_latest_version_key", ShowOldestLatestKey),
    KLK_ENTRY("keyring_locker_newest_latest_version_age_s", ShowNewestLatestAge),
    KLK_ENTRY("keyring_locker_tls_verify", ShowTlsVerify),
    KLK_ENTRY("keyring_locker_memory_locked_bytes", ShowMemoryLockedBytes),
    KLK_ENTRY("keyring_locker_memory_unlocked_buffers", ShowMemoryUnlockedBuffers),
    {"keyring_locker_key", reinterpret_cast<char*>(&ShowKeys), SHOW_FUNC},
    {nullptr, nullptr, SHOW_UNDEF}};

}  // namespace keyring_locker::mariadb
