#include "tests/mysql_harness/harness_fixture.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

namespace mysqlh {

const char* PluginPath() { return KLK_MYSQL_PLUGIN_SO; }
const char* ComponentPath() { return KLK_MYSQL_COMPONENT_SO; }

void HarnessTest::SetUp() {
  locker_ = keyring_locker::testing::DevLocker::Start();
  ASSERT_NE(locker_, nullptr);
  char tmpl[] = "/tmp/klk_mysql_harness.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  const std::string token = dir_ + "/token";
  std::ofstream(token) << locker_->root_token();
  chmod(token.c_str(), 0600);
}

void HarnessTest::TearDown() {
  if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
}

std::string HarnessTest::ConfigJson(const std::string& scope, const std::string& extra_json) {
  nlohmann::json c = {
      {"locker", {{"urls", {locker_->url()}}}},
      {"keys", {{"scope", scope}}},
      {"auth", {{"method", "token"}, {"token_file", dir_ + "/token"}}},
      {"tls", {{"ca_file", locker_->ca_file()}}},
      {"timeouts", {{"connect_ms", 1000}, {"total_ms", 3000}}},
      {"retries", {{"max", 1}, {"backoff_initial_ms", 20}, {"backoff_max_ms", 100}}},
  };
  c.update(nlohmann::json::parse(extra_json));
  return c.dump(2);
}

std::string HarnessTest::WriteConfig(const std::string& file_name, const std::string& scope, const std::string& extra) {
  const std::string path = dir_ + "/" + file_name;
  std::ofstream(path) << ConfigJson(scope, extra);
  chmod(path.c_str(), 0600);
  return path;
}

std::unique_ptr<PluginHost> HarnessTest::StartPlugin(const std::string& scope) {
  std::string error;
  auto host = PluginHost::Load(PluginPath(), &error);
  EXPECT_NE(host, nullptr) << error;
  if (host == nullptr) return nullptr;
  const std::string config = WriteConfig("keyring_locker-" + std::to_string(std::hash<std::string>()(scope)) + ".json", scope);
  EXPECT_TRUE(host->Init(config, &error)) << error;
  if (!error.empty()) return nullptr;
  return host;
}

void HarnessTest::StopPlugin(std::unique_ptr<PluginHost>& host) {
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
  host.reset();
}

}  // namespace mysqlh
