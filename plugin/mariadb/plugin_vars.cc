// keyring_locker_* system variables (read-only connection settings, plus two
// actions: rotate_key_id and refresh) and status variables.
#include <climits>
#include <exception>
#include <string>
#include <vector>

#include "common/crash_point.h"
#include "plugin/mariadb/plugin_state.h"
#include "plugin/mariadb/server_log.h"

namespace keyring_locker::mariadb {
namespace {

constexpr int kRO = PLUGIN_VAR_RQCMDARG | PLUGIN_VAR_READONLY;

// String settings: storage and declaration in one macro. The suffixes must
// match SettingSpecs() (sysvar_config.cc); SettingsToJson refuses unknown
// ones, so a mismatch fails the first start that sets the variable.
#define KLK_STR(name, comment)  \
  char* opt_##name = nullptr;   \
  MYSQL_SYSVAR_STR(name, opt_##name, kRO, comment, nullptr, nullptr, nullptr)

char* opt_config_file = nullptr;
MYSQL_SYSVAR_STR(config_file, opt_config_file, kRO,
                 "Path of the keyring_locker JSON config file (docs/configuration.md). When set, leave the "
                 "other connection variables unset.",
                 nullptr, nullptr, nullptr);
KLK_STR(urls, "Locker URLs, comma-separated, https:// only, tried in order");
KLK_STR(namespace, "Vault Enterprise / OpenBao namespace (empty = none)");
KLK_STR(kv_mount, "KV mount holding the key documents (default secret)");
KLK_STR(kv_version, "KV engine version: auto, 1 or 2 (default auto)");
KLK_STR(transit_mount, "Transit mount holding the key-encryption key (default transit)");
KLK_STR(transit_key, "Transit key name (default keyring_locker)");
KLK_STR(key_prefix, "Path prefix of all keyring_locker documents in the KV mount (default keyring_locker)");
KLK_STR(scope, "Key scope, e.g. prod/db1: servers sharing a scope share keys (required)");
KLK_STR(auth_method, "token, approle or cert");
KLK_STR(token_file, "File holding the locker token (mode 0600); the token itself is never a variable");
KLK_STR(token_env, "Name of the environment variable holding the locker token");
KLK_STR(approle_mount, "AppRole auth mount (default approle)");
KLK_STR(approle_role_id, "AppRole role_id");
KLK_STR(approle_secret_id_file, "File holding the AppRole secret_id (mode 0600)");
KLK_STR(approle_secret_id_env, "Name of the environment variable holding the AppRole secret_id");
KLK_STR(cert_mount, "TLS certificate auth mount (default cert)");
KLK_STR(cert_role, "TLS certificate auth role (optional)");
KLK_STR(ca_file, "PEM file with the locker's CA (default: system store)");
KLK_STR(ca_dir, "Hashed directory of CA certificates");
KLK_STR(client_cert, "PEM client certificate for mTLS / cert auth");
KLK_STR(client_key, "PEM client key for mTLS / cert auth");
KLK_STR(tls_min_version, "Lowest TLS version: 1.2 or 1.3 (default 1.2)");
KLK_STR(audit_path, "Audit log file (empty = off)");
KLK_STR(audit_actor, "Actor written on every audit line (default host:pid)");

// Numbers: 0 (or -1 for max_retries) means "not set, use the config default",
// so the config-file-only rule can tell set from unset.
unsigned long opt_connect_timeout_ms = 0, opt_total_timeout_ms = 0, opt_version_refresh_s = 0;
long opt_max_retries = -1;
MYSQL_SYSVAR_ULONG(connect_timeout_ms, opt_connect_timeout_ms, kRO,
                   "Connect timeout per attempt in ms (0 = default 2000)", nullptr, nullptr, 0, 0, ULONG_MAX, 0);
MYSQL_SYSVAR_ULONG(total_timeout_ms, opt_total_timeout_ms, kRO,
                   "Wall-time budget of one call to the locker (all its requests and retries), in ms "
                   "(0 = default 10000)",
                   nullptr, nullptr, 0, 0, ULONG_MAX, 0);
MYSQL_SYSVAR_LONG(max_retries, opt_max_retries, kRO, "Extra attempts on transient errors (-1 = default 3)",
                  nullptr, nullptr, -1, -1, LONG_MAX, 0);
MYSQL_SYSVAR_ULONG(version_refresh_s, opt_version_refresh_s, kRO,
                   "How often the latest key versions are re-read from the locker, in s (0 = default 60)", nullptr,
                   nullptr, 0, 0, ULONG_MAX, 0);

// --- what the plugin does (not connection settings: allowed with
// keyring_locker_config_file too) -----------------------------------------
char* opt_create_keys = nullptr;
MYSQL_SYSVAR_STR(create_keys, opt_create_keys, kRO,
                 "Which ENCRYPTION_KEY_IDs the plugin may create in the locker on first use: off, on, or id "
                 "ranges such as 1-2,100-199. Unset: 1-2 for a datadir set up on an empty scope, on (with a "
                 "warning) for installations older than this option. Shows the policy in force",
                 nullptr, nullptr, nullptr);
unsigned long opt_create_keys_max = 0;
MYSQL_SYSVAR_ULONG(create_keys_max, opt_create_keys_max, kRO,
                   "No key is created on first use once the scope holds this many keys (0 = no cap)", nullptr,
                   nullptr, 0, 0, ULONG_MAX, 0);
char opt_status_per_key = 0;
MYSQL_SYSVAR_BOOL(status_per_key, opt_status_per_key, kRO,
                  "Show one SHOW STATUS row per key version (keyring_locker_key_<id>_v<version>) besides the "
                  "summary rows; OFF keeps SHOW GLOBAL STATUS short for large scopes",
                  nullptr, nullptr, 0);

// --- actions -------------------------------------------------------------
// The work happens in the check function: it runs before the server takes
// its global variable lock (a locker round trip must not hold it) and can
// fail the statement with a message of its own.

Backend* LiveBackend() {
  Backend* b = State().backend.get();
  if (b == nullptr) ClientError("the plugin is not initialized (see the error log for why)");
  return b;
}

// After a change made through a variable, list the keys on this thread so
// the very next SHOW STATUS shows it. The change itself succeeded; a failed
// listing only leaves the rows stale, so it is logged, not returned, and
// handed to the background thread (which has no budget to run out of).
void RefreshMetadata() {
  KeyMetadata* meta = State().metadata.get();
  if (meta == nullptr) return;
  Status s = meta->RefreshOrHandOver();
  if (s.ok()) return;
  if (s.code() == Code::kDeadlineExceeded) {
    // Not a locker problem: the listing (one request per key and version)
    // did not fit in what was left of the statement's budget.
    LogNote("key metadata for SHOW STATUS is being listed by the background thread (the statement's "
            "timeouts.total_ms was used up); the rows update when it completes");
    return;
  }
  LogWarning("key metadata for SHOW STATUS could not be listed: " + s.ToString() +
             "; the rows show the previous listing until the background listing, started now, completes");
}

// "1, 2, 3, 4, 5, ... (40 keys)": enough to recognise the set without
// pushing the fix out of the server's 512-byte message buffer.
template <typename T, typename NameOf>
std::string Names(const std::vector<T>& items, NameOf name_of) {
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kShown; ++i) out += (i ? ", " : "") + name_of(items[i]);
  if (items.size() > kShown) out += ", ... (" + std::to_string(items.size()) + " keys)";
  return out;
}

// SET GLOBAL keyring_locker_rotate_key_id = -1: every key of the scope,
// within the statement's one budget. Rotation is create-only, so stopping
// midway leaves each key either rotated or untouched.
int RotateAllKeys(Backend* b) {
  RotateAllResult r = b->keys().RotateAll(Sweep::kOneBudget);
  if (!r.rotated.empty()) CrashPoint("rotate_var.after_rotate");
  for (const auto& [name, version] : r.rotated) {
    LogNote("key " + name + " rotated to version " + std::to_string(version) +
            " (SET GLOBAL keyring_locker_rotate_key_id)");
  }
  if (r.status.ok()) return 0;
  if (r.rotated.empty() && r.not_rotated.empty()) {
    ClientError("rotation of all keys failed: " + r.status.ToString() + "; no key was rotated");
    return 1;
  }
  const size_t all = r.rotated.size() + r.not_rotated.size();
  const bool out_of_time = r.status.code() == Code::kDeadlineExceeded;
  // The key the sweep stopped at may still get its version: the locker can
  // complete a create-only write after the plugin stopped waiting for it.
  const std::string& stopped_at = r.not_rotated.front();
  const std::vector<std::string> untouched(r.not_rotated.begin() + 1, r.not_rotated.end());
  ClientError("rotated " + std::to_string(r.rotated.size()) + " of " + std::to_string(all) + " keys" +
              (r.rotated.empty() ? "" : " (" + Names(r.rotated, [](const auto& p) { return p.first; }) + ")") +
              (out_of_time ? " before timeouts.total_ms (" + std::to_string(b->config().call_budget().count()) +
                                 " ms) ran out"
                           : "") +
              "; key " + stopped_at + " may or may not have its next version (SHOW STATUS LIKE 'keyring_locker_key_" +
              stopped_at + "\\_%' tells)" +
              (untouched.empty() ? "" : "; not rotated: " + Names(untouched, [](const std::string& n) { return n; })) +
              ". Nothing is half-written. " +
              (out_of_time ? "Run SET GLOBAL keyring_locker_rotate_key_id = -1 again (every key gets one more "
                             "version), or rotate keys one by one, or raise timeouts.total_ms"
                           : "Fix the cause, then run it again") +
              ". Cause: " + r.status.ToString());
  RefreshMetadata();  // the keys that were rotated
  return 1;
}

int RotateKeys(long long key_id) {
  Backend* b = LiveBackend();
  if (b == nullptr) return 1;
  // One budget for the statement: the rotation and the listing after it.
  OperationDeadline statement(b->keys().call_budget());
  if (key_id == -1) {
    if (RotateAllKeys(b) != 0) return 1;
  } else {
    const std::string name = KeyGate::KeyName(static_cast<unsigned>(key_id));
    // One listing (inside RotateExisting) both finds the latest version and
    // tells a key id this server never used from one the locker lacks.
    auto v = b->keys().RotateExisting(name);
    if (v.status().code() == Code::kNotFound) {
      ClientError("key " + name + " does not exist in this scope, nothing to rotate; create it by using it "
                  "(CREATE TABLE ... ENCRYPTION_KEY_ID=" + name + ")");
      return 1;
    }
    if (!v.ok()) {
      ClientError("rotating key " + name + " failed: " + v.status().ToString());
      return 1;
    }
    CrashPoint("rotate_var.after_rotate");
    LogNote("key " + name + " rotated to version " + std::to_string(*v) + " (SET GLOBAL keyring_locker_rotate_key_id)");
  }
  RefreshMetadata();
  return 0;
}

// The key ids MariaDB hands to the plugin are unsigned 32-bit, and
// ENCRYPTION_KEY_ID accepts 1..4294967295, so each of them can be rotated
// alone (~0u is reserved only as a key VERSION, ENCRYPTION_KEY_VERSION_INVALID).
// val_int returns 2^64-1 as the same bits as -1: is_unsigned tells them
// apart, so only the literal -1 means "every key".
bool ReadRotateTarget(struct st_mysql_value* value, long long* id) {
  if (value->val_int(value, id) != 0) return false;
  if (value->is_unsigned(value) && *id < 0) return false;  // 2^63 .. 2^64-1
  return *id == -1 || (*id >= 1 && *id <= static_cast<long long>(UINT_MAX));
}

int CheckRotate(MYSQL_THD, struct st_mysql_sys_var*, void* save, struct st_mysql_value* value) {
  try {
    long long id = 0;
    if (!ReadRotateTarget(value, &id)) {
      ClientError("keyring_locker_rotate_key_id takes a key id (1..4294967295) or -1 for every key of the scope");
      return 1;
    }
    if (RotateKeys(id) != 0) return 1;
    *static_cast<long long*>(save) = 0;  // the variable always reads 0: it is an action
    return 0;
  } catch (const std::exception& e) {
    ClientError(std::string("rotation failed: internal error: ") + e.what());
    return 1;
  } catch (...) {
    ClientError("rotation failed: unknown internal error");
    return 1;
  }
}

int CheckRefresh(MYSQL_THD, struct st_mysql_sys_var*, void* save, struct st_mysql_value* value) {
  try {
    long long on = 0;
    value->val_int(value, &on);
    *static_cast<char*>(save) = 0;
    if (on == 0) return 0;
    Backend* b = LiveBackend();
    if (b == nullptr) return 1;
    OperationDeadline statement(b->keys().call_budget());  // the refresh and the listing after it
    Status s = b->keys().RefreshVersions(Sweep::kOneBudget);
    if (!s.ok()) {
      ClientError("refreshing key versions failed: " + s.ToString() + "; cached keys keep being served");
      return 1;
    }
    RefreshMetadata();
    return 0;
  } catch (const std::exception& e) {
    ClientError(std::string("refresh failed: internal error: ") + e.what());
    return 1;
  } catch (...) {
    ClientError("refresh failed: unknown internal error");
    return 1;
  }
}

// The value was consumed by the check function; nothing to store.
void NoUpdate(MYSQL_THD, struct st_mysql_sys_var*, void*, const void*) {}

// The actions accept their idle value (0, OFF) as a start-up option, a
// no-op: mariadb-backup copies every keyring_locker_% variable into
// backup-my.cnf, and --prepare --export starts a server from that file, which
// would stop at an option the server does not know. Any other start-up value
// is refused by ActionVariablesAtStartup (an action runs on SET GLOBAL only).
long long opt_rotate_key_id = 0;
MYSQL_SYSVAR_LONGLONG(rotate_key_id, opt_rotate_key_id, PLUGIN_VAR_RQCMDARG,
                      "SET GLOBAL to a key id to create its next version in the locker, or -1 for every key of "
                      "the scope; reads 0. At start-up only 0 is accepted (a no-op)",
                      CheckRotate, NoUpdate, 0, -1, static_cast<long long>(UINT_MAX), 0);
char opt_refresh = 0;
MYSQL_SYSVAR_BOOL(refresh, opt_refresh, PLUGIN_VAR_OPCMDARG,
                  "SET GLOBAL to 1 to re-read the latest key versions from the locker now; reads OFF. At start-up "
                  "only OFF is accepted (a no-op)",
                  CheckRefresh, NoUpdate, 0);

}  // namespace

struct st_mysql_sys_var* g_system_variables[] = {
    MYSQL_SYSVAR(config_file), MYSQL_SYSVAR(urls), MYSQL_SYSVAR(namespace), MYSQL_SYSVAR(kv_mount),
    MYSQL_SYSVAR(kv_version), MYSQL_SYSVAR(transit_mount), MYSQL_SYSVAR(transit_key), MYSQL_SYSVAR(key_prefix),
    MYSQL_SYSVAR(scope), MYSQL_SYSVAR(auth_method), MYSQL_SYSVAR(token_file), MYSQL_SYSVAR(token_env),
    MYSQL_SYSVAR(approle_mount), MYSQL_SYSVAR(approle_role_id), MYSQL_SYSVAR(approle_secret_id_file),
    MYSQL_SYSVAR(approle_secret_id_env), MYSQL_SYSVAR(cert_mount), MYSQL_SYSVAR(cert_role), MYSQL_SYSVAR(ca_file),
    MYSQL_SYSVAR(ca_dir), MYSQL_SYSVAR(client_cert), MYSQL_SYSVAR(client_key), MYSQL_SYSVAR(tls_min_version),
    MYSQL_SYSVAR(audit_path), MYSQL_SYSVAR(audit_actor), MYSQL_SYSVAR(connect_timeout_ms),
    MYSQL_SYSVAR(total_timeout_ms), MYSQL_SYSVAR(max_retries), MYSQL_SYSVAR(version_refresh_s),
    MYSQL_SYSVAR(rotate_key_id), MYSQL_SYSVAR(refresh), MYSQL_SYSVAR(create_keys), MYSQL_SYSVAR(create_keys_max),
    MYSQL_SYSVAR(status_per_key), nullptr};

PluginOptions CollectPluginOptions() {
  PluginOptions o;
  o.create_keys = opt_create_keys ? opt_create_keys : "";
  o.create_keys_max = opt_create_keys_max;
  o.status_per_key = opt_status_per_key != 0;
  return o;
}

void ShowCreateKeysInForce(const std::string& policy) {
  // Read-only and not MEMALLOC: the server never frees or writes it, so it
  // may point at storage of ours that lives as long as the plugin.
  static std::string in_force;
  in_force = policy;
  opt_create_keys = const_cast<char*>(in_force.c_str());
}

Status ActionVariablesAtStartup() {
  std::string set;
  if (opt_rotate_key_id != 0) set += "keyring_locker_rotate_key_id=" + std::to_string(opt_rotate_key_id);
  if (opt_refresh != 0) set += std::string(set.empty() ? "" : " and ") + "keyring_locker_refresh=ON";
  if (set.empty()) return Status::Ok();
  return InvalidArgument(
      set + " given at start-up: these variables are actions that run on SET GLOBAL only; at start-up only "
      "their idle value (0, OFF) is accepted. Remove them from the option file or command line, start the "
      "server, then run SET GLOBAL ...");
}

SettingValues CollectSettings(std::string* config_file) {
  *config_file = opt_config_file ? opt_config_file : "";
  SettingValues v;
  auto put = [&v](const char* suffix, const char* value) {
    if (value != nullptr && *value != '\0') v[suffix] = value;
  };
  put("urls", opt_urls);
  put("namespace", opt_namespace);
  put("kv_mount", opt_kv_mount);
  put("kv_version", opt_kv_version);
  put("transit_mount", opt_transit_mount);
  put("transit_key", opt_transit_key);
  put("key_prefix", opt_key_prefix);
  put("scope", opt_scope);
  put("auth_method", opt_auth_method);
  put("token_file", opt_token_file);
  put("token_env", opt_token_env);
  put("approle_mount", opt_approle_mount);
  put("approle_role_id", opt_approle_role_id);
  put("approle_secret_id_file", opt_approle_secret_id_file);
  put("approle_secret_id_env", opt_approle_secret_id_env);
  put("cert_mount", opt_cert_mount);
  put("cert_role", opt_cert_role);
  put("ca_file", opt_ca_file);
  put("ca_dir", opt_ca_dir);
  put("client_cert", opt_client_cert);
  put("client_key", opt_client_key);
  put("tls_min_version", opt_tls_min_version);
  put("audit_path", opt_audit_path);
  put("audit_actor", opt_audit_actor);
  if (opt_connect_timeout_ms != 0) v["connect_timeout_ms"] = std::to_string(opt_connect_timeout_ms);
  if (opt_total_timeout_ms != 0) v["total_timeout_ms"] = std::to_string(opt_total_timeout_ms);
  if (opt_max_retries != -1) v["max_retries"] = std::to_string(opt_max_retries);
  if (opt_version_refresh_s != 0) v["version_refresh_s"] = std::to_string(opt_version_refresh_s);
  return v;
}

}  // namespace keyring_locker::mariadb
