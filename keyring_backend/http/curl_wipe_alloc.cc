#include "keyring_backend/http/curl_wipe_alloc.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

#include "wipe_alloc/keyring_locker_wipe_alloc.h"

namespace keyring_locker::http {
namespace {

// The server plugins and the CLI share this code: "this process" is either.
constexpr char kRisk[] =
    "; until then copies of the locker token that libcurl frees may remain in this process's "
    "memory and in its core dumps (docs/security.md)";

struct HelperFns {
  curl_malloc_callback malloc_fn;
  curl_free_callback free_fn;
  curl_realloc_callback realloc_fn;
  curl_strdup_callback strdup_fn;
  curl_calloc_callback calloc_fn;
  unsigned long (*calls)();
};

template <typename Fn>
bool Find(void* lib, const char* name, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(lib, name));
  return *out != nullptr;
}

// The helper's functions, or nullptr with *error naming the problem.
// RTLD_NODELETE (the helper is also linked -z nodelete): libcurl calls these
// until the process exits, whoever loaded them. The handle is never closed.
bool LoadHelper(const std::string& path, HelperFns* fns, std::string* error) {
  void* lib = dlopen(KLK_WIPE_ALLOC_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | RTLD_NOLOAD);
  if (lib == nullptr) lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (lib == nullptr) {
    const char* why = dlerror();
    *error = "cannot load " + path + " (" + (why ? why : "unknown error") +
             "): install keyring_locker_wipe_alloc.so, shipped with the plugin, in the same folder";
    return false;
  }
  if (Find(lib, "klk_wipe_malloc", &fns->malloc_fn) && Find(lib, "klk_wipe_free", &fns->free_fn) &&
      Find(lib, "klk_wipe_realloc", &fns->realloc_fn) && Find(lib, "klk_wipe_strdup", &fns->strdup_fn) &&
      Find(lib, "klk_wipe_calloc", &fns->calloc_fn) && Find(lib, "klk_wipe_calls", &fns->calls)) {
    return true;
  }
  *error = path + " lacks the klk_wipe_* functions: replace it with the copy shipped with this plugin";
  return false;
}

}  // namespace

std::string WipeAllocHelperPath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&WipeAllocHelperPath), &info) == 0 || info.dli_fname == nullptr)
    return KLK_WIPE_ALLOC_SONAME;  // the loader's search path, as a last resort
  std::string self = info.dli_fname;
  // The main program (the CLI started through PATH) is reported by the name
  // it was started as, without a folder; its real place is /proc/self/exe.
  if (self.find('/') == std::string::npos) {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) self = exe.string();
  }
  const size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) + KLK_WIPE_ALLOC_SONAME;
}

CURLcode CurlGlobalInitWiping(const std::string& helper_path, std::string* warning) {
  warning->clear();
  HelperFns fns{};
  std::string error;
  if (!LoadHelper(helper_path, &fns, &error)) {
    *warning = "libcurl runs without the wiping allocator: " + error + kRisk;
    return curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  const CURLcode rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, fns.malloc_fn, fns.free_fn, fns.realloc_fn,
                                           fns.strdup_fn, fns.calloc_fn);
  if (rc != CURLE_OK) return rc;
  // An already initialised libcurl accepts the call but keeps its allocator:
  // only an allocation seen by the helper proves ours is in use.
  const unsigned long before = fns.calls();
  char* probe = curl_easy_escape(nullptr, "k", 1);
  if (probe == nullptr) return CURLE_OUT_OF_MEMORY;
  curl_free(probe);
  if (fns.calls() == before) {
    *warning = "libcurl was initialised by other code in this process before keyring_locker, with "
               "another allocator, so the wiping allocator of " + helper_path +
               " could not be installed: load keyring_locker before other plugins or libraries that "
               "use libcurl" + kRisk;
  }
  return CURLE_OK;
}

}  // namespace keyring_locker::http
