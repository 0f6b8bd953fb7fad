// The component's one loaded configuration: a Backend plus the MySQL key
// model, replaced as a whole by keyring_load->load (ALTER INSTANCE RELOAD
// KEYRING). Calls hold a shared_ptr, so a reload never pulls the Backend out
// from under a call in flight.
#pragma once

#include <memory>
#include <string>

#include "keyring_backend/backend.h"
#include "plugin/mysql/mysql_key_model.h"
#include "plugin/mysql_component/server_log.h"

namespace keyring_locker::mysql_component {

constexpr const char* kComponentName = "component_keyring_locker";
constexpr const char* kConfigFileName = "component_keyring_locker.cnf";

struct Instance {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<mysql::KeyringOps> ops;
  std::string config_file;
};

std::shared_ptr<Instance> Current();  // null until a load succeeded
// Reads <component_path>/component_keyring_locker.cnf (or the datadir copy
// when it says "read_local_config": true) and opens a new Backend. On
// failure the previous instance, if any, stays in service.
Status Load(const char* component_path, const char* instance_path);
void Unload();  // component deinit

}  // namespace keyring_locker::mysql_component
