// Test support: a real Vault server (HashiCorp Vault 1.14.8, issue #13),
// driven through tests/vault/real_vault.py (the same launcher the ctest
// smoke test and the shell use). scripts/real_vault.sh builds the binary
// into the cache folder.
//
// The surface follows DevLocker's (url, ca_file, root_token, Call, Stop,
// Restart) so one test body can run against both lockers. The server is
// initialised with one key share and unsealed by the launcher; KV v2 is at
// secret/, transit at transit/ with the key "keyring_locker". Tests deriving
// from RealVaultTest share one server per test program; they skip when the
// binary is missing, unless KLK_REQUIRE_REAL_VAULT is set: then they fail.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker::testing {

class RealVault {
 public:
  struct Options {
    std::string dir;         // empty = fresh temp dir (removed by the destructor)
    int nodes = 1;           // > 1: a raft cluster (node1 initialised, the others joined)
    bool file_storage = false;  // one node with storage "file" instead of raft
    int start_timeout_ms = 180000;
  };
  using Reply = DevLocker::Reply;            // same shape as the dev locker's
  using CallOptions = DevLocker::CallOptions;

  // True when the launcher finds a vault binary.
  static bool Installed();
  // Runs `real_vault.py start` (or `cluster`); on failure ADD_FAILURE (with
  // the launcher's stderr: the server's log tail) and nullptr.
  static std::unique_ptr<RealVault> Start(const Options& options);
  static std::unique_ptr<RealVault> Start() { return Start(Options()); }
  ~RealVault();  // Stop; remove the temp dir when it made one

  bool Stop();     // SIGTERM, then SIGKILL (bounded)
  bool Restart();  // same ports, TLS files and data; unsealed again
  bool running() const { return running_; }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }  // node1
  std::vector<std::string> urls() const;  // every node; standbys forward
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return Field("ca"); }
  std::string client_cert() const { return Field("client_cert"); }
  std::string client_key() const { return Field("client_key"); }
  const std::string& root_token() const { return root_token_; }
  std::string transit_key() const { return Field("transit_key"); }
  std::string log_file() const { return Field("log"); }
  double start_seconds() const { return state_.value("start_seconds", 0.0); }

  // HTTPS request to node1 with the root token (or `token`; "-" sends none),
  // verified against ca_file(). PUT == POST; "LIST" becomes GET ?list=true.
  Reply Call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
             const std::string& token = "", const std::string& ns = "");
  Reply CallWith(const CallOptions& call, const std::string& method, const std::string& path,
                 const nlohmann::json& body = nullptr, const std::string& token = "",
                 const std::string& ns = "");

 private:
  explicit RealVault(Options options) : options_(std::move(options)) {}
  bool RunLauncher(const std::string& command, bool expect_state);
  bool LoadState(const std::string& json_line);
  std::string Field(const std::string& name) const;

  Options options_;
  std::string dir_;
  bool own_dir_ = false;
  bool running_ = false;
  int port_ = 0;
  std::string root_token_;
  nlohmann::json state_;
};

// Base for tests that need the real Vault: one server per test program.
class RealVaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  // Skips (no binary, KLK_REQUIRE_REAL_VAULT unset) or fails (missing but
  // required, or it did not start); restarts a server an earlier test stopped.
  void SetUp() override;
  static RealVault& vault() { return *vault_; }

 private:
  static std::unique_ptr<RealVault> vault_;
  static std::string unavailable_;  // why there is no server
};

}  // namespace keyring_locker::testing
