#include "tests/integration/moto_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace keyring_locker::testing {
namespace {

std::string Run(const std::string& command, int* rc) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  *rc = pclose(p);
  return out;
}

std::string& Why() {
  static std::string why;
  return why;
}

}  // namespace

bool MotoServer::Installed() {
  int rc = 0;
  Run(std::string("/usr/bin/python3 ") + KLK_MOTO_LAUNCHER + " which >/dev/null 2>&1", &rc);
  return rc == 0;
}

std::unique_ptr<MotoServer> MotoServer::Start(std::string* error) {
  char tmpl[] = "/tmp/klk_moto.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  std::unique_ptr<MotoServer> m(new MotoServer());
  m->dir_ = tmpl;
  int rc = 0;
  const std::string out =
      // The launcher's watchdog ends moto should this test program die
      // first (a crash, ctest's timeout kill): the owner is this process.
      Run(std::string("/usr/bin/python3 ") + KLK_MOTO_LAUNCHER + " start --dir " + m->dir_ + " --owner-pid " +
              std::to_string(::getpid()) + " 2>&1",
          &rc);
  if (rc != 0) {
    *error = "moto did not start: " + out;
    return nullptr;
  }
  auto j = nlohmann::json::parse(out.substr(out.rfind('{')), nullptr, false);
  if (j.is_discarded() || !j.contains("url")) {
    *error = "moto launcher said: " + out;
    return nullptr;
  }
  m->url_ = j["url"].get<std::string>();
  m->ca_ = j["ca"].get<std::string>();
  // moto accepts any credentials; ours come from the environment.
  setenv("AWS_ACCESS_KEY_ID", "AKIDMOTOTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "moto-test-secret", 1);
  return m;
}

MotoServer::~MotoServer() {
  int rc = 0;
  Run(std::string("/usr/bin/python3 ") + KLK_MOTO_LAUNCHER + " stop --dir " + dir_ + " 2>&1", &rc);
  std::system(("rm -rf " + dir_).c_str());
}

aws::KmsClientOptions MotoServer::ClientOptions() const {
  aws::KmsClientOptions o;
  o.regions = {"us-east-1"};
  o.endpoints = {url_};
  o.http.tls.ca_file = ca_;
  o.http.total_timeout = std::chrono::milliseconds(5000);
  o.credentials.source = "env";
  return o;
}

std::shared_ptr<aws::AwsKmsClient> MotoServer::NewClient() const {
  auto c = aws::AwsKmsClient::Open(ClientOptions());
  if (!c.ok()) {
    ADD_FAILURE() << c.status().ToString();
    return nullptr;
  }
  return std::move(c).value();
}

std::string MotoServer::CreateKey() const {
  auto client = NewClient();
  if (!client) return "";
  auto r = client->Call("CreateKey", "{\"Description\":\"keyring_locker test\"}", "(new)");
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return "";
  }
  return r->body["KeyMetadata"]["Arn"].get<std::string>();
}

MotoServer* SharedMoto() {
  static std::unique_ptr<MotoServer> server = [] {
    if (!MotoServer::Installed()) {
      Why() = "moto is not installed (scripts/deps.sh installs it)";
      return std::unique_ptr<MotoServer>();
    }
    std::string error;
    auto s = MotoServer::Start(&error);
    if (!s) Why() = error;
    return s;
  }();
  return server.get();
}

std::string MotoUnavailable() { return Why(); }

}  // namespace keyring_locker::testing
