// Test support for the CLI's scope-wide commands (export, restore, migrate):
// running the keyring-locker binary, writing configs, filling a scope with
// MariaDB- and MySQL-style keys (versions, a soft-deleted and a purged
// generation), and reading a scope's state back in process.
#pragma once

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keyring_backend/backend.h"
#include "keyring_backend/config/config.h"
#include "crypto/crypto.h"

#include "tests/integration/devlocker_fixture.h"
#include "tests/support/run_command.h"

namespace keyring_locker::testing {

// The config CLI tests hand keyring-locker for a dev locker: `token_file`
// (the root token), Transit key "cli", short timeouts.
inline nlohmann::json DevLockerCliConfig(const DevLocker& locker, const std::string& token_file,
                                         const std::string& scope, int total_ms = 3000) {
  return {{"locker", {{"urls", {locker.url()}}, {"transit_key", "cli"}}},
          {"keys", {{"scope", scope}}},
          {"auth", {{"method", "token"}, {"token_file", token_file}}},
          {"tls", {{"ca_file", locker.ca_file()}}},
          {"timeouts", {{"connect_ms", 1000}, {"total_ms", total_ms}}}};
}

// Runs the CLI with `args`; stdout and stderr together in *out; the exit code.
inline int RunCli(const std::string& args, std::string* out) {
  return RunCommand(std::string(KLK_CLI_BIN) + " " + args, out);
}

inline std::unique_ptr<Backend> OpenConfig(const std::string& path) {
  auto config = LoadConfigFile(path);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return nullptr;
  auto b = Backend::Open(*config);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? std::move(b).value() : nullptr;
}

inline std::string Fingerprint(const crypto::SecureBuffer& key) {
  return crypto::HexEncode(crypto::Sha256(key.data(), key.size()).data(), 8);
}

// What a scope holds, read afresh: "name vN" -> "live <fingerprint>",
// "deleted <fingerprint>" or "purged".
inline std::map<std::string, std::string> ScopeState(const std::string& config_path) {
  std::map<std::string, std::string> out;
  auto b = OpenConfig(config_path);
  if (!b) return out;
  auto names = b->store().ListNames();
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  if (!names.ok()) return out;
  for (const auto& name : *names) {
    auto versions = b->store().ListVersions(name);
    EXPECT_TRUE(versions.ok()) << versions.status().ToString();
    if (!versions.ok()) continue;
    for (const auto& v : *versions) {
      const std::string key = name + " v" + std::to_string(v.version);
      if (!v.has_record) {
        out[key] = "purged";
        continue;
      }
      auto k = b->keys().Get(name, v.version);
      EXPECT_TRUE(k.ok()) << key << ": " << k.status().ToString();
      if (!k.ok()) continue;
      out[key] = std::string(v.deleted ? "deleted " : "live ") + Fingerprint((*k)->bytes);
    }
  }
  return out;
}

// MariaDB-style ids with versions (1: 3, 2: 3, 3: 3) and MySQL-style ids
// with generations: one live, one soft-deleted generation followed by a live
// one, and one purged (only its marker left).
inline const char* kMysqlKey = "INNODBKey-3b6f1ca1-6c3a-11ef-9f0e-0242ac110002-1";
inline void FillScope(const std::string& config_path) {
  auto b = OpenConfig(config_path);
  ASSERT_NE(b, nullptr);
  KeyService& keys = b->keys();
  for (const char* name : {"1", "2", "3"}) {
    ASSERT_TRUE(keys.EnsureKey(name).ok());
    ASSERT_TRUE(keys.Rotate(name).ok());
    ASSERT_TRUE(keys.Rotate(name).ok());
  }
  // Purged first: PurgeDeleted takes every deleted generation.
  ASSERT_TRUE(keys.CreateGeneration("purged_key", "AES", 32, nullptr).ok());
  ASSERT_TRUE(keys.SoftRemove("purged_key").ok());
  auto purged = keys.PurgeDeleted(std::chrono::seconds(0), Sweep::kPerRequest);
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  ASSERT_EQ(*purged, 1u);
  ASSERT_TRUE(keys.CreateGeneration(kMysqlKey, "AES", 32, nullptr).ok());
  ASSERT_TRUE(keys.SoftRemove(kMysqlKey).ok());
  ASSERT_TRUE(keys.CreateGeneration(kMysqlKey, "AES", 32, nullptr).ok());
  ASSERT_TRUE(keys.CreateGeneration("mysql_live", "AES", 16, nullptr).ok());
}

// 9 + 2 + 1 + 1 key versions.
inline constexpr size_t kFilledVersions = 13;

}  // namespace keyring_locker::testing
