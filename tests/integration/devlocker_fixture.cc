#include "tests/integration/devlocker_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/child_process.h"

namespace keyring_locker::testing {

namespace {

// Reads one line from `fd` within `timeout_ms`.
std::string ReadLine(int fd, int timeout_ms) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

}  // namespace

std::unique_ptr<DevLocker> DevLocker::Start(const Options& options) {
  std::unique_ptr<DevLocker> locker(new DevLocker(options));
  locker->tls_dir_ = options.tls_dir;
  if (locker->tls_dir_.empty()) {
    char tmpl[] = "/tmp/devlocker-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      ADD_FAILURE() << "mkdtemp failed: check that /tmp is writable";
      return nullptr;
    }
    locker->tls_dir_ = tmpl;
    locker->own_tls_dir_ = true;
  }
  locker->port_ = options.port;
  if (!locker->Launch()) return nullptr;
  return locker;
}

bool DevLocker::Launch() {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return false;
  }
  std::vector<std::string> args = {KLK_DEVLOCKER_BIN, "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--tls-dir", tls_dir_, "--root-token", options_.root_token};
  if (!options_.data_file.empty()) {
    args.push_back("--data");
    args.push_back(options_.data_file);
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (pid_ < 0) {
    ::close(out[0]);
    ADD_FAILURE() << "fork failed";
    return false;
  }
  const std::string line = ReadLine(out[0], 20000);
  ::close(out[0]);
  const std::string prefix = "devlocker listening on https://127.0.0.1:";
  if (line.compare(0, prefix.size(), prefix) != 0) {
    ADD_FAILURE() << "devlocker did not start (first stdout line: '" << line << "'); see its stderr";
    Stop();
    return false;
  }
  port_ = std::stoi(line.substr(prefix.size()));
  for (int i = 0; i < 100; ++i) {
    Reply health = Call("GET", "sys/health", nullptr, "-");
    if (health.status == 200 || health.status == 503) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "devlocker on port " << port_ << " never answered sys/health";
  Stop();
  return false;
}

void DevLocker::Stop() { StopChild(&pid_, "devlocker"); }

bool DevLocker::Restart() {
  Stop();
  return Launch();
}

DevLocker::~DevLocker() {
  Stop();
  if (own_tls_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(tls_dir_, ec);
  }
}

DevLocker::Reply DevLocker::Call(const std::string& method, const std::string& path,
                                 const nlohmann::json& body, const std::string& token,
                                 const std::string& ns) {
  return CallWith(CallOptions(), method, path, body, token, ns);
}

DevLocker::Reply DevLocker::CallWith(const CallOptions& call, const std::string& method,
                                     const std::string& path, const nlohmann::json& body,
                                     const std::string& token, const std::string& ns) {
  return CallVaultApi(VaultApiServer{port_, ca_file(), client_cert(), client_key(), options_.root_token}, call,
                      method, path, body, token, ns);
}

std::string DevLocker::InjectFault(const nlohmann::json& fault) {
  Reply r = Call("POST", "sys/devlocker/faults", fault);
  EXPECT_EQ(r.status, 200) << r.body.dump();
  return r.status == 200 ? r.body["data"]["id"].get<std::string>() : "";
}

void DevLocker::ClearFaults() {
  Reply r = Call("DELETE", "sys/devlocker/faults");
  EXPECT_EQ(r.status, 204) << r.body.dump();
}

nlohmann::json DevLocker::Stats() {
  Reply r = Call("GET", "sys/devlocker/stats");
  EXPECT_EQ(r.status, 200) << r.body.dump();
  return r.status == 200 ? r.body["data"] : nlohmann::json();
}

DevLocker::Reply CallVaultApi(const VaultApiServer& to, const DevLocker::CallOptions& call,
                              const std::string& method, const std::string& path, const nlohmann::json& body,
                              const std::string& token, const std::string& ns) {
  using Reply = DevLocker::Reply;
  std::unique_ptr<httplib::SSLClient> client =
      call.client_cert ? std::make_unique<httplib::SSLClient>("127.0.0.1", to.port, to.client_cert, to.client_key)
                       : std::make_unique<httplib::SSLClient>("127.0.0.1", to.port);
  if (call.trust_ca) client->set_ca_cert_path(to.ca_file.c_str());
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(std::chrono::milliseconds(call.timeout_ms));
  client->set_read_timeout(std::chrono::milliseconds(call.timeout_ms));
  httplib::Headers headers;
  if (token != "-") headers.emplace("X-Vault-Token", token.empty() ? to.root_token : token);
  if (!ns.empty()) headers.emplace("X-Vault-Namespace", ns);
  std::string target = "/v1/" + path;
  const std::string payload = body.is_null() ? "" : body.dump();
  httplib::Result result(nullptr, httplib::Error::Unknown);
  if (method == "GET") result = client->Get(target.c_str(), headers);
  else if (method == "LIST") result = client->Get((target + "?list=true").c_str(), headers);
  else if (method == "DELETE") result = client->Delete(target.c_str(), headers, payload, "application/json");
  else if (method == "POST") result = client->Post(target.c_str(), headers, payload, "application/json");
  else if (method == "PUT") result = client->Put(target.c_str(), headers, payload, "application/json");
  else return Reply{-1, {{"transport_error", "unsupported method " + method}}, {}};
  if (!result) return Reply{-1, {{"transport_error", httplib::to_string(result.error())}}, {}};
  nlohmann::json parsed = result->body.empty() ? nlohmann::json(nullptr)
                                               : nlohmann::json::parse(result->body, nullptr, false);
  if (parsed.is_discarded()) parsed = {{"unparsable_body", result->body.size()}};
  Reply reply{result->status, parsed, {}};
  for (const auto& h : result->headers) reply.headers[h.first] = h.second;
  return reply;
}

}  // namespace keyring_locker::testing
