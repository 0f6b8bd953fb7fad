#include "tests/integration/azure_standin_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/child_process.h"

namespace keyring_locker::testing {

namespace {
constexpr const char* kPython = "/usr/bin/python3";
}

std::string AzureStandin::Unavailable() {
  static const std::string reason = [] {
    const std::string probe = std::string(kPython) + " -c 'import cryptography' >/dev/null 2>&1";
    return std::system(probe.c_str()) == 0
               ? std::string()
               : std::string("the Azure stand-in needs python3's cryptography module (apt-get install "
                             "python3-cryptography)");
  }();
  return reason;
}

std::unique_ptr<AzureStandin> AzureStandin::Start(const Options& options) {
  std::unique_ptr<AzureStandin> s(new AzureStandin());
  s->options_ = options;
  char tmpl[] = "/tmp/klk_azure.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  s->dir_ = tmpl;
  if (!s->Launch()) return nullptr;
  return s;
}

bool AzureStandin::Launch() {
  const std::string ports = dir_ + "/ports.json";
  std::filesystem::remove(ports);
  std::vector<std::string> args = {kPython, KLK_AZURE_STANDIN, "--state", dir_, "--port", std::to_string(port_),
                                   "--imds-port", std::to_string(imds_port_), "--token-lifetime",
                                   std::to_string(options_.token_lifetime_s), "--key", kKey,
                                   "--key-size", std::to_string(options_.key_bits)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid_ < 0) {
    ADD_FAILURE() << "fork failed";
    return false;
  }
  // Key generation takes a moment; bounded at 30 s.
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(ports);
    nlohmann::json p = nlohmann::json::parse(in, nullptr, false);
    if (!p.is_discarded() && p.contains("tls")) {
      port_ = p["tls"].get<int>();
      imds_port_ = p["imds"].get<int>();
      if (!Admin("stats").is_null()) return true;
      break;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "the Azure stand-in exited at start (status " << status << "); see its stderr";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "the Azure stand-in did not come up within 30 s";
  Stop();
  return false;
}

void AzureStandin::Stop() { StopChild(&pid_, "the Azure stand-in"); }

bool AzureStandin::Restart() {
  Stop();
  return Launch();
}

AzureStandin::~AzureStandin() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

nlohmann::json AzureStandin::Admin(const std::string& command, const nlohmann::json& args) {
  httplib::SSLClient client("127.0.0.1", port_);
  client.set_ca_cert_path(ca_file().c_str());
  client.enable_server_certificate_verification(true);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(10));
  httplib::Result r = client.Post(("/_standin/" + command).c_str(), args.dump(), "application/json");
  if (!r || r->status != 200) {
    ADD_FAILURE() << "stand-in command " << command << " failed: "
                  << (r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
    return nullptr;
  }
  return nlohmann::json::parse(r->body, nullptr, false);
}

azure::AzureOptions AzureStandin::WrapperOptions(azure::AuthMethod auth, int total_ms) const {
  azure::AzureOptions o;
  o.vault_url = url();
  o.key_name = kKey;
  o.auth = auth;
  if (auth != azure::AuthMethod::kManagedIdentity) {
    o.tenant_id = tenant();
    o.client_id = client_id();
    o.authority_host = url();
  } else {
    o.imds_endpoint = imds_url();
  }
  if (auth == azure::AuthMethod::kClientSecret) o.secret_file = secret_file();
  if (auth == azure::AuthMethod::kClientCertificate) o.certificate_file = certificate_file();
  o.http.tls.ca_file = ca_file();
  o.http.connect_timeout = std::chrono::milliseconds(1000);
  o.http.total_timeout = std::chrono::milliseconds(total_ms);
  o.http.max_retries = 3;
  o.http.backoff_initial = std::chrono::milliseconds(20);
  o.http.backoff_max = std::chrono::milliseconds(200);
  return o;
}

nlohmann::json AzureStandin::ConfigGroup(const std::string& auth) const {
  nlohmann::json g = {{"vault_url", url()}, {"key_name", kKey}, {"auth", auth}, {"ca_file", ca_file()}};
  if (auth == "managed_identity") {
    g["imds_endpoint"] = imds_url();
  } else {
    g["tenant_id"] = tenant();
    g["client_id"] = client_id();
    g["authority_host"] = url();
    g[auth == "client_secret" ? "secret_file" : "certificate_file"] =
        auth == "client_secret" ? secret_file() : certificate_file();
  }
  return g;
}

}  // namespace keyring_locker::testing
