// Test support: a real KMIP server (PyKMIP's pykmip-server) for the KMIP
// client's integration tests, driven through tests/kmip/pykmip_server.py
// (the same launcher the smoke test, MTR scripts and the shell use).
//
// The server listens on 127.0.0.1 (TLS 1.2 only, client certificate
// required, SQLite database in its folder); docs/kmip-pykmip-notes.md says
// how it behaves. Tests that use it derive from PyKmipTest: one server per
// test program, started in SetUpTestSuite. Without PyKMIP installed those
// tests skip, unless KLK_REQUIRE_PYKMIP is set (scripts/test.sh sets it), in
// which case they fail.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace keyring_locker::testing {

class PyKmipServer {
 public:
  struct Options {
    std::string dir;             // empty = fresh temp dir (removed by the destructor)
    int port = 0;                // 0 = a free port (kept across Restart)
    bool debug_log = false;      // log every request/response as hex (key bytes too)
    int start_timeout_ms = 45000;
  };

  // True when the launcher finds a pykmip-server (Debian's or the venv).
  static bool Installed();
  // Runs `launcher start`; on failure ADD_FAILURE (with the launcher's
  // stderr: the server's log tail) and nullptr.
  static std::unique_ptr<PyKmipServer> Start(const Options& options);
  static std::unique_ptr<PyKmipServer> Start() { return Start(Options()); }
  // A server another process started in `dir` (tests/kmip/shared_server.sh,
  // one per ctest run): used, never stopped by this object. nullptr and
  // `error` when DIR/server.json is missing or unreadable.
  static std::unique_ptr<PyKmipServer> Attach(const std::string& dir, std::string* error);
  ~PyKmipServer();  // Stop (unless attached); remove the temp dir when it made one

  bool Stop();     // SIGINT, SIGTERM, SIGKILL (bounded, ~3 s at most)
  bool Restart();  // same port, certificates and database: keys survive
  bool Pause();    // SIGSTOP: connects succeed, handshakes and requests hang
  bool Resume();   // SIGCONT
  bool running() const { return running_; }

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  double start_seconds() const { return start_seconds_; }  // launch to first KMIP answer
  std::string path(const std::string& field) const;        // any field of DIR/server.json

  // The test CA and our client (CN=keyring_locker, clientAuth EKU).
  std::string ca_file() const { return path("ca"); }
  std::string client_cert() const { return path("client_cert"); }
  std::string client_key() const { return path("client_key"); }
  // Same CA, another owner (CN=other_client): cannot see our objects.
  std::string other_client_cert() const { return path("other_client_cert"); }
  std::string other_client_key() const { return path("other_client_key"); }
  // Same CA and CN, no clientAuth EKU: handshake passes, every request fails.
  std::string noeku_client_cert() const { return path("noeku_client_cert"); }
  std::string noeku_client_key() const { return path("noeku_client_key"); }
  // Another CA: the server ends the handshake with an unknown_ca alert.
  std::string wrong_ca_file() const { return path("wrong_ca"); }
  std::string wrong_client_cert() const { return path("wrong_client_cert"); }
  std::string wrong_client_key() const { return path("wrong_client_key"); }
  std::string log_file() const { return path("log"); }
  std::string database_file() const { return path("database"); }

  // One raw KMIP exchange over a fresh TLS connection verified against
  // `ca` (default ca_file()): sends `request` (TTLV bytes), reads one
  // response message. For codec interop tests that need no KMIP client.
  struct Exchange {
    bool ok = false;
    std::string response;  // TTLV bytes when ok
    std::string error;     // what failed: connect, handshake (OpenSSL text), read
  };
  struct ExchangeOptions {
    std::string cert;  // empty = client_cert()/client_key()
    std::string key;
    std::string ca;    // empty = ca_file()
    int timeout_ms = 5000;
  };
  Exchange Send(const std::string& request, const ExchangeOptions& options) const;
  Exchange Send(const std::string& request) const { return Send(request, ExchangeOptions()); }

 private:
  explicit PyKmipServer(Options options) : options_(std::move(options)) {}
  bool RunLauncher(const std::string& command, bool expect_state);
  bool LoadState(const std::string& json_line);

  Options options_;
  std::string dir_;
  bool own_dir_ = false;
  bool attached_ = false;
  bool running_ = false;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  double start_seconds_ = 0;
  nlohmann::json state_;
};

// Base for tests that need the server: one per test program.
class PyKmipTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  // Skips (PyKMIP missing, KLK_REQUIRE_PYKMIP unset) or fails (missing but
  // required, or it did not start); resumes and restarts a server an
  // earlier test left paused or stopped.
  void SetUp() override;
  static PyKmipServer& server() { return *server_; }

 private:
  static std::unique_ptr<PyKmipServer> server_;
  static std::string unavailable_;  // why there is no server
};

// Reads a tests/kmip/captures/*.hex file (whitespace ignored) as bytes.
std::string ReadHexCapture(const std::string& name);

}  // namespace keyring_locker::testing
