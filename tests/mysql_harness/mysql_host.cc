#include "tests/mysql_harness/mysql_host.h"

#include <dlfcn.h>

#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace mysqlh {
namespace {

std::mutex g_mu;
std::unordered_map<void*, size_t> g_blocks;
size_t g_foreign_frees = 0;
std::vector<LogLine> g_log;
size_t g_handle_mismatches = 0;
void* g_expected_handle = nullptr;

void* Track(void* p, size_t n) {
  if (p != nullptr) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_blocks[p] = n;
  }
  return p;
}

void* SvcMalloc(unsigned int, size_t size, int) { return Track(std::malloc(size == 0 ? 1 : size), size); }
void* SvcRealloc(unsigned int, void* ptr, size_t size, int) {
  if (ptr != nullptr) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_blocks.erase(ptr) == 0) {
      ++g_foreign_frees;
      return nullptr;
    }
  }
  return Track(std::realloc(ptr, size), size);
}
void SvcClaim(const void*, bool) {}
void SvcFree(void* p) { ServerFree(p); }
void* SvcMemdup(unsigned int, const void* from, size_t n, int) {
  void* p = SvcMalloc(0, n, 0);
  if (p != nullptr) std::memcpy(p, from, n);
  return p;
}
char* SvcStrndup(unsigned int, const char* from, size_t n, int) {
  char* p = static_cast<char*>(SvcMalloc(0, n + 1, 0));
  if (p != nullptr) {
    std::memcpy(p, from, n);
    p[n] = '\0';
  }
  return p;
}
char* SvcStrdup(unsigned int, const char* from, int) { return SvcStrndup(0, from, std::strlen(from), 0); }

int SvcLog(void** handle, int level, const char* fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::lock_guard<std::mutex> lock(g_mu);
  if (handle == nullptr || *handle != g_expected_handle) ++g_handle_mismatches;
  g_log.push_back({level, buf});
  return 0;
}

mysql_malloc_service_st g_malloc = {SvcMalloc, SvcRealloc, SvcClaim, SvcFree, SvcMemdup, SvcStrdup, SvcStrndup};
my_plugin_log_service_st g_log_service = {SvcLog};

// The loader's rule (sql_plugin.cc): not below the server's own version with
// the minor byte cleared, and not a newer major byte.
bool ServerAccepts(int server_version, int plugin_version) {
  return plugin_version >= (server_version & ~0xFF) && (plugin_version >> 8) <= (server_version >> 8);
}

bool InstallService(void* dl, const char* name, intptr_t version, void* table, std::string* error) {
  void** sym = static_cast<void**>(dlsym(dl, name));
  if (sym == nullptr) {
    *error = std::string("service pointer ") + name + " is not exported";
    return false;
  }
  if (reinterpret_cast<intptr_t>(*sym) != version) {
    *error = std::string("service ") + name + " has version " + std::to_string(reinterpret_cast<intptr_t>(*sym)) +
             ", the server provides " + std::to_string(version);
    return false;
  }
  *sym = table;
  return true;
}

}  // namespace

AllocationStats Allocations() {
  std::lock_guard<std::mutex> lock(g_mu);
  return AllocationStats{g_blocks.size(), g_foreign_frees};
}

void ServerFree(void* p) {
  if (p == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_blocks.erase(p) == 0) {
      ++g_foreign_frees;  // not ours: freeing it would corrupt a real server's heap
      return;
    }
  }
  std::free(p);
}

mysql_malloc_service_st* MallocService() { return &g_malloc; }

std::vector<LogLine> LogLines() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_log;
}
void ClearLog() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_log.clear();
}
size_t LogHandleMismatches() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_handle_mismatches;
}

std::unique_ptr<PluginHost> PluginHost::Load(const std::string& so_path, std::string* error) {
  std::unique_ptr<PluginHost> host(new PluginHost());
  host->path_ = so_path;
  host->dl_ = dlopen(so_path.c_str(), RTLD_NOW);
  if (host->dl_ == nullptr) {
    *error = std::string("dlopen failed: ") + dlerror();
    return nullptr;
  }
  auto* version = static_cast<int*>(dlsym(host->dl_, "_mysql_plugin_interface_version_"));
  auto* size = static_cast<int*>(dlsym(host->dl_, "_mysql_sizeof_struct_st_plugin_"));
  auto* decls = static_cast<st_mysql_plugin*>(dlsym(host->dl_, "_mysql_plugin_declarations_"));
  if (version == nullptr || size == nullptr || decls == nullptr) {
    *error = "one of _mysql_plugin_interface_version_, _mysql_sizeof_struct_st_plugin_, "
             "_mysql_plugin_declarations_ is not exported";
    return nullptr;
  }
  host->interface_version_ = *version;
  if (!ServerAccepts(SERVER_PLUGIN_INTERFACE_VERSION_80, *version) ||
      !ServerAccepts(SERVER_PLUGIN_INTERFACE_VERSION_84, *version)) {
    *error = "plugin interface version " + std::to_string(*version) + " is refused by 8.0 or 8.4 loaders";
    return nullptr;
  }
  if (*size != static_cast<int>(sizeof(st_mysql_plugin))) {
    *error = "descriptor size " + std::to_string(*size) + " != 112 (8.0+ layout)";
    return nullptr;
  }
  host->descriptor_ = decls;
  if (!InstallService(host->dl_, "my_plugin_log_service", VERSION_my_plugin_log_service, &g_log_service, error) ||
      !InstallService(host->dl_, "mysql_malloc_service", VERSION_mysql_malloc_service, &g_malloc, error)) {
    return nullptr;
  }
  return host;
}

PluginHost::~PluginHost() {
  std::string ignored;
  if (dl_ != nullptr) Unload(&ignored);
}

bool PluginHost::Init(const std::string& config_path, std::string* error) {
  const st_mysql_plugin& d = *descriptor_;
  if (descriptor_[1].info != nullptr) {
    *error = "more than one plugin declared";
    return false;
  }
  if (d.type != MYSQL_KEYRING_PLUGIN || d.info == nullptr ||
      *static_cast<int*>(d.info) != MYSQL_KEYRING_INTERFACE_VERSION || (d.flags & PLUGIN_OPT_ALLOW_EARLY) == 0 ||
      d.init == nullptr || d.deinit == nullptr) {
    *error = "descriptor is not an early-loadable keyring plugin with interface 0x0101";
    return false;
  }
  // System variables: the server stores the option value into *value.
  for (void** v = d.system_vars; v != nullptr && *v != nullptr; ++v) {
    auto* header = static_cast<sys_var_header*>(*v);
    if ((header->flags & PLUGIN_VAR_TYPEMASK) == PLUGIN_VAR_STR && std::strcmp(header->name, "config") == 0) {
      config_value_ = config_path;
      *static_cast<sys_var_str*>(*v)->value = config_value_.data();
    }
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_expected_handle = plugin_int_;
  }
  if (d.init(plugin_int_) != 0) {
    *error = "init() failed";
    return false;
  }
  initialized_ = true;
  return true;
}

bool PluginHost::Unload(std::string* error) {
  if (initialized_ && descriptor_->deinit(plugin_int_) != 0) *error = "deinit() failed";
  initialized_ = false;
  if (dl_ == nullptr) return error->empty();
  dlclose(dl_);
  dl_ = nullptr;
  // A fresh dlopen must give fresh state, as a restarted mysqld would have.
  if (void* still = dlopen(path_.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    dlclose(still);
    *error += "the plugin stayed loaded after dlclose (unique or nodelete symbols)";
  }
  return error->empty();
}

PluginHost::Fetched PluginHost::Fetch(const std::string& id, const char* user) {
  Fetched f;
  char* type = nullptr;
  void* key = nullptr;
  size_t len = 0;
  f.error = keyring().mysql_key_fetch(id.c_str(), &type, user, &key, &len);
  if (!f.error && key != nullptr) {
    f.found = true;
    f.key.assign(static_cast<uint8_t*>(key), static_cast<uint8_t*>(key) + len);
    if (type != nullptr) f.type = type;
  }
  ServerFree(key);
  ServerFree(type);
  return f;
}

bool PluginHost::Generate(const std::string& id, const std::string& type, size_t len, const char* user) {
  return keyring().mysql_key_generate(id.c_str(), type.c_str(), user, len);
}
bool PluginHost::Store(const std::string& id, const std::string& type, const std::vector<uint8_t>& key,
                       const char* user) {
  return keyring().mysql_key_store(id.c_str(), type.c_str(), user, key.data(), key.size());
}
bool PluginHost::Remove(const std::string& id, const char* user) { return keyring().mysql_key_remove(id.c_str(), user); }

bool PluginHost::Iterate(std::vector<std::pair<std::string, std::string>>* out) {
  void* it = nullptr;
  keyring().mysql_key_iterator_init(&it);
  if (it == nullptr) return false;
  char key_id[1025], user_id[1025];
  while (!keyring().mysql_key_iterator_get_key(it, key_id, user_id)) out->emplace_back(key_id, user_id);
  keyring().mysql_key_iterator_deinit(it);
  return true;
}

std::map<std::string, std::string> PluginHost::StatusVariables() {
  std::map<std::string, std::string> out;
  for (auto* v = static_cast<SHOW_VAR*>(descriptor_->status_vars); v != nullptr && v->name != nullptr; ++v) {
    SHOW_VAR shown = *v;
    char buf[SHOW_VAR_FUNC_BUFF_SIZE];
    if (shown.type == SHOW_FUNC) {
      if (reinterpret_cast<mysql_show_var_func>(shown.value)(nullptr, &shown, buf) != 0) continue;
    }
    if (shown.type == SHOW_LONGLONG) {
      long long n;
      std::memcpy(&n, shown.value, sizeof n);
      out[v->name] = std::to_string(n);
    } else if (shown.type == SHOW_CHAR) {
      out[v->name] = shown.value;
    } else {
      out[v->name] = "<unexpected type " + std::to_string(shown.type) + ">";
    }
  }
  return out;
}

}  // namespace mysqlh
