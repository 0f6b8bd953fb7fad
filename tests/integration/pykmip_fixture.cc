#include "tests/integration/pykmip_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"

namespace keyring_locker::testing {

namespace {

std::vector<std::string> LauncherArgs(const std::string& command) {
  return {"/usr/bin/python3", KLK_PYKMIP_LAUNCHER, command};
}

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// connect() to 127.0.0.1:port within timeout_ms; -1 and `error` on failure.
int ConnectWithin(const std::string& host, int port, int timeout_ms, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = "socket failed";
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeout_ms) == 1) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      rc = so_error == 0 ? 0 : -1;
      errno = so_error;
    } else {
      errno = ETIMEDOUT;
    }
  }
  if (rc != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  // Blocking from here on, each read and write bounded by the timeout.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "no OpenSSL error queued" : text;
}

bool ReadFully(SSL* ssl, std::string* out, size_t n) {
  size_t start = out->size();
  out->resize(start + n);
  size_t got = 0;
  while (got < n) {
    int r = SSL_read(ssl, &(*out)[start + got], static_cast<int>(n - got));
    if (r <= 0) {
      out->resize(start + got);
      return false;
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

bool PyKmipServer::Installed() {
  ChildResult r = RunChild(LauncherArgs("which"), 20000);
  return r.finished && r.exit_code == 0;
}

std::unique_ptr<PyKmipServer> PyKmipServer::Start(const Options& options) {
  std::unique_ptr<PyKmipServer> server(new PyKmipServer(options));
  server->dir_ = options.dir;
  if (server->dir_.empty()) {
    char tmpl[] = "/tmp/klk-pykmip-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      ADD_FAILURE() << "mkdtemp failed: check that /tmp is writable";
      return nullptr;
    }
    server->dir_ = tmpl;
    server->own_dir_ = true;
  }
  server->port_ = options.port;
  if (!server->RunLauncher("start", true)) return nullptr;
  return server;
}

std::unique_ptr<PyKmipServer> PyKmipServer::Attach(const std::string& dir, std::string* error) {
  std::ifstream in(dir + "/server.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json state = nlohmann::json::parse(text.str(), nullptr, false);
  if (!in || state.is_discarded() || !state.contains("port") || !state["port"].is_number_integer() ||
      !state.contains("host") || !state["host"].is_string()) {
    *error = "no readable server state in " + dir + "/server.json";
    return nullptr;
  }
  std::unique_ptr<PyKmipServer> server(new PyKmipServer(Options()));
  server->dir_ = dir;
  server->attached_ = true;
  server->state_ = state;
  server->host_ = state["host"].get<std::string>();
  server->port_ = state["port"].get<int>();
  server->start_seconds_ = state.value("start_seconds", 0.0);
  server->running_ = true;
  return server;
}

bool PyKmipServer::RunLauncher(const std::string& command, bool expect_state) {
  std::vector<std::string> args = LauncherArgs(command);
  args.insert(args.end(), {"--dir", dir_});
  if (command == "start" || command == "restart") {
    // The watchdog ends the server should this test program die first.
    args.insert(args.end(), {"--owner-pid", std::to_string(::getpid())});
    if (port_ > 0) args.insert(args.end(), {"--port", std::to_string(port_)});
    if (command == "start") {
      args.insert(args.end(), {"--log-level", options_.debug_log ? "DEBUG" : "INFO"});
    }
  }
  ChildResult r = RunChild(args, options_.start_timeout_ms);
  if (!r.finished || r.exit_code != 0) {
    ADD_FAILURE() << "pykmip_server.py " << command << " --dir " << dir_
                  << (r.finished ? " exited " + std::to_string(r.exit_code) : " timed out")
                  << ": " << r.err;
    return false;
  }
  if (!expect_state) return true;
  std::string last_line;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) last_line = line;
  return LoadState(last_line);
}

bool PyKmipServer::LoadState(const std::string& json_line) {
  nlohmann::json state = nlohmann::json::parse(json_line, nullptr, false);
  if (state.is_discarded() || !state.contains("port") || !state.contains("host")) {
    ADD_FAILURE() << "pykmip_server.py printed no server state: '" << json_line << "'";
    return false;
  }
  state_ = state;
  host_ = state["host"].get<std::string>();
  port_ = state["port"].get<int>();
  start_seconds_ = state.value("start_seconds", 0.0);
  running_ = true;
  return true;
}

std::string PyKmipServer::path(const std::string& field) const {
  if (!state_.contains(field) || !state_[field].is_string()) {
    ADD_FAILURE() << "server.json has no field '" << field << "'";
    return "";
  }
  return state_[field].get<std::string>();
}

bool PyKmipServer::Stop() {
  if (!running_) return true;
  running_ = false;
  return RunLauncher("stop", false);
}

bool PyKmipServer::Restart() {
  running_ = false;
  return RunLauncher("restart", true);
}

bool PyKmipServer::Pause() { return RunLauncher("pause", false); }
bool PyKmipServer::Resume() { return RunLauncher("resume", false); }

PyKmipServer::~PyKmipServer() {
  if (attached_) return;  // another process's server
  // Also after a failed Start: the launcher stops whatever server.json names.
  RunLauncher("stop", false);
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

PyKmipServer::Exchange PyKmipServer::Send(const std::string& request,
                                          const ExchangeOptions& options) const {
  Exchange result;
  const std::string cert = options.cert.empty() ? client_cert() : options.cert;
  const std::string key = options.key.empty() ? client_key() : options.key;
  const std::string ca = options.ca.empty() ? ca_file() : options.ca;
  int fd = ConnectWithin(host_, port_, options.timeout_ms, &result.error);
  if (fd < 0) return result;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
    result.error = "loading TLS files: " + OpenSslErrors();
    ::close(fd);
    return result;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host_.c_str());
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) != 1) {
    result.error = "handshake: " + OpenSslErrors();
    ::close(fd);
    return result;
  }
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) !=
      static_cast<int>(request.size())) {
    result.error = "write: " + OpenSslErrors();
    ::close(fd);
    return result;
  }
  std::string response;
  constexpr size_t kMaxResponse = 1 << 20;  // PyKMIP's own limit
  if (!ReadFully(ssl.get(), &response, 8)) {
    result.error = "read: no response header (" + OpenSslErrors() + ")";
  } else {
    const auto* h = reinterpret_cast<const unsigned char*>(response.data());
    const size_t length = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
    if (length > kMaxResponse) {
      result.error = "read: response length " + std::to_string(length) + " over 1 MiB";
    } else if (!ReadFully(ssl.get(), &response, length)) {
      result.error = "read: response shorter than its header says";
    } else {
      result.ok = true;
      result.response = std::move(response);
    }
  }
  SSL_shutdown(ssl.get());
  ::close(fd);
  return result;
}

std::unique_ptr<PyKmipServer> PyKmipTest::server_;
std::string PyKmipTest::unavailable_;

void PyKmipTest::SetUpTestSuite() {
  unavailable_.clear();
  if (!PyKmipServer::Installed()) {
    unavailable_ = "PyKMIP (pykmip-server) is not installed: run scripts/deps.sh";
    return;
  }
  server_ = PyKmipServer::Start();
  if (!server_) unavailable_ = "pykmip-server did not start (see the failure above)";
}

void PyKmipTest::TearDownTestSuite() { server_.reset(); }

void PyKmipTest::SetUp() {
  if (!server_) {
    if (EnvSet("KLK_REQUIRE_PYKMIP") || unavailable_.find("did not start") != std::string::npos) {
      GTEST_FAIL() << unavailable_ << " (KLK_REQUIRE_PYKMIP is set: not skipping)";
    }
    GTEST_SKIP() << unavailable_;
  }
  // A test that left the server paused or stopped must not break the next.
  if (server_->running()) server_->Resume();
  if (!server_->running()) {
    ASSERT_TRUE(server_->Restart());
  }
}

std::string ReadHexCapture(const std::string& name) {
  const std::string path = std::string(KLK_KMIP_CAPTURES_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::string hex;
  for (char c; in.get(c);)
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += c;
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return bytes;
}

}  // namespace keyring_locker::testing
