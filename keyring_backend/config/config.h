// Config: the one JSON schema every adapter (MariaDB plugin, MySQL plugin,
// MySQL component, CLI) reads. Parsing validates every field and rejects
// unknown ones, with a message naming the field and the fix. See
// docs/configuration.md for the schema.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/aws/aws_credentials.h"
#include "keyring_backend/azure/azure_options.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/key_rules.h"
#include "keyring_backend/kmip/kmip_options.h"

namespace keyring_locker {

struct VaultOptions {
  std::string ns;                          // Vault Enterprise / OpenBao namespace, "" = none
  std::string kv_mount = "secret";        // KV mount holding the key documents
  int kv_version = 0;                      // 0 = detect (sys/internal/ui/mounts), or 1 / 2
  std::string transit_mount = "transit";  // Transit mount holding the key-encryption key
  std::string transit_key = "keyring_locker";
};

struct KeyScopeOptions {
  // Documents live at <kv_mount>/<prefix>/<scope>/...; servers that share a
  // scope share keys (replicas, backup hosts), different scopes never collide.
  std::string prefix = "keyring_locker";
  std::string scope;  // required: e.g. "prod/db1"; [A-Za-z0-9_.-/], no "..", no leading '/'
  // keys.unbound_documents: documents written before key binding (format
  // keyring_locker/1) carry a wrapped key that does not name its key, so a
  // copy of one under another key's path cannot be told from the original.
  // "read" (default: installations from before binding keep working) or
  // "refuse" (once every such version is retired; docs/security.md).
  bool read_unbound_documents = true;
  // Set by the adapter, not the config file: the key types and lengths its
  // server can use; any other key is refused, never served.
  KeyRules rules;
};

struct CacheOptions {
  std::chrono::seconds version_refresh{60};  // how often latest versions are re-read
  size_t max_keys = 100000;                  // bound on cached key versions
};

struct AuditOptions {
  std::string path;   // empty = audit log off
  std::string actor;  // who: written on every line; default "<hostname>:<pid>"
};

// The "aws_kms" group: AWS KMS as the wrapper (docs/configuration.md).
struct AwsKmsOptions {
  std::vector<std::string> regions;    // tried in order; the first is the key's home
  std::vector<std::string> endpoints;  // one per region; empty = https://kms.<region>.amazonaws.com
  std::string key_id;                  // wraps new keys: key ARN, key id, alias/NAME, alias ARN
  aws::CredentialOptions credentials;
  std::string ca_file;                 // empty = the system's CA store
  bool verify = true;
};

// Which locker plays each role (the "store" and "wrapper" groups): where
// keys live, and who wraps them (docs/configuration.md, "Lockers").
struct LockerRoles {
  std::string store = "vault";    // "vault" (KV documents), "kmip" (managed objects), "directory"
  std::string wrapper = "vault";  // "vault" (Transit), "kmip" (Encrypt/Decrypt), "aws_kms", "none" (KMIP store only)
  std::string directory;          // store "directory": where the wrapped keys are kept
  bool UsesVault() const { return store == "vault" || wrapper == "vault"; }
  bool UsesKmip() const { return store == "kmip" || wrapper == "kmip"; }
  bool UsesAzure() const { return wrapper == "azure_key_vault"; }
  bool UsesAwsKms() const { return wrapper == "aws_kms"; }
};

struct Config {
  LockerRoles roles;
  std::string locker_type = "vault";  // the "locker" group: Vault/OpenBao, when a role uses it
  HttpOptions http;
  AuthOptions auth;
  VaultOptions vault;
  KmipOptions kmip;
  azure::AzureOptions azure;  // wrapper "azure_key_vault"
  AwsKmsOptions aws_kms;
  KeyScopeOptions keys;
  CacheOptions cache;
  AuditOptions audit;
  // Accepted but risky settings (tls.verify=false, options ignored by the
  // chosen auth method, a config or secret file in a directory others can
  // write). Adapters log each one at startup.
  std::vector<std::string> warnings;

  // timeouts.total_ms: the one budget of every server call that reaches the
  // locker, whatever the locker (the KMIP connection takes it from the HTTP
  // options too). Adapters ask here, not the HTTP options.
  std::chrono::milliseconds call_budget() const { return http.total_timeout; }
};

// Refuses JSON text holding a NUL byte (a parser stops there), naming the
// byte offset and the fix. ParseConfig calls it; so does every other reader
// of JSON config text.
Status CheckNoNulByte(const std::string& text, const std::string& source);

// `source` names where the text came from ("/etc/mysql/keyring_locker.json")
// and starts every error message.
StatusOr<Config> ParseConfig(const std::string& json_text, const std::string& source);
// Reads and parses a file; refuses a world-writable file (someone could point
// the server at their own locker).
StatusOr<Config> LoadConfigFile(const std::string& path);
// A short multi-line summary for the server log. Shows where secrets come from
// (file paths, environment variable names), never their contents.
std::string DescribeConfig(const Config& config);

}  // namespace keyring_locker
