// The keys MariaDB's hashicorp_key_management plugin reads from a Vault KV
// version 2 mount (facts from the plugin): its vault_url is
// https://HOST:PORT/v1/<mount>; key id N lives at <mount>/data/N, each KV
// version of it is key version N's same-numbered version, and the key is the
// hex string in the secret's "data" field. Ids are decimal; other paths in
// the mount are not keys of the plugin and are skipped with a warning.
// Deleted or destroyed KV versions cannot be read and are skipped with a
// warning (data that needed them was unreadable already).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/import/import_source.h"

namespace keyring_locker::import {

struct HashicorpOptions {
  // The plugin's hashicorp-key-management-vault-url ("https://vault:8200/v1/secret"),
  // or the server's address alone when `mount` is given.
  std::string vault_url;
  std::string mount;      // overrides the mount in vault_url
  std::string token;      // the secret itself (read from --token-file by the caller)
  std::string ca_file;    // PEM bundle; empty = the system's
  std::string ns;         // Vault Enterprise / OpenBao namespace, "" = none
  std::chrono::milliseconds timeout{10000};  // per request
  bool allow_plain_http = false;  // tests only
};

// Splits vault_url (+ mount) into the server address and the mount, with a
// clear error naming what is missing.
struct VaultAddress {
  std::string base;   // "https://vault:8200"
  std::string mount;  // "secret"
};
StatusOr<VaultAddress> ParseVaultAddress(const HashicorpOptions& options);

// The pieces of one reply each, for tests: LIST metadata/ -> key names;
// GET metadata/N -> the readable versions (and, in `skipped`, why others are
// not); GET data/N?version=V -> the hex string of the key.
StatusOr<std::vector<std::string>> ParseKvList(const nlohmann::json& reply);
StatusOr<std::vector<uint32_t>> ParseKvVersions(const nlohmann::json& reply, std::vector<std::string>* skipped);
StatusOr<std::string> ParseKvKeyHex(const nlohmann::json& reply);

// Reads every key version of the mount. `on_key` is called after each key
// id (for a progress bar). Connection and permission problems are returned;
// a version whose reply is malformed becomes a failed item.
StatusOr<ImportSource> ReadHashicorpKv(const HashicorpOptions& options, const std::function<void()>& on_key = {});

}  // namespace keyring_locker::import
