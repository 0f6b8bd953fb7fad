// keyring_locker for MariaDB: the encryption plugin's lifecycle and its two
// key entry points. Every function the server calls catches everything: a C++
// exception crossing into mariadbd would terminate the server.
#include <mysql/plugin_encryption.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

#include "common/crash_point.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/config/config.h"
#include "plugin/mariadb/datadir_marker.h"
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

// Binds the datadir to the scope (datadir_marker.h), decides which key ids
// the plugin may create (create_policy.h: the marker records whether this
// datadir was a new installation) and makes sure keys 1 and 2 exist.
Status BindDatadir(Backend& backend, const std::string& configured_create_keys, CreatePolicyChoice* choice) {
  ScopeIdentity id = ScopeIdentity::From(backend.keys().Identity());
  const std::string marker = MarkerPath();
  auto names = backend.keys().ListNames();
  if (!names.ok()) return names.status().Annotate("listing the keys of " + id.Describe());
  bool write_marker = false;
  std::string recorded;
  RETURN_IF_ERROR(CheckMarker(marker, id, !names->empty(), &write_marker, &recorded));
  // Keys 1 and 2 alone are what a first start that stopped before writing
  // its marker leaves behind: still a new installation.
  const bool other_keys = std::any_of(names->begin(), names->end(),
                                      [](const std::string& n) { return n != "1" && n != "2"; });
  const bool new_installation = write_marker && !other_keys;
  ASSIGN_OR_RETURN(*choice, ChooseCreatePolicy({configured_create_keys, recorded, write_marker, other_keys}));
  // Key 1 encrypts system data (redo, binlog, Aria), key 2 temporary data;
  // InnoDB asks for both right after plugin init.
  for (unsigned key_id : {1u, 2u}) {
    const std::string name = std::to_string(key_id);
    auto latest = backend.keys().LatestVersionFromLocker(name);
    if (!latest.ok()) return latest.status().Annotate("reading the versions of key " + name);
    if (*latest != 0) continue;
    if (!choice->policy.Allows(key_id)) {
      return FailedPrecondition("key " + name + " (MariaDB's " + (key_id == 1 ? "system data" : "temporary data") +
                                " key) is not in the locker and keyring_locker_create_keys=" +
                                choice->policy.Describe() + " does not allow creating it; create it with "
                                "'keyring-locker --config FILE ensure " + name + "' or allow ids 1-2");
    }
    auto v = backend.keys().EnsureKey(name);
    if (!v.ok()) return v.status().Annotate("creating key " + name);
    LogNote("created key " + name + " version " + std::to_string(*v) + " in the locker: created at the server's "
            "start (MariaDB needs keys 1 and 2)");
  }
  if (write_marker) {
    if (new_installation) id.create_keys_default = kServerKeyIds;
    CrashPoint("bind.before_marker");
    RETURN_IF_ERROR(WriteMarker(marker, id));
    CrashPoint("marker.after_rename");
    LogNote("bound this datadir to " + id.Describe() + " (" + marker + " written)");
  }
  return Status::Ok();
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
    std::string config_file;
    SettingValues values = CollectSettings(&config_file);
    UseVariableNamesInMessages(config_file.empty());
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
    auto backend = Backend::Open(*config, /*require_locker=*/true, /*read_versions=*/false);
    if (!backend.ok()) {
      LogError("cannot start without the locker, nothing was written: " + backend.status().ToString() +
               " -- fix the problem named here (or wait until the locker is reachable and unsealed), then "
               "start the server again");
      return 1;
    }
    for (const auto& w : (*backend)->warnings()) LogWarning(w);
    (*backend)->keys().SetRecoveryObserver([](const std::string& m) { LogNote(m); });
    const PluginOptions options = CollectPluginOptions();
    st.status_per_key = options.status_per_key;
    CreatePolicyChoice creating;
    creating.policy = CreatePolicy::Off();
    if (!st.backup_tool) {
      Status bound = BindDatadir(**backend, options.create_keys, &creating);
      if (!bound.ok()) {
        LogError("refusing to start: " + bound.ToString());
        return 1;
      }
      if (!creating.warning.empty()) LogWarning(creating.warning);
      LogNote("keys created on first use: keyring_locker_create_keys=" + creating.policy.Describe() + " (" +
              DescribeSource(creating.source) + "), keyring_locker_create_keys_max=" +
              std::to_string(options.create_keys_max) + (options.create_keys_max == 0 ? " (no cap)" : ""));
    }
    ShowCreateKeysInForce(creating.policy.Describe());
    st.backend = std::move(*backend);
    KeyGateOptions gate;
    gate.create_missing = !st.backup_tool;
    gate.create_policy = creating.policy;
    gate.create_max = options.create_keys_max;
    gate.log_created = [](const std::string& m) { LogNote(m); };
    gate.client_warning = [](const std::string& m, bool also_log) { StatementWarning(m, also_log); };
    gate.on_new_version = [] {
      if (KeyMetadata* meta = State().metadata.get()) meta->RequestRefresh();
    };
    st.gate = std::make_unique<KeyGate>(&st.backend->keys(), gate, [](const std::string& m) { LogError(m); });
    // Fetch (and unwrap) keys 1 and 2 now: InnoDB needs them right after
    // init, and a missing Transit decrypt right or a flaky network should
    // stop the start here, with the reason, not fail a page write later.
    if (!st.backup_tool) {
      for (unsigned id : {1u, 2u}) {
        if (st.gate->LatestVersion(id) == ENCRYPTION_KEY_VERSION_INVALID) {
          LogError("refusing to start: key " + std::to_string(id) +
                   " cannot be read from the locker (the reason is logged above)");
          st.gate.reset();
          st.backend.reset();
          return 1;
        }
      }
    }
    const Status versions = st.backend->keys().RefreshVersions(Sweep::kPerRequest);  // bounded by `startup`
    const bool versions_cut = versions.code() == Code::kDeadlineExceeded;
    if (versions_cut) {
      LogWarning("the latest versions of this scope's keys were not all read within the start's budget "
                 "(timeouts.total_ms=" + std::to_string(config->call_budget().count()) + "); the server "
                 "starts anyway: the background thread reads them now, and until then the first use of a key "
                 "not read yet asks the locker within one budget. Nothing to fix unless key lookups time out "
                 "too (then check the locker's speed). Cause: " + versions.ToString());
      st.backend->keys().RefreshSoon();
    } else if (!versions.ok()) {
      LogError("refusing to start: reading the latest versions of the scope's keys failed: " + versions.ToString());
      st.gate.reset();
      st.backend.reset();
      return 1;
    }
    if (!st.backup_tool) {
      st.probe = std::make_unique<RecoveryProbe>(&st.backend->keys(), "1", std::chrono::seconds(1));
      st.metadata = std::make_unique<KeyMetadata>(&st.backend->keys(), st.backend->Describe(),
                                                  st.backend->config().cache.version_refresh);
      // 1+N+V requests in what is left of the budget; when they do not fit
      // (a large scope, or the version read was already cut) the background
      // thread lists them: expected, so no warning.
      Status listed = st.metadata->RefreshOrHandOver();
      if (!listed.ok() && listed.code() != Code::kDeadlineExceeded) {
        LogWarning("key metadata for SHOW STATUS LIKE 'keyring_locker_key\\_%' could not be listed: " +
                   listed.ToString() + "; keys are served normally and the background thread lists them "
                   "now and every keyring_locker_version_refresh_s seconds");
      }
    }
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
