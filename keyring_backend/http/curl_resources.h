// RAII owners for libcurl objects, the once-per-process global init, the
// shared DNS + TLS-session cache, and the pool of easy handles.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace keyring_locker::http {

// curl_global_init exactly once per process (std::call_once), on the wiping
// allocator of keyring_locker_wipe_alloc.so when it can be had
// (curl_wipe_alloc.h). Never paired with curl_global_cleanup: other code
// inside the same server process may still use libcurl when our plugin is
// unloaded.
Status EnsureCurlGlobalInit();

// Empty when libcurl frees through the wiping allocator; otherwise why not,
// and the fix, for the adapters to log once at startup.
std::string CurlMemoryWarning();

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

// Header lists carry X-Vault-Token: wiped before libcurl frees them.
struct SlistDeleter {
  void operator()(curl_slist* l) const;
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// A CURLSH sharing the DNS cache and TLS session IDs between the easy handles
// of one client, so a handle created for a new thread resumes the TLS session
// instead of doing a full handshake. Connections are deliberately not shared:
// libcurl does not support using a shared connection cache from concurrent
// threads. One mutex per data type so DNS lookups never wait on session I/O.
class SharedCache {
 public:
  static StatusOr<std::unique_ptr<SharedCache>> Create();
  ~SharedCache();
  SharedCache(const SharedCache&) = delete;
  SharedCache& operator=(const SharedCache&) = delete;
  CURLSH* get() const { return share_; }

 private:
  SharedCache() = default;
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void Unlock(CURL*, curl_lock_data data, void* self);
  std::mutex& MutexFor(curl_lock_data data);

  CURLSH* share_ = nullptr;
  std::mutex mutexes_[CURL_LOCK_DATA_LAST + 1];
};

// Idle easy handles. Why a pool and not a thread_local handle per thread:
// a handle is taken exclusively for one Send() and given back, so it is never
// used by two threads at once; handles (and their live keep-alive connections)
// are freed with the client instead of outliving it in dead threads' TLS slots;
// and a burst of server threads shares a few warm connections instead of each
// thread holding its own. LIFO, so the most recently used (warmest) connection
// is reused first.
class EasyHandlePool {
 public:
  explicit EasyHandlePool(size_t max_idle) : max_idle_(max_idle) {}
  // An idle handle, or a new one; nullptr only if libcurl is out of memory.
  EasyHandle Acquire();
  void Release(EasyHandle handle);
  size_t idle() const;

 private:
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<EasyHandle> idle_;
};

// Returns the handle to its pool at scope exit, whatever path Send() takes.
class PooledHandle {
 public:
  explicit PooledHandle(EasyHandlePool* pool) : pool_(pool), handle_(pool->Acquire()) {}
  ~PooledHandle() {
    if (handle_) pool_->Release(std::move(handle_));
  }
  PooledHandle(const PooledHandle&) = delete;
  PooledHandle& operator=(const PooledHandle&) = delete;
  CURL* get() const { return handle_.get(); }

 private:
  EasyHandlePool* pool_;
  EasyHandle handle_;
};

}  // namespace keyring_locker::http
