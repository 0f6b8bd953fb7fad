// State shared by the keyring plugin's source files: the one Backend the
// plugin holds between init() and deinit(), and logging to the server.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "keyring_backend/backend.h"
#include "plugin/mysql/mysql_key_model.h"
#include "plugin/mysql/mysql_plugin_abi.h"

namespace keyring_locker::mysql {

struct PluginState {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KeyringOps> ops;
};

// Keyring calls hold the lock shared; init/deinit hold it exclusively, so a
// call never sees a half-built or destroyed Backend.
std::shared_mutex& StateMutex();
PluginState* State();  // null before init / after deinit; read under StateMutex()

// Through my_plugin_log_service once the server has set it, else stderr.
void Log(abi::LogLevel level, const std::string& message);

extern abi::StatusVariable kStatusVariables[];

}  // namespace keyring_locker::mysql
