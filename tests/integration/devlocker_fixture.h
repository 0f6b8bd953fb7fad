// Test support: runs build/bin/devlocker as a child process on a free port
// with fresh TLS material, and talks to it over verified HTTPS.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keyring_locker::testing {

class DevLocker {
 public:
  struct Options {
    std::string root_token = "devlocker-root-token";
    std::string data_file;               // empty = state in memory only
    std::string tls_dir;                 // empty = fresh temp dir (removed by the destructor)
    int port = 0;                        // 0 = a free port
    std::vector<std::string> extra_args;
  };

  // fork/exec KLK_DEVLOCKER_BIN, read the port it prints, wait until
  // sys/health answers. On failure: ADD_FAILURE and nullptr.
  static std::unique_ptr<DevLocker> Start(const Options& options);
  static std::unique_ptr<DevLocker> Start() { return Start(Options()); }
  ~DevLocker();  // SIGTERM, wait, remove the temp dir

  void Stop();
  bool Restart();  // same port, TLS dir and data file

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::string tls_dir() const { return tls_dir_; }
  std::string ca_file() const { return tls_dir_ + "/ca.pem"; }
  std::string client_cert() const { return tls_dir_ + "/client.pem"; }
  std::string client_key() const { return tls_dir_ + "/client-key.pem"; }
  const std::string& root_token() const { return options_.root_token; }
  bool running() const { return pid_ > 0; }

  // status -1 means no HTTP answer (TLS/connect/read failure); body then
  // holds {"transport_error": "<httplib error name>"}.
  struct Reply {
    int status;
    nlohmann::json body;
    std::map<std::string, std::string> headers;  // e.g. Location, Retry-After
  };
  struct CallOptions {
    bool client_cert = false;  // present client.pem/client-key.pem (mTLS)
    bool trust_ca = true;      // false: verify against the system CAs only
    int timeout_ms = 10000;
  };
  // HTTPS request with the root token (or `token`; "-" sends none), verified
  // against ca.pem. PUT == POST; "LIST" becomes GET ?list=true.
  Reply Call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
             const std::string& token = "", const std::string& ns = "");
  Reply CallWith(const CallOptions& call, const std::string& method, const std::string& path,
                 const nlohmann::json& body = nullptr, const std::string& token = "",
                 const std::string& ns = "");

  std::string InjectFault(const nlohmann::json& fault);  // returns the fault id
  void ClearFaults();
  nlohmann::json Stats();  // {requests, by_path{}, tls_handshakes}

 private:
  explicit DevLocker(Options options) : options_(std::move(options)) {}
  bool Launch();

  Options options_;
  std::string tls_dir_;
  bool own_tls_dir_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A Vault-API server on 127.0.0.1 as a test client sees it: the dev locker's
// fixture and the real Vault's both send their raw requests through
// CallVaultApi (below), so the two answer the same way.
struct VaultApiServer {
  int port = 0;
  std::string ca_file, client_cert, client_key;
  std::string root_token;  // sent when the caller gives no token
};

// One HTTPS request, verified against `to.ca_file` (or the system CAs):
// the token in X-Vault-Token ("" = the root token, "-" = none), `ns` in
// X-Vault-Namespace. "LIST" becomes GET ?list=true. Transport failures come
// back as status -1 with {"transport_error": ...}, an unparsable body as
// {"unparsable_body": size}.
DevLocker::Reply CallVaultApi(const VaultApiServer& to, const DevLocker::CallOptions& call,
                              const std::string& method, const std::string& path, const nlohmann::json& body,
                              const std::string& token, const std::string& ns);

}  // namespace keyring_locker::testing
