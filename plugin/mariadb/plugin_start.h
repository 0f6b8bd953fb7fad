// The MariaDB plugin's start, server-independent so the request-budget
// tests (tests/integration/limits_request_budget_test.cc) run exactly what
// the plugin runs: open the backend (login, mount checks), bind the datadir
// and make sure keys 1 and 2 exist and can be unwrapped, read the scope's
// latest versions, then the first key metadata snapshot for SHOW STATUS.
// Everything from the login to keys 1 and 2 ends within one
// timeouts.total_ms (the caller's OperationDeadline); the scope-wide reads
// come last, in what is left, and may be cut (the background threads then
// finish them).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/config/config.h"
#include "plugin/mariadb/create_policy.h"
#include "plugin/mariadb/key_gate.h"
#include "plugin/mariadb/key_metadata.h"

namespace keyring_locker::mariadb {

struct StartOptions {
  // Absolute path of the datadir marker (datadir_marker.h).
  std::string datadir_marker;
  // mariadb-backup: no keys created, no marker written, no metadata.
  bool backup_tool = false;
  std::function<void(const std::string&)> log_note;
  std::function<void(const std::string&)> log_warning;
  std::function<void(const std::string&)> log_error;  // the gate's (KeyGate's logger)
  // KeyGateOptions::on_new_version.
  std::function<void()> on_new_version;
  // keyring_locker_create_keys as set ("" = the default, create_policy.h)
  // and keyring_locker_create_keys_max (0 = no cap).
  std::string create_keys;
  uint64_t create_keys_max = 0;
  // KeyGateOptions::client_warning: the cause, on the client's statement.
  std::function<void(const std::string&, bool also_log)> client_warning;
};

struct StartedKeys {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<KeyGate> gate;
  std::unique_ptr<KeyMetadata> metadata;  // null for the backup tool
  CreatePolicyChoice creating;            // Off for the backup tool
};

// An error's message is what to log ("refusing to start: ..." included).
// `config` must already say KeyServer::kMariaDb.
StatusOr<StartedKeys> StartKeys(const Config& config, const StartOptions& options);

}  // namespace keyring_locker::mariadb
