// The adapter's own declarations of the MySQL 8.0+/8.4/9.x plugin ABI it
// implements, written from the facts in the project's ABI notes (LP64). The
// host harness has separate declarations (tests/mysql_harness/mysql_abi.h)
// so a mistake here cannot hide itself.
#pragma once

#include <cstddef>

namespace keyring_locker::mysql::abi {

constexpr int kPluginInterfaceVersion = 0x010A;  // accepted by 8.0.2x, 8.4 and 9.x loaders
constexpr int kKeyringPluginType = 10;
constexpr int kKeyringInterfaceVersion = 0x0101;
constexpr int kLicenseGpl = 1;
constexpr unsigned long kPluginOptAllowEarly = 4;
constexpr long kLogServiceVersion = 0x0100;
constexpr long kMallocServiceVersion = 0x0100;
enum LogLevel { kLogError = 0, kLogWarning = 1, kLogInformation = 2 };

struct Thd;  // opaque server type
struct StatusVariable {
  const char* name;
  char* value;
  int type;
  int scope;
};
constexpr int kShowLongLong = 4, kShowChar = 5, kShowFunc = 8, kScopeGlobal = 1;
using ShowFunction = int (*)(Thd*, StatusVariable*, char* buffer);  // buffer: 1024 bytes

struct SystemVariableHeader;
using SysvarCheck = int (*)(Thd*, SystemVariableHeader*, void* save, void* value);
using SysvarUpdate = void (*)(Thd*, SystemVariableHeader*, void* var_ptr, const void* save);
struct StringSystemVariable {
  int flags;
  const char* name;
  const char* comment;
  SysvarCheck check;
  SysvarUpdate update;
  char** value;
  const char* def;
};
constexpr int kVarStr = 0x5, kVarReadOnly = 0x200, kVarMemAlloc = 0x8000;

struct KeyringDescriptor {
  int interface_version;
  bool (*key_store)(const char* key_id, const char* key_type, const char* user_id, const void* key, size_t len);
  bool (*key_fetch)(const char* key_id, char** key_type, const char* user_id, void** key, size_t* len);
  bool (*key_remove)(const char* key_id, const char* user_id);
  bool (*key_generate)(const char* key_id, const char* key_type, const char* user_id, size_t len);
  void (*iterator_init)(void** it);
  void (*iterator_deinit)(void* it);
  bool (*iterator_get_key)(void* it, char* key_id, char* user_id);
};

struct PluginDescriptor {
  int type;
  void* info;
  const char* name;
  const char* author;
  const char* descr;
  int license;
  int (*init)(void* plugin_handle);
  int (*check_uninstall)(void* plugin_handle);
  int (*deinit)(void* plugin_handle);
  unsigned int version;
  StatusVariable* status_vars;
  void** system_vars;
  void* reserved;
  unsigned long flags;
};
static_assert(sizeof(PluginDescriptor) == 112, "MySQL 8.0+ st_mysql_plugin is 112 bytes on LP64");

struct LogService {
  int (*log_message)(void** plugin_handle_ptr, int level, const char* format, ...);
};
struct MallocService {
  void* (*malloc_fn)(unsigned int key, size_t size, int flags);
  void* (*realloc_fn)(unsigned int key, void* ptr, size_t size, int flags);
  void (*claim_fn)(const void* ptr, bool claim);
  void (*free_fn)(void* ptr);
  void* (*memdup_fn)(unsigned int key, const void* from, size_t length, int flags);
  char* (*strdup_fn)(unsigned int key, const char* from, int flags);
  char* (*strndup_fn)(unsigned int key, const char* from, size_t length, int flags);
};

}  // namespace keyring_locker::mysql::abi
