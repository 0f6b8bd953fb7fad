// The adapter's declarations of the MySQL component ABI and the eight
// keyring services it provides (8.0.24+, 8.4, 9.x; LP64), written from the
// project's ABI notes. The harness checks them against its own copy.
#pragma once

#include <cstddef>

namespace keyring_locker::mysql_component::abi {

using ServiceStatus = int;  // 0 = success (or "false" for bool-style methods)
using Handle = void*;

struct ServiceRef {
  const char* name;
  void* implementation;
};
struct PlaceholderRef {
  const char* name;
  void** implementation;
};
struct MetadataRef {
  const char* key;
  const char* value;
};
struct Component {
  const char* name;
  ServiceRef* provides;
  PlaceholderRef* requires_;
  MetadataRef* metadata;
  ServiceStatus (*init)();
  ServiceStatus (*deinit)();
};

struct ReaderWithStatus {
  ServiceStatus (*init)(const char* data_id, const char* auth_id, Handle* reader);
  ServiceStatus (*deinit)(Handle reader);
  ServiceStatus (*fetch_length)(Handle reader, size_t* data_size, size_t* data_type_size);
  ServiceStatus (*fetch)(Handle reader, unsigned char* data, size_t data_buffer_length, size_t* data_size,
                         char* data_type, size_t data_type_buffer_length, size_t* data_type_size);
};
struct Writer {
  ServiceStatus (*store)(const char* data_id, const char* auth_id, const unsigned char* data, size_t data_size,
                         const char* data_type);
  ServiceStatus (*remove)(const char* data_id, const char* auth_id);
};
struct Generator {
  ServiceStatus (*generate)(const char* data_id, const char* auth_id, const char* data_type, size_t data_size);
};
struct KeysMetadataIterator {
  ServiceStatus (*init)(Handle* it);
  ServiceStatus (*deinit)(Handle it);
  ServiceStatus (*is_valid)(Handle it);  // 1 = valid
  ServiceStatus (*next)(Handle it);      // non-zero once past the end
  ServiceStatus (*get_length)(Handle it, size_t* data_id_length, size_t* auth_id_length);
  ServiceStatus (*get)(Handle it, char* data_id, size_t data_id_length, char* auth_id, size_t auth_id_length);
};
struct ComponentStatus {
  ServiceStatus (*is_initialized)();  // 1 = initialized
};
struct MetadataQuery {
  ServiceStatus (*init)(Handle* it);
  ServiceStatus (*deinit)(Handle it);
  ServiceStatus (*is_valid)(Handle it);
  ServiceStatus (*next)(Handle it);
  ServiceStatus (*get_length)(Handle it, size_t* key_length, size_t* value_length);
  ServiceStatus (*get)(Handle it, char* key, size_t key_length, char* value, size_t value_length);
};
struct Load {
  ServiceStatus (*load)(const char* component_path, const char* instance_path);
};
struct Aes {
  ServiceStatus (*get_size)(size_t input_length, const char* mode, size_t block_size, size_t* out_size);
  ServiceStatus (*encrypt)(const char* data_id, const char* auth_id, const char* mode, size_t block_size,
                           const unsigned char* iv, int padding, const unsigned char* data_buffer,
                           size_t data_buffer_length, unsigned char* out_buffer, size_t out_buffer_length,
                           size_t* out_length);
  ServiceStatus (*decrypt)(const char* data_id, const char* auth_id, const char* mode, size_t block_size,
                           const unsigned char* iv, int padding, const unsigned char* data_buffer,
                           size_t data_buffer_length, unsigned char* out_buffer, size_t out_buffer_length,
                           size_t* out_length);
};

}  // namespace keyring_locker::mysql_component::abi

// ---- services the component asks the registry for ----
namespace keyring_locker::mysql_component::abi {

// "registry" (the component's one "requires" entry).
struct Registry {
  ServiceStatus (*acquire)(const char* service_name, Handle* out_service);
  ServiceStatus (*acquire_related)(const char* service_name, Handle service, Handle* out_service);
  ServiceStatus (*release)(Handle service);
};

// "component_sys_variable_register": only get_variable is called, to read
// the server's "version" (component "mysql_server"): *value points at the
// caller's buffer, *length is its size in and the value's length out. Both
// methods are DECLARE_BOOL_METHOD, which returns mysql_service_status_t (an
// int, 0 = success), not a C++ bool: a bool would read only the low byte.
struct SysVariableRegister {
  ServiceStatus (*register_variable)();  // not called (its arguments are not written down here)
  ServiceStatus (*get_variable)(const char* component_name, const char* name, void** value, size_t* length);
};

// "log_builtins": the server's structured error log. Its method table grew
// between releases (8.4.8 and 9.3 have line_set_flag after item_set_cstring), so
// the component never takes one fixed struct for it: it calls by slot, with
// the slot numbers of the server it runs in (server_log.cc).
using LogItemType = unsigned int;  // enum_log_item_type, one bit each
constexpr LogItemType kLogItemSqlErrcode = 1u << 1;
constexpr LogItemType kLogItemSrvSubsys = 1u << 9;
constexpr LogItemType kLogItemSrvComponent = 1u << 10;
constexpr LogItemType kLogItemLogPrio = 1u << 16;
constexpr LogItemType kLogItemLogMessage = 1u << 19;
// enum loglevel
constexpr long long kErrorLevel = 1;
constexpr long long kWarningLevel = 2;
constexpr long long kInformationLevel = 3;

using LogLine = void;      // opaque log_line
using LogItemData = void;  // opaque log_item_data
using LogItemSetInt = bool (*)(LogItemData*, long long);
using LogItemSetCstring = bool (*)(LogItemData*, const char*);
using LogLineItemSet = LogItemData* (*)(LogLine*, LogItemType);
using LogLineInit = LogLine* (*)();
using LogLineExit = void (*)(LogLine*);
using LogLineSubmit = int (*)(LogLine*);
using LogErrcodeBySymbol = long long (*)(const char*);

}  // namespace keyring_locker::mysql_component::abi
