// The host harness's own view of the MySQL server ABI (LP64), written from
// the facts file independently of the adapters' declarations, with every
// stated size and offset checked at compile time. If an adapter disagrees
// with this file, the harness tests fail.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mysqlh {

// ---- st_mysql_plugin (8.0 / 8.4 / 9.x) ----
struct st_mysql_plugin {
  int type;
  void* info;
  const char* name;
  const char* author;
  const char* descr;
  int license;
  int (*init)(void*);
  int (*check_uninstall)(void*);
  int (*deinit)(void*);
  unsigned int version;
  void* status_vars;
  void** system_vars;
  void* __reserved1;
  unsigned long flags;
};
static_assert(sizeof(st_mysql_plugin) == 112, "descriptor is 112 bytes on LP64");
static_assert(offsetof(st_mysql_plugin, info) == 8);
static_assert(offsetof(st_mysql_plugin, license) == 40);
static_assert(offsetof(st_mysql_plugin, init) == 48);
static_assert(offsetof(st_mysql_plugin, check_uninstall) == 56);
static_assert(offsetof(st_mysql_plugin, deinit) == 64);
static_assert(offsetof(st_mysql_plugin, version) == 72);
static_assert(offsetof(st_mysql_plugin, status_vars) == 80);
static_assert(offsetof(st_mysql_plugin, system_vars) == 88);
static_assert(offsetof(st_mysql_plugin, flags) == 104);

constexpr int MYSQL_KEYRING_PLUGIN = 10;
constexpr int MYSQL_KEYRING_INTERFACE_VERSION = 0x0101;
constexpr unsigned long PLUGIN_OPT_NO_INSTALL = 1, PLUGIN_OPT_NO_UNINSTALL = 2, PLUGIN_OPT_ALLOW_EARLY = 4;
// What an 8.0.2x server's loader accepts: not below its own & ~0xFF, same major byte.
constexpr int SERVER_PLUGIN_INTERFACE_VERSION_80 = 0x010A;
constexpr int SERVER_PLUGIN_INTERFACE_VERSION_84 = 0x010B;

struct st_mysql_keyring {
  int interface_version;
  bool (*mysql_key_store)(const char*, const char*, const char*, const void*, size_t);
  bool (*mysql_key_fetch)(const char*, char**, const char*, void**, size_t*);
  bool (*mysql_key_remove)(const char*, const char*);
  bool (*mysql_key_generate)(const char*, const char*, const char*, size_t);
  void (*mysql_key_iterator_init)(void**);
  void (*mysql_key_iterator_deinit)(void*);
  bool (*mysql_key_iterator_get_key)(void*, char*, char*);
};
static_assert(sizeof(bool) == 1);
static_assert(offsetof(st_mysql_keyring, mysql_key_store) == 8);
static_assert(offsetof(st_mysql_keyring, mysql_key_iterator_get_key) == 56);

// ---- system variables ----
constexpr int PLUGIN_VAR_BOOL = 0x1, PLUGIN_VAR_INT = 0x2, PLUGIN_VAR_LONG = 0x3, PLUGIN_VAR_LONGLONG = 0x4,
              PLUGIN_VAR_STR = 0x5, PLUGIN_VAR_ENUM = 0x6, PLUGIN_VAR_SET = 0x7, PLUGIN_VAR_DOUBLE = 0x8;
constexpr int PLUGIN_VAR_TYPEMASK = 0x7F;
constexpr int PLUGIN_VAR_READONLY = 0x200, PLUGIN_VAR_THDLOCAL = 0x100, PLUGIN_VAR_MEMALLOC = 0x8000;
struct sys_var_header {
  int flags;
  const char* name;
  const char* comment;
  void* check;
  void* update;
};
static_assert(sizeof(sys_var_header) == 40);
struct sys_var_str {
  int flags;
  const char* name;
  const char* comment;
  void* check;
  void* update;
  char** value;
  const char* def_val;
};
static_assert(offsetof(sys_var_str, value) == 40);
static_assert(offsetof(sys_var_str, def_val) == 48);

struct sys_var_bool {
  int flags;
  const char* name;
  const char* comment;
  void* check;
  void* update;
  bool* value;
  bool def_val;
};
static_assert(offsetof(sys_var_bool, value) == 40);
static_assert(offsetof(sys_var_bool, def_val) == 48);
struct sys_var_ulong {
  int flags;
  const char* name;
  const char* comment;
  void* check;
  void* update;
  unsigned long* value;
  unsigned long def_val, min_val, max_val, blk_sz;
};
static_assert(offsetof(sys_var_ulong, def_val) == 48);
static_assert(sizeof(sys_var_ulong) == 80);
constexpr int PLUGIN_VAR_NOSYSVAR = 0x400, PLUGIN_VAR_NOCMDOPT = 0x800, PLUGIN_VAR_NOCMDARG = 0x1000,
              PLUGIN_VAR_OPCMDARG = 0x2000, PLUGIN_VAR_NODEFAULT = 0x4000, PLUGIN_VAR_NOPERSIST = 0x10000,
              PLUGIN_VAR_PERSIST_AS_READ_ONLY = 0x20000, PLUGIN_VAR_INVISIBLE = 0x40000,
              PLUGIN_VAR_SENSITIVE = 0x80000;

// ---- status variables ----
struct SHOW_VAR {
  const char* name;
  char* value;
  int type;
  int scope;
};
static_assert(sizeof(SHOW_VAR) == 24);
static_assert(offsetof(SHOW_VAR, type) == 16);
static_assert(offsetof(SHOW_VAR, scope) == 20);
enum enum_mysql_show_type { SHOW_UNDEF, SHOW_BOOL, SHOW_INT, SHOW_LONG, SHOW_LONGLONG, SHOW_CHAR,
                            SHOW_CHAR_PTR, SHOW_ARRAY, SHOW_FUNC, SHOW_DOUBLE };
constexpr int SHOW_SCOPE_GLOBAL = 1;
constexpr size_t SHOW_VAR_FUNC_BUFF_SIZE = 1024;
using mysql_show_var_func = int (*)(void* thd, SHOW_VAR*, char*);

// ---- plugin services ----
constexpr intptr_t VERSION_my_plugin_log_service = 0x0100;
constexpr intptr_t VERSION_mysql_malloc_service = 0x0100;
enum plugin_log_level { MY_ERROR_LEVEL = 0, MY_WARNING_LEVEL = 1, MY_INFORMATION_LEVEL = 2 };
struct my_plugin_log_service_st {
  int (*my_plugin_log_message)(void**, int, const char*, ...);
};
struct mysql_malloc_service_st {
  void* (*mysql_malloc)(unsigned int, size_t, int);
  void* (*mysql_realloc)(unsigned int, void*, size_t, int);
  void (*mysql_claim)(const void*, bool);
  void (*mysql_free)(void*);
  void* (*my_memdup)(unsigned int, const void*, size_t, int);
  char* (*my_strdup)(unsigned int, const char*, int);
  char* (*my_strndup)(unsigned int, const char*, size_t, int);
};
static_assert(sizeof(mysql_malloc_service_st) == 56);
static_assert(offsetof(mysql_malloc_service_st, mysql_free) == 24);
static_assert(sizeof(my_plugin_log_service_st) == 8);

// ---- components ----
using mysql_service_status_t = int;
using my_h_service = void*;
struct mysql_service_ref_t {
  const char* name;
  void* implementation;
};
struct mysql_service_placeholder_ref_t {
  const char* name;
  void** implementation;
};
struct mysql_metadata_ref_t {
  const char* key;
  const char* value;
};
struct mysql_component_t {
  const char* name;
  mysql_service_ref_t* provides;
  mysql_service_placeholder_ref_t* requires_;
  mysql_metadata_ref_t* metadata;
  mysql_service_status_t (*init)();
  mysql_service_status_t (*deinit)();
};
static_assert(sizeof(mysql_component_t) == 48);
static_assert(offsetof(mysql_component_t, init) == 32);
static_assert(sizeof(mysql_service_ref_t) == 16 && sizeof(mysql_service_placeholder_ref_t) == 16 &&
              sizeof(mysql_metadata_ref_t) == 16);
using list_components_func = mysql_component_t* (*)();

struct s_mysql_registry {
  mysql_service_status_t (*acquire)(const char* service_name, my_h_service* out_service);
  mysql_service_status_t (*acquire_related)(const char* service_name, my_h_service service, my_h_service* out);
  mysql_service_status_t (*release)(my_h_service service);
};

using h_reader = void*;
using h_iter = void*;
struct s_keyring_reader_with_status {
  int (*init)(const char* data_id, const char* auth_id, h_reader* reader);
  int (*deinit)(h_reader);
  int (*fetch_length)(h_reader, size_t* data_size, size_t* data_type_size);
  int (*fetch)(h_reader, unsigned char* data, size_t data_len, size_t* data_size, char* type, size_t type_len,
               size_t* type_size);
};
struct s_keyring_writer {
  int (*store)(const char* data_id, const char* auth_id, const unsigned char* data, size_t size, const char* type);
  int (*remove)(const char* data_id, const char* auth_id);
};
struct s_keyring_generator {
  int (*generate)(const char* data_id, const char* auth_id, const char* type, size_t size);
};
struct s_keyring_keys_metadata_iterator {
  int (*init)(h_iter*);
  int (*deinit)(h_iter);
  int (*is_valid)(h_iter);
  int (*next)(h_iter);
  int (*get_length)(h_iter, size_t* id_len, size_t* auth_len);
  int (*get)(h_iter, char* id, size_t id_len, char* auth, size_t auth_len);
};
struct s_keyring_component_status {
  int (*is_initialized)();
};
struct s_keyring_component_metadata_query {
  int (*init)(h_iter*);
  int (*deinit)(h_iter);
  int (*is_valid)(h_iter);
  int (*next)(h_iter);
  int (*get_length)(h_iter, size_t* key_len, size_t* value_len);
  int (*get)(h_iter, char* key, size_t key_len, char* value, size_t value_len);
};
struct s_keyring_load {
  int (*load)(const char* component_path, const char* instance_path);
};
struct s_keyring_aes {
  int (*get_size)(size_t input_length, const char* mode, size_t block_size, size_t* out_size);
  int (*encrypt)(const char* data_id, const char* auth_id, const char* mode, size_t block_size,
                 const unsigned char* iv, int padding, const unsigned char* data_buffer, size_t data_buffer_length,
                 unsigned char* out_buffer, size_t out_buffer_length, size_t* out_length);
  int (*decrypt)(const char* data_id, const char* auth_id, const char* mode, size_t block_size,
                 const unsigned char* iv, int padding, const unsigned char* data_buffer, size_t data_buffer_length,
                 unsigned char* out_buffer, size_t out_buffer_length, size_t* out_length);
};

}  // namespace mysqlh

namespace mysqlh {
// Services are tables of pointers in declaration order: their sizes pin the
// method count the server expects.
static_assert(sizeof(s_keyring_reader_with_status) == 4 * sizeof(void*));
static_assert(sizeof(s_keyring_writer) == 2 * sizeof(void*));
static_assert(sizeof(s_keyring_generator) == 1 * sizeof(void*));
static_assert(sizeof(s_keyring_keys_metadata_iterator) == 6 * sizeof(void*));
static_assert(sizeof(s_keyring_component_status) == 1 * sizeof(void*));
static_assert(sizeof(s_keyring_component_metadata_query) == 6 * sizeof(void*));
static_assert(sizeof(s_keyring_load) == 1 * sizeof(void*));
static_assert(sizeof(s_keyring_aes) == 3 * sizeof(void*));
}  // namespace mysqlh
