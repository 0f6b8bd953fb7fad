// Test support: runs tests/azure/azure_standin.py (a local stand-in for
// Azure Key Vault, the Entra ID token endpoint and IMDS; see the script for
// why it is not Lowkey Vault) as a child process on 127.0.0.1, with its own
// CA so clients keep TLS verification on, and steers it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "keyring_backend/azure/azure_options.h"
#include "keyring_backend/config/config.h"

namespace keyring_locker::testing {

class AzureStandin {
 public:
  static constexpr const char* kKey = "keyring-locker-kek";

  struct Options {
    int token_lifetime_s = 6;  // short, so tests see tokens refreshed
    int key_bits = 2048;       // the contract wraps 300 bytes: 4096 there
  };
  // Why it cannot run here (no python3 `cryptography`), or "" when it can.
  static std::string Unavailable();
  // Starts it in a fresh state directory with one RSA key, kKey. On
  // failure: ADD_FAILURE and nullptr.
  static std::unique_ptr<AzureStandin> Start(const Options& options);
  static std::unique_ptr<AzureStandin> Start() { return Start(Options()); }
  ~AzureStandin();  // stops it, removes the state directory

  void Stop();     // SIGTERM (SIGKILL after 5 s); the ports stop answering
  bool Restart();  // same ports, same keys, certificates and secret

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string imds_url() const { return "http://127.0.0.1:" + std::to_string(imds_port_); }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  std::string secret_file() const { return dir_ + "/secret"; }
  std::string certificate_file() const { return dir_ + "/client.pem"; }
  std::string tenant() const { return "00000000-0000-0000-0000-0000000000aa"; }
  std::string client_id() const { return "11111111-2222-3333-4444-555555555555"; }
  const std::string& dir() const { return dir_; }

  // POST /_standin/<command>: create_key, rotate, set_enabled, revoke,
  // throttle, hang, expire_tokens, fail_login, imds_identity, stats.
  // A failed call is an ADD_FAILURE and a null result.
  nlohmann::json Admin(const std::string& command, const nlohmann::json& args = nlohmann::json::object());

  // The wrapper's options for this stand-in (`auth`: how it signs in),
  // with the given timeouts.
  azure::AzureOptions WrapperOptions(azure::AuthMethod auth, int total_ms = 5000) const;
  // The config text's "azure" group for this stand-in.
  nlohmann::json ConfigGroup(const std::string& auth) const;

 private:
  AzureStandin() = default;
  bool Launch();

  Options options_;
  std::string dir_;
  int port_ = 0, imds_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keyring_locker::testing
