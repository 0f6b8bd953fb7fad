#include "tests/integration/real_vault_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"

namespace keyring_locker::testing {

namespace {

std::vector<std::string> LauncherArgs(const std::string& command) {
  return {"/usr/bin/python3", KLK_REAL_VAULT_LAUNCHER, command};
}

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

}  // namespace

bool RealVault::Installed() {
  ChildResult r = RunChild(LauncherArgs("which"), 20000);
  return r.finished && r.exit_code == 0;
}

std::unique_ptr<RealVault> RealVault::Start(const Options& options) {
  std::unique_ptr<RealVault> vault(new RealVault(options));
  vault->dir_ = options.dir;
  if (vault->dir_.empty()) {
    char tmpl[] = "/tmp/klk-real-vault-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      ADD_FAILURE() << "mkdtemp failed: check that /tmp is writable";
      return nullptr;
    }
    vault->dir_ = tmpl;
    vault->own_dir_ = true;
  }
  if (!vault->RunLauncher(options.nodes > 1 ? "cluster" : "start", true)) return nullptr;
  return vault;
}

bool RealVault::RunLauncher(const std::string& command, bool expect_state) {
  std::vector<std::string> args = LauncherArgs(command);
  args.insert(args.end(), {"--dir", dir_});
  if (command == "start" || command == "cluster") {
    // The watchdog ends the servers should this test program die first
    // (restart keeps the owner the start named).
    args.insert(args.end(), {"--owner-pid", std::to_string(::getpid())});
    if (command == "cluster") args.insert(args.end(), {"--nodes", std::to_string(options_.nodes)});
    if (options_.file_storage) args.insert(args.end(), {"--storage", "file"});
  }
  if (command != "stop") {
    args.insert(args.end(), {"--wait", std::to_string(options_.start_timeout_ms / 1000)});
  }
  // The launcher's own waits are bounded by --wait; this bound is a backstop.
  ChildResult r = RunChild(args, options_.start_timeout_ms + 30000);
  if (!r.finished || r.exit_code != 0) {
    ADD_FAILURE() << "real_vault.py " << command << " --dir " << dir_
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

bool RealVault::LoadState(const std::string& json_line) {
  nlohmann::json state = nlohmann::json::parse(json_line, nullptr, false);
  if (state.is_discarded() || !state.contains("port") || !state.contains("root_token_file")) {
    ADD_FAILURE() << "real_vault.py printed no server state: '" << json_line << "'";
    return false;
  }
  state_ = state;
  port_ = state["port"].get<int>();
  std::ifstream token_file(state["root_token_file"].get<std::string>());
  std::getline(token_file, root_token_);
  if (root_token_.empty()) {
    ADD_FAILURE() << "no root token in " << state["root_token_file"];
    return false;
  }
  running_ = true;
  return true;
}

std::string RealVault::Field(const std::string& name) const {
  if (!state_.contains(name) || !state_[name].is_string()) {
    ADD_FAILURE() << "server.json has no field '" << name << "'";
    return "";
  }
  return state_[name].get<std::string>();
}

std::vector<std::string> RealVault::urls() const {
  std::vector<std::string> all;
  for (const auto& u : state_.value("urls", nlohmann::json::array())) all.push_back(u.get<std::string>());
  return all;
}

bool RealVault::Stop() {
  if (!running_) return true;
  running_ = false;
  return RunLauncher("stop", false);
}

bool RealVault::Restart() {
  running_ = false;
  return RunLauncher("restart", true);
}

RealVault::~RealVault() {
  // Also after a failed Start: the launcher stops whatever server.json names.
  RunLauncher("stop", false);
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

RealVault::Reply RealVault::Call(const std::string& method, const std::string& path,
                                 const nlohmann::json& body, const std::string& token,
                                 const std::string& ns) {
  return CallWith(CallOptions(), method, path, body, token, ns);
}

RealVault::Reply RealVault::CallWith(const CallOptions& call, const std::string& method,
                                     const std::string& path, const nlohmann::json& body,
                                     const std::string& token, const std::string& ns) {
  return CallVaultApi(VaultApiServer{port_, ca_file(), client_cert(), client_key(), root_token_}, call, method,
                      path, body, token, ns);
}

std::unique_ptr<RealVault> RealVaultTest::vault_;
std::string RealVaultTest::unavailable_;

void RealVaultTest::SetUpTestSuite() {
  unavailable_.clear();
  if (!RealVault::Installed()) {
    unavailable_ = "no Vault binary: scripts/real_vault.sh builds it";
    return;
  }
  vault_ = RealVault::Start();
  if (!vault_) unavailable_ = "the real Vault did not start (see the failure above)";
}

void RealVaultTest::TearDownTestSuite() { vault_.reset(); }

void RealVaultTest::SetUp() {
  if (!vault_) {
    if (EnvSet("KLK_REQUIRE_REAL_VAULT") || unavailable_.find("did not start") != std::string::npos) {
      GTEST_FAIL() << unavailable_ << " (KLK_REQUIRE_REAL_VAULT is set: not skipping)";
    }
    GTEST_SKIP() << unavailable_;
  }
  if (!vault_->running()) {
    ASSERT_TRUE(vault_->Restart());
  }
}

}  // namespace keyring_locker::testing
