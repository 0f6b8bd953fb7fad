// A dev locker plus config files for the .so under test, and the path of
// each built .so (set by CMake).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/integration/devlocker_fixture.h"
#include "tests/mysql_harness/mysql_host.h"

namespace mysqlh {

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The shared JSON schema pointing at the dev locker; `extra` is merged in
  // at the top level (e.g. {"read_local_config": true}).
  std::string ConfigJson(const std::string& scope, const std::string& extra_json = "{}");
  std::string WriteConfig(const std::string& file_name, const std::string& scope, const std::string& extra = "{}");
  // Loads and inits the plugin against `scope`; fails the test on error.
  std::unique_ptr<PluginHost> StartPlugin(const std::string& scope = "mysql/db1");
  void StopPlugin(std::unique_ptr<PluginHost>& host);

  std::unique_ptr<keyring_locker::testing::DevLocker> locker_;
  std::string dir_;
};

const char* PluginPath();
const char* ComponentPath();

}  // namespace mysqlh
