// keyring_locker for MariaDB: the encryption plugin's lifecycle and its two
// key entry points. Every function the server calls catches everything: a C++
// exception crossing into mariadbd would terminate the server.
#include <mysql/plugin_encryption.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "common/crash_point.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/config/config.h"
#include "plugin/mariadb/datadir_marker.h"
#include "plugin/mariadb/local_files.h"
#include "plugin/mariadb/plugin_start.h"
#include "plugin/mariadb/plugin_state.h"
#include "plugin/mariadb/server_log.h"

static_assert(keyring_locker::mariadb::kKeyVersionInvalid == ENCRYPTION_KEY_VERSION_INVALID, "ABI constant");
static_assert(keyring_locker::mariadb::kKeyBufferTooSmall == ENCRYPTION_KEY_BUFFER_TOO_SMALL, "ABI constant");

namespace keyring_locker::mariadb {

PluginState& State() {
  static PluginState state;
  return state;
}

namespace {

bool IsBackupTool() {
  const std::string me = program_invocation_short_name;
  return me.find("backup") != std::string::npos;
}

// `mariabackup --mysqld ...` (what --prepare --export starts) runs the
// server's own main: the server's message hook and error log are in place.
// Every other mariabackup mode prints through my_message_stderr.
bool BackupToolRunsServerMain() {
  std::FILE* f = std::fopen("/proc/self/cmdline", "rb");
  if (f == nullptr) return false;
  char buf[4096] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const size_t first_end = strnlen(buf, n);  // argv[0] ends at the first NUL
  return first_end + 1 < n && std::strcmp(buf + first_end + 1, "--mysqld") == 0;
}

void LogMultiline(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) LogNote(text.substr(start, nl - start));
    start = nl + 1;
  }
}

// The server's working directory is its datadir while plugins initialize;
// messages name the marker by absolute path so operators find it.
std::string MarkerPath() {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return kMarkerFileName;
  return std::string(cwd) + "/" + kMarkerFileName;
}

const char* DescribeSource(CreatePolicySource source) {
  switch (source) {
    case CreatePolicySource::kConfigured: return "set";
    case CreatePolicySource::kNewInstallation: return "default of a new installation: the ids MariaDB itself needs";
    case CreatePolicySource::kExisting: return "default of an installation older than this option";
  }
  return "";
}

// SecureBuffer's observer: one warning at the 1st, 10th, 100th ... failed
// mlock, so unlocked key memory is never silent and never floods the log.
void WarnUnlockedMemory(const crypto::MemoryLockStats& stats) noexcept {
  try {
    LogWarning(crypto::UnlockedMemoryWarning(stats, "mariadb"));
  } catch (...) {
    // Out of memory while formatting: the status variables still tell.
  }
}

int InitEncryption(void*) {
  try {
    crypto::SetMlockObserver(&WarnUnlockedMemory);  // before the first key buffer
    PluginState& st = State();
    st.backup_tool = IsBackupTool();
    SetLogRoute(st.backup_tool && !BackupToolRunsServerMain() ? LogRoute::kConsole : LogRoute::kServerLog);
    std::string config_file;
    SettingValues values = CollectSettings(&config_file);
    UseVariableNamesInMessages(config_file.empty());
    if (Status actions = ActionVariablesAtStartup(); !actions.ok()) {
      LogError("configuration rejected: " + actions.message());
      return 1;
    }
    auto config = BuildConfig(config_file, values);
    if (!config.ok()) {
      LogError("configuration rejected: " + config.status().message());
      return 1;
    }
    for (const auto& w : config->warnings) LogWarning(w);
    LogMultiline(DescribeConfig(*config));

    // The locker must answer at startup: the server is about to read
    // encrypted redo and pages, and no key has been cached yet. Login, mount
    // checks, binding the datadir and keys 1 and 2 end within one
    // timeouts.total_ms, so a hanging or crawling locker fails the start
    // after one budget, never after one per step. The scope-wide reads
    // (versions, metadata) come last, in what is left of it, and may be cut:
    // they grow with the scope, and a healthy locker must not fail the start
    // for it.
    OperationDeadline startup(config->call_budget());
    config->keys.rules.server = KeyServer::kMariaDb;  // AES 16/24/32 only: InnoDB aborts on anything else
    // Files on this host first: their problems are fixed here, not at the locker.
    const std::string local = LocalFileProblem(*config);
    if (!local.empty()) {
      LogError(LocalStartFailure(local, st.backup_tool ? kRetryBackup : kRetryServer));
      return 1;
    }
    const PluginOptions options = CollectPluginOptions();
    st.status_per_key = options.status_per_key;
    StartOptions start;
    start.datadir_marker = MarkerPath();
    start.backup_tool = st.backup_tool;
    start.log_note = [](const std::string& m) { LogNote(m); };
    start.log_warning = [](const std::string& m) { LogWarning(m); };
    start.log_error = [](const std::string& m) { LogError(m); };
    start.create_keys = options.create_keys;
    start.create_keys_max = options.create_keys_max;
    start.client_warning = [](const std::string& m, bool also_log) { StatementWarning(m, also_log); };
    start.on_new_version = [] {
      if (KeyMetadata* meta = State().metadata.get()) meta->RequestRefresh();
    };
    auto started = StartKeys(*config, start);
    if (!started.ok()) {
      LogError(started.status().message());
      return 1;
    }
    st.backend = std::move(started->backend);
    st.gate = std::move(started->gate);
    st.metadata = std::move(started->metadata);
    const CreatePolicyChoice& creating = started->creating;
    if (!st.backup_tool) {
      if (!creating.warning.empty()) LogWarning(creating.warning);
      LogNote("keys created on first use: keyring_locker_create_keys=" + creating.policy.Describe() + " (" +
              DescribeSource(creating.source) + "), keyring_locker_create_keys_max=" +
              std::to_string(options.create_keys_max) + (options.create_keys_max == 0 ? " (no cap)" : ""));
      st.probe = std::make_unique<RecoveryProbe>(&st.backend->keys(), "1", std::chrono::seconds(1));
    }
    ShowCreateKeysInForce(creating.policy.Describe());
    LogNote("ready: " + st.backend->Describe() +
            (st.backup_tool ? " (backup tool: existing keys only)" : ""));
    return 0;
  } catch (const std::exception& e) {
    LogError(std::string("initialization failed with an internal error: ") + e.what());
  } catch (...) {
    LogError("initialization failed with an unknown internal error");
  }
  State().metadata.reset();
  State().probe.reset();
  State().gate.reset();
  State().backend.reset();
  return 1;
}

int DeinitEncryption(void*) {
  try {
    State().metadata.reset();  // joins its listing thread before the backend goes
    State().probe.reset();
    State().gate.reset();
    State().backend.reset();  // joins the renewal and refresh threads
    crypto::SetMlockObserver(nullptr);
  } catch (...) {
    // Nothing useful to do during shutdown; never let it escape.
  }
  return 0;
}

unsigned GetLatestKeyVersion(unsigned key_id) {
  try {
    KeyGate* gate = State().gate.get();
    return gate ? gate->LatestVersion(key_id) : ENCRYPTION_KEY_VERSION_INVALID;
  } catch (const std::exception& e) {
    LogError(std::string("get_latest_key_version: internal error: ") + e.what());
  } catch (...) {
    LogError("get_latest_key_version: unknown internal error");
  }
  return ENCRYPTION_KEY_VERSION_INVALID;
}

unsigned GetKey(unsigned key_id, unsigned version, unsigned char* key, unsigned* key_length) {
  try {
    KeyGate* gate = State().gate.get();
    return gate ? gate->GetKey(key_id, version, key, key_length) : ENCRYPTION_KEY_VERSION_INVALID;
  } catch (const std::exception& e) {
    LogError(std::string("get_key: internal error: ") + e.what());
  } catch (...) {
    LogError("get_key: unknown internal error");
  }
  return ENCRYPTION_KEY_VERSION_INVALID;
}

struct st_mariadb_encryption encryption_descriptor = {
    MariaDB_ENCRYPTION_INTERFACE_VERSION,
    GetLatestKeyVersion,
    GetKey,
    // No crypt_ctx_* / encrypted_length: the server's own AES (OpenSSL) is used.
    nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace
}  // namespace keyring_locker::mariadb

#pragma GCC visibility push(default)
maria_declare_plugin(keyring_locker){
    MariaDB_ENCRYPTION_PLUGIN,
    &keyring_locker::mariadb::encryption_descriptor,
    "keyring_locker",
    "keyring_locker authors",
    "Keeps InnoDB/Aria encryption keys in HashiCorp Vault / OpenBao (KV v2 + Transit) over verified TLS",
    PLUGIN_LICENSE_GPL,
    keyring_locker::mariadb::InitEncryption,
    keyring_locker::mariadb::DeinitEncryption,
    0x0001,
    keyring_locker::mariadb::g_status_variables,
    keyring_locker::mariadb::g_system_variables,
    "0.1.0",
    // New code, exercised by its own test suite but not yet by production
    // users: gamma, the lowest level a release server loads by default.
    MariaDB_PLUGIN_MATURITY_GAMMA} maria_declare_plugin_end;
#pragma GCC visibility pop
