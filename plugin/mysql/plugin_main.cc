// keyring_locker as a MySQL keyring plugin (MYSQL_KEYRING_PLUGIN, keyring
// interface 0x0101): the exported descriptor, the server's services, the
// keyring_locker_config system variable and the seven keyring functions.
// Every entry point catches everything: an exception must never unwind into
// mysqld.
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "common/crash_point.h"
#include "common/rfc3339.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/http/operation_deadline.h"
#include "plugin/mysql/plugin_state.h"

#define KLK_EXPORT __attribute__((visibility("default")))

namespace abi = keyring_locker::mysql::abi;

// Service pointers: the server checks the version stored here at dlopen and
// replaces it with its own function table.
extern "C" {
KLK_EXPORT void* my_plugin_log_service = reinterpret_cast<void*>(abi::kLogServiceVersion);
KLK_EXPORT void* mysql_malloc_service = reinterpret_cast<void*>(abi::kMallocServiceVersion);
}

namespace keyring_locker::mysql {
namespace {

void* g_plugin_handle = nullptr;
char* g_config_path = nullptr;  // set by the server from --keyring-locker-config
PluginState* g_state = nullptr;

// Still holding its version number = not replaced by a server (never in mysqld).
bool ServiceSet(void* service) { return reinterpret_cast<uintptr_t>(service) > 0xFFFF; }
abi::MallocService* Malloc() { return static_cast<abi::MallocService*>(mysql_malloc_service); }

}  // namespace

std::shared_mutex& StateMutex() {
  static std::shared_mutex mu;
  return mu;
}
PluginState* State() { return g_state; }

void Log(abi::LogLevel level, const std::string& message) {
  if (ServiceSet(my_plugin_log_service) && g_plugin_handle != nullptr) {
    static_cast<abi::LogService*>(my_plugin_log_service)->log_message(&g_plugin_handle, level, "%s", message.c_str());
  } else {
    // Before the server set the service (or in a tool that loads the
    // plugin without one): the same severity the log line would carry.
    const char* label = level == abi::kLogError ? "Error" : level == abi::kLogWarning ? "Warning" : "Note";
    std::fprintf(stderr, "%s [%s] [keyring_locker] %s\n", NowRfc3339().c_str(), label, message.c_str());
  }
}

namespace {

void LogFailure(const char* what, const Status& s) { Log(abi::kLogError, std::string(what) + ": " + s.ToString()); }

template <typename F>
bool WithOps(const char* what, F&& f) {
  try {
    std::shared_lock<std::shared_mutex> lock(StateMutex());
    if (g_state == nullptr || !g_state->ops) {
      Log(abi::kLogError, std::string(what) + ": keyring_locker is not initialized; check the server log for why it failed to start");
      return true;
    }
    return f(*g_state->ops);
  } catch (const std::exception& e) {
    Log(abi::kLogError, std::string(what) + ": internal error: " + e.what());
    return true;
  } catch (...) {
    Log(abi::kLogError, std::string(what) + ": internal error");
    return true;
  }
}

bool KeyStore(const char* key_id, const char* key_type, const char* user_id, const void* key, size_t len) {
  return WithOps("key_store", [&](KeyringOps& ops) {
    Status s = ops.Store(key_id, key_type, user_id, key, len);
    CrashPoint("mysql.after_store");
    if (!s.ok() && s.code() != Code::kAlreadyExists) LogFailure("storing a key", s);
    return !s.ok();
  });
}

bool KeyGenerate(const char* key_id, const char* key_type, const char* user_id, size_t len) {
  return WithOps("key_generate", [&](KeyringOps& ops) {
    Status s = ops.Generate(key_id, key_type, user_id, len);
    CrashPoint("mysql.after_generate");
    // An existing id is the caller's business (InnoDB probes with
    // DefaultMasterKey and ignores the failure); only locker trouble is logged.
    if (!s.ok() && s.code() != Code::kAlreadyExists) LogFailure("generating a key", s);
    return !s.ok();
  });
}

// Hands a key to the server in memory from its own allocator (it frees both
// with my_free); true on failure, as the plugin API counts.
bool CopyOut(const KeyMaterial& k, char** key_type, void** key, size_t* len) {
  if (!ServiceSet(mysql_malloc_service)) return true;
  const crypto::SecureBuffer& bytes = k.bytes;
  void* out = Malloc()->malloc_fn(0, bytes.size(), 0);
  char* type = Malloc()->strdup_fn(0, k.type.c_str(), 0);
  if (out == nullptr || type == nullptr) {
    if (out != nullptr) Malloc()->free_fn(out);
    if (type != nullptr) Malloc()->free_fn(type);
    Log(abi::kLogError, "fetching a key: the server could not allocate memory");
    return true;
  }
  std::memcpy(out, bytes.data(), bytes.size());
  *key = out;
  *key_type = type;
  *len = bytes.size();
  return false;
}

bool KeyFetch(const char* key_id, char** key_type, const char* user_id, void** key, size_t* len) {
  if (key == nullptr || len == nullptr || key_type == nullptr) return true;
  *key = nullptr;
  *key_type = nullptr;
  *len = 0;
  // The daemon proxy's health probe: answer "works, no such key" without I/O.
  if (key_id != nullptr && user_id == nullptr && std::strcmp(key_id, kHealthProbeId) == 0) {
    std::shared_lock<std::shared_mutex> lock(StateMutex());
    return g_state == nullptr;
  }
  return WithOps("key_fetch", [&](KeyringOps& ops) {
    // A key in memory is copied out under the cache's shared lock: InnoDB
    // and the binlog fetch the same few keys over and over.
    bool failed = false;
    if (ops.WithCached(key_id, user_id, [&](const KeyMaterial& k) { failed = CopyOut(k, key_type, key, len); })) {
      return failed;
    }
    auto k = ops.Fetch(key_id, user_id);
    if (!k.ok()) {
      if (k.status().code() == Code::kNotFound) return false;  // absent: 0 with *key NULL
      LogFailure("fetching a key", k.status());
      return true;
    }
    return CopyOut(**k, key_type, key, len);
  });
}

bool KeyRemove(const char* key_id, const char* user_id) {
  return WithOps("key_remove", [&](KeyringOps& ops) {
    Status s = ops.Remove(key_id, user_id);
    CrashPoint("mysql.after_remove");
    // Removing an absent key is a success, as the keyring component
    // services define it: the binlog removes bookkeeping keys it may not have written.
    if (s.code() == Code::kNotFound) return false;
    if (!s.ok()) LogFailure("removing a key", s);
    return !s.ok();
  });
}

struct KeyIterator {
  std::vector<KeyIdentity> keys;
  size_t next = 0;
};

void IteratorInit(void** it) {
  if (it == nullptr) return;
  *it = nullptr;
  WithOps("iterator_init", [&](KeyringOps& ops) {
    auto list = ops.List();
    if (!list.ok()) {
      LogFailure("listing keys", list.status());
      return true;
    }
    *it = new KeyIterator{std::move(list).value(), 0};
    return false;
  });
}

void IteratorDeinit(void* it) { delete static_cast<KeyIterator*>(it); }

bool IteratorGetKey(void* it, char* key_id, char* user_id) {
  auto* iter = static_cast<KeyIterator*>(it);
  if (iter == nullptr || key_id == nullptr || user_id == nullptr || iter->next >= iter->keys.size()) return true;
  const KeyIdentity& k = iter->keys[iter->next++];
  // KeyringOps::List only returns ids within kMaxIdLength, the buffer size.
  std::memcpy(key_id, k.key_id.c_str(), k.key_id.size() + 1);
  std::memcpy(user_id, k.user_id.c_str(), k.user_id.size() + 1);
  return false;
}

// SecureBuffer's observer: one warning at the 1st, 10th, 100th ... failed
// mlock (key memory that may be swapped out must not go unnoticed).
void WarnUnlockedMemory(const crypto::MemoryLockStats& stats) noexcept {
  try {
    Log(abi::kLogWarning, crypto::UnlockedMemoryWarning(stats, "mysql"));
  } catch (...) {
  }
}

int PluginInit(void* handle) {
  try {
    std::unique_lock<std::shared_mutex> lock(StateMutex());
    g_plugin_handle = handle;
    crypto::SetMlockObserver(&WarnUnlockedMemory);  // before the first key buffer
    if (g_config_path == nullptr || *g_config_path == '\0') {
      Log(abi::kLogError, "keyring_locker_config is not set; start mysqld with --keyring-locker-config=/path/to/keyring_locker.json");
      return 1;
    }
    auto config = LoadConfigFile(g_config_path);
    if (!config.ok()) {
      LogFailure("reading keyring_locker_config", config.status());
      return 1;
    }
    for (const auto& w : config->warnings) Log(abi::kLogWarning, w);
    Log(abi::kLogInformation, "starting with " + DescribeConfig(*config));
    // A locker that is briefly down must not keep mysqld from starting: the
    // backend keeps retrying and keys are served as soon as it answers. The
    // whole open (login, mount checks, the scope's versions) shares one
    // timeouts.total_ms: a slow locker delays the start by one budget at most.
    OperationDeadline startup(config->call_budget());
    auto backend = Backend::Open(*config, /*require_locker=*/false);
    if (!backend.ok()) {
      LogFailure("opening the locker", backend.status());
      return 1;
    }
    for (const auto& w : (*backend)->warnings()) Log(abi::kLogWarning, w);
    const std::string last_error = (*backend)->status().keys.last_error;
    if (!last_error.empty()) Log(abi::kLogWarning, "not everything was read from the locker at start (keys are served once it answers): " + last_error);
    auto state = std::make_unique<PluginState>();
    state->backend = std::move(backend).value();
    state->ops = std::make_unique<KeyringOps>(state->backend->keys());
    g_state = state.release();
    Log(abi::kLogInformation, "ready: " + g_state->backend->status().locker);
    return 0;
  } catch (const std::exception& e) {
    Log(abi::kLogError, std::string("init failed: internal error: ") + e.what());
    return 1;
  } catch (...) {
    return 1;
  }
}

int PluginDeinit(void*) {
  try {
    std::unique_lock<std::shared_mutex> lock(StateMutex());
    delete g_state;  // stops the renewal and refresh threads before dlclose
    g_state = nullptr;
    crypto::SetMlockObserver(nullptr);
    return 0;
  } catch (...) {
    return 1;
  }
}

int PluginCheckUninstall(void*) { return 0; }

abi::KeyringDescriptor g_keyring = {abi::kKeyringInterfaceVersion, KeyStore, KeyFetch, KeyRemove, KeyGenerate,
                                    IteratorInit, IteratorDeinit, IteratorGetKey};

abi::StringSystemVariable g_config_var = {
    abi::kVarStr | abi::kVarReadOnly | abi::kVarMemAlloc, "config",
    "Path of the keyring_locker JSON configuration file (locker address, authentication, key scope)",
    nullptr, nullptr, &g_config_path, ""};
void* g_system_vars[] = {&g_config_var, nullptr};

}  // namespace
}  // namespace keyring_locker::mysql

namespace klm = keyring_locker::mysql;

extern "C" {
KLK_EXPORT int _mysql_plugin_interface_version_ = abi::kPluginInterfaceVersion;
KLK_EXPORT int _mysql_sizeof_struct_st_plugin_ = sizeof(abi::PluginDescriptor);
KLK_EXPORT abi::PluginDescriptor _mysql_plugin_declarations_[] = {
    {abi::kKeyringPluginType, &klm::g_keyring, "keyring_locker", "keyring_locker authors",
     "Keeps InnoDB and binlog master keys in HashiCorp Vault / OpenBao (KV v2 + Transit)", abi::kLicenseGpl,
     klm::PluginInit, klm::PluginCheckUninstall, klm::PluginDeinit, 0x0001, klm::kStatusVariables,
     klm::g_system_vars, nullptr, abi::kPluginOptAllowEarly},
    {0, nullptr, nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, 0}};
}  // extern "C"
