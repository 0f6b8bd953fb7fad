// State shared by the plugin's translation units: the one Backend of this
// server process and the KeyGate in front of it. Set by the encryption
// plugin's init before the server calls any entry point, cleared by deinit
// after the last call (the server guarantees both orders).
#pragma once

#include <memory>
#include <string>

#include <mysql/plugin.h>

#include "keyring_backend/backend.h"
#include "plugin/mariadb/key_gate.h"
#include "plugin/mariadb/key_metadata.h"
#include "plugin/mariadb/sysvar_config.h"

namespace keyring_locker::mariadb {

struct PluginState {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KeyGate> gate;
  // Key metadata for SHOW STATUS; null in mariadb-backup. Reset first on
  // deinit: its thread uses the backend.
  std::unique_ptr<KeyMetadata> metadata;
  // mariadb-backup loads the plugin too: it must not create keys or write
  // datadir markers (its working directory is not a server's datadir).
  bool backup_tool = false;
};
PluginState& State();

// plugin_vars.cc
extern struct st_mysql_sys_var* g_system_variables[];
extern struct st_mysql_show_var g_status_variables[];
// The values of the connection variables the user set, and the config file.
SettingValues CollectSettings(std::string* config_file);
// Refuses keyring_locker_rotate_key_id / keyring_locker_refresh set to
// anything but their idle value at start-up (they are SET GLOBAL actions).
Status ActionVariablesAtStartup();

}  // namespace keyring_locker::mariadb
