// A locker plus config files for the .so under test, and the path of
// each built .so (set by CMake).
//
// One test body, two lockers: KLK_HARNESS_LOCKER picks which one the
// fixture starts and ConfigJson points at.
//   unset or "vault"  the dev locker (a fresh one per test, Vault KV +
//                     Transit), locker_ is set
//   "kmip"            PyKMIP through KmipWorld (the ctest run's shared
//                     server, or one this process starts), store.type
//                     "kmip" with the wrapper "none"; kmip_ is set, locker_
//                     is null. Each test gets a keys.prefix of its own, so
//                     tests sharing one server never see each other's keys.
//   "aws"             the directory store (a folder of this test's own)
//                     with the aws_kms wrapper against moto (MotoServer: one
//                     per test program, one KMS key), aws_ is set.
//   "azure"           the directory store (a folder of this test's own)
//                     with the azure_key_vault wrapper against the Key Vault
//                     stand-in (AzureStandin: one per test program, one RSA
//                     key, a client certificate to sign in), azure_ is set.
//   "real_vault"      a real Vault (HashiCorp Vault 1.14.8, issue #13:
//                     RealVault, one per test program, started on first
//                     use; KV v2 + Transit as the dev locker's), the root
//                     token, a keys.prefix per test; real_vault_ is set.
//                     Skipped without the binary (scripts/real_vault.sh)
//                     unless KLK_REQUIRE_REAL_VAULT is set.
// Tests that look inside the dev locker (its stats, fault injection,
// planted documents) start with KLK_VAULT_ONLY("why").
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "tests/integration/azure_standin_fixture.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/kmip_world_fixture.h"
#include "tests/integration/moto_fixture.h"
#include "tests/integration/real_vault_fixture.h"
#include "tests/mysql_harness/mysql_host.h"

namespace mysqlh {

enum class LockerKind { kVault, kKmip, kAws, kAzure, kRealVault };
// From KLK_HARNESS_LOCKER; an unknown value fails the test that asks.
LockerKind HarnessLocker();
const char* LockerKindName(LockerKind kind);  // "vault", "kmip", "aws", "azure", "real_vault"

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  bool kmip() const { return kind_ == LockerKind::kKmip; }
  bool aws() const { return kind_ == LockerKind::kAws; }
  bool azure() const { return kind_ == LockerKind::kAzure; }
  bool real_vault() const { return kind_ == LockerKind::kRealVault; }
  // The directory store's folder (aws, azure): <dir_>/keys.
  std::string KeysDir() const { return dir_ + "/keys"; }
  // The shared JSON schema pointing at the locker under test; `extra` is
  // merged in at the top level (e.g. {"read_local_config": true}).
  std::string ConfigJson(const std::string& scope, const std::string& extra_json = "{}");
  std::string WriteConfig(const std::string& file_name, const std::string& scope, const std::string& extra = "{}");
  // Loads and inits the plugin against `scope`; fails the test on error.
  std::unique_ptr<PluginHost> StartPlugin(const std::string& scope = "mysql/db1");
  void StopPlugin(std::unique_ptr<PluginHost>& host);

  // What the adapters' status reports as the active endpoint: the dev
  // locker's URL, the KMIP server as configured ("127.0.0.1:PORT"), or the
  // cloud vault's URL.
  std::string LockerEndpoint() const;
  // keys.prefix of this test's configs ("keyring_locker" under Vault).
  const std::string& KeyPrefix() const { return prefix_; }
  // KMIP: destroys the objects of `scope` (TearDown does it for every
  // scope ConfigJson wrote); under Vault nothing (the dev locker goes).
  void DropScope(const std::string& scope);

  LockerKind kind_ = LockerKind::kVault;
  std::unique_ptr<keyring_locker::testing::DevLocker> locker_;  // Vault only
  keyring_locker::testing::KmipWorld* kmip_ = nullptr;          // KMIP only
  keyring_locker::testing::MotoServer* aws_ = nullptr;          // AWS only
  std::string aws_key_arn_;                                     // AWS only
  keyring_locker::testing::AzureStandin* azure_ = nullptr;      // Azure only
  keyring_locker::testing::RealVault* real_vault_ = nullptr;    // real Vault only
  std::string prefix_ = "keyring_locker";
  std::set<std::string> scopes_;  // every scope ConfigJson wrote
  std::string dir_;
};

// The .so files under test: the build's, unless KLK_HARNESS_PLUGIN_SO or
// KLK_HARNESS_COMPONENT_SO name others (the installed package's).
const char* PluginPath();
const char* ComponentPath();

}  // namespace mysqlh

// For a test (or fixture SetUp) that looks inside the Vault dev locker:
// skipped, with the reason, when the harness runs against KMIP.
#define KLK_VAULT_ONLY(why)                                                                    \
  do {                                                                                         \
    if (::mysqlh::HarnessLocker() != ::mysqlh::LockerKind::kVault) {                           \
      GTEST_SKIP() << "needs the Vault dev locker (" << (why) << "); KLK_HARNESS_LOCKER=" \
                   << ::mysqlh::LockerKindName(::mysqlh::HarnessLocker());                     \
    }                                                                                          \
  } while (0)
