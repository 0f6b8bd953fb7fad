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
