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
#include "plugin/mariadb/recovery_probe.h"
#include "plugin/mariadb/sysvar_config.h"

namespace keyring_locker::mariadb {

struct PluginState {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KeyGate> gate;
  // Key metadata for SHOW STATUS; null in mariadb-backup. Reset first on
  // deinit: its thread uses the backend.
  std::unique_ptr<KeyMetadata> metadata;
  // Notices the locker answering again after an outage; null in
  // mariadb-backup. Reset before the backend (its thread uses it).
  std::unique_ptr<RecoveryProbe> probe;
  // keyring_locker_status_per_key: one SHOW STATUS row per key version.
  bool status_per_key = false;
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
// The variables that say what the plugin does (create_policy.h, status rows).
struct PluginOptions {
  std::string create_keys;  // empty = not set
  unsigned long create_keys_max = 0;
  bool status_per_key = false;
};
PluginOptions CollectPluginOptions();
// SHOW VARIABLES LIKE 'keyring_locker_create_keys' then shows `policy`.
void ShowCreateKeysInForce(const std::string& policy);
// Refuses keyring_locker_rotate_key_id / keyring_locker_refresh set to
// anything but their idle value at start-up (they are SET GLOBAL actions).
Status ActionVariablesAtStartup();

}  // namespace keyring_locker::mariadb
