#include "keyring_backend/http/curl_resources.h"

#include <openssl/crypto.h>

#include <cstring>

#include "keyring_backend/http/curl_wipe_alloc.h"

namespace keyring_locker::http {

void SlistDeleter::operator()(curl_slist* l) const {
  for (curl_slist* node = l; node != nullptr; node = node->next) {
    if (node->data != nullptr) OPENSSL_cleanse(node->data, std::strlen(node->data));
  }
  curl_slist_free_all(l);
}

namespace {
std::once_flag init_once;
CURLcode init_result = CURLE_OK;
std::string init_warning;  // written once inside call_once, read-only after
}  // namespace

Status EnsureCurlGlobalInit() {
  std::call_once(init_once, [] {
    try {
      init_result = CurlGlobalInitWiping(WipeAllocHelperPath(), &init_warning);
    } catch (const std::exception&) {  // out of memory building a path or message
      init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
    }
  });
  if (init_result != CURLE_OK)
    return Internal(std::string("curl_global_init failed: ") + curl_easy_strerror(init_result) +
                    "; check that libcurl and its TLS library are installed correctly");
  return Status::Ok();
}

std::string CurlMemoryWarning() {
  if (!EnsureCurlGlobalInit().ok()) return "";  // the failure itself is reported by whoever needs libcurl
  return init_warning;
}

StatusOr<std::unique_ptr<SharedCache>> SharedCache::Create() {
  std::unique_ptr<SharedCache> cache(new SharedCache());
  cache->share_ = curl_share_init();
  if (cache->share_ == nullptr) return Internal("curl_share_init failed (out of memory?)");
  CURLSH* s = cache->share_;
  if (curl_share_setopt(s, CURLSHOPT_LOCKFUNC, &SharedCache::Lock) != CURLSHE_OK ||
      curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, &SharedCache::Unlock) != CURLSHE_OK ||
      curl_share_setopt(s, CURLSHOPT_USERDATA, cache.get()) != CURLSHE_OK ||
      curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
      curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    return Internal("libcurl refused to share the DNS/TLS session cache; libcurl is too old "
                    "or built without TLS session support");
  }
  return cache;
}

SharedCache::~SharedCache() {
  // Every easy handle using the share must already be gone (the client frees
  // its pool before the cache), otherwise this returns CURLSHE_IN_USE.
  if (share_ != nullptr) curl_share_cleanup(share_);
}

std::mutex& SharedCache::MutexFor(curl_lock_data data) {
  int i = static_cast<int>(data);
  if (i < 0 || i > CURL_LOCK_DATA_LAST) i = CURL_LOCK_DATA_LAST;
  return mutexes_[i];
}

void SharedCache::Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<SharedCache*>(self)->MutexFor(data).lock();
}

void SharedCache::Unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<SharedCache*>(self)->MutexFor(data).unlock();
}

EasyHandle EasyHandlePool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      EasyHandle h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return EasyHandle(curl_easy_init());
}

void EasyHandlePool::Release(EasyHandle handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(handle));
  // else: the handle (and its connection) is freed here, outside any transfer.
}

size_t EasyHandlePool::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

}  // namespace keyring_locker::http
