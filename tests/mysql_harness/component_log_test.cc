// Issue #16: the component logs the MySQL way. Through the registry's
// log_builtins (a severity, ER_LOG_PRINTF_MSG, subsystem "Server", the
// component's name: what LogComponentErr sets), with the method table of
// the server's version; and, without those services, to stderr with a
// severity prefix and one line saying why.
#include <sys/stat.h>

#include <fstream>

#include "tests/mysql_harness/component_host.h"
#include "tests/mysql_harness/harness_fixture.h"

namespace mysqlh {
namespace {

const char* kImpl = "component_keyring_locker";

class ComponentLog : public HarnessTest {
 protected:
  void SetUp() override {
    HarnessTest::SetUp();
    plugin_dir_ = dir_ + "/plugin";
    mkdir(plugin_dir_.c_str(), 0700);
    const std::string cnf = plugin_dir_ + "/component_keyring_locker.cnf";
    std::ofstream(cnf) << ConfigJson("mysql/log");
    chmod(cnf.c_str(), 0600);
    ClearComponentLog();
  }
  void TearDown() override {
    RemoveServerLogServices();
    HarnessTest::TearDown();
  }
  // mysqld's order: the dynamic loader (init), then keyring_load->load.
  std::unique_ptr<ComponentHost> Start(int* load_rc) {
    std::string error;
    auto host = ComponentHost::Load(ComponentPath(), &error);
    EXPECT_NE(host, nullptr) << error;
    if (host == nullptr) return nullptr;
    *load_rc = host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir_.c_str(), plugin_dir_.c_str());
    return host;
  }
  static void Unload(std::unique_ptr<ComponentHost>& host) {
    std::string error;
    EXPECT_TRUE(host->Unload(&error)) << error;  // the log handles are released by deinit
    host.reset();
    EXPECT_EQ(OpenLogLines(), 0u) << "line_init without line_exit";
    EXPECT_EQ(LogBuiltinsTrapCalls(), 0u) << "a log_builtins slot LogComponentErr does not use was called";
  }
  static std::vector<ComponentLogLine> LinesContaining(const std::string& text) {
    std::vector<ComponentLogLine> out;
    for (const auto& l : ComponentLogLines())
      if (l.message.find(text) != std::string::npos) out.push_back(l);
    return out;
  }
  static void ExpectLogComponentErrShape(const ComponentLogLine& l) {
    EXPECT_EQ(l.errcode, kErLogPrintfMsg) << l.message;
    EXPECT_EQ(l.subsystem, "Server") << l.message;
    EXPECT_EQ(l.component, kImpl) << l.message;
    EXPECT_EQ(l.message.rfind(std::string("Component ") + kImpl + " reported: '", 0), 0u) << l.message;
  }
  std::string plugin_dir_;
};

TEST_F(ComponentLog, StartAndErrorsGoThroughLogBuiltinsWithSeverityAndCode) {
  KLK_VAULT_ONLY("stops the dev locker");
  InstallServerLogServices({});  // 8.4.3
  ::testing::internal::CaptureStderr();
  int rc = -1;
  auto host = Start(&rc);
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(rc, 0);
  auto* gen = host->Acquire<s_keyring_generator>("keyring_generator");
  ASSERT_EQ(gen->generate("INNODBKey-log-1", nullptr, "AES", 32), 0);

  // The locker goes away: a key that was never cached cannot be read.
  locker_->Stop();
  auto* reader = host->Acquire<s_keyring_reader_with_status>("keyring_reader_with_status");
  h_reader h = nullptr;
  EXPECT_NE(reader->init("INNODBKey-never-cached", nullptr, &h), 0);
  const std::string err = ::testing::internal::GetCapturedStderr();

  auto started = LinesContaining("loaded " + plugin_dir_);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].prio, 3) << "INFORMATION_LEVEL";
  ExpectLogComponentErrShape(started[0]);
  auto failed = LinesContaining("fetching a key");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].prio, 1) << "ERROR_LEVEL";
  ExpectLogComponentErrShape(failed[0]);
  // Nothing of the component on stderr when the server's log is there.
  EXPECT_EQ(err.find(kImpl), std::string::npos) << err;
  // No secret in any line: not the token, not the token file's content.
  for (const auto& l : ComponentLogLines()) {
    EXPECT_EQ(l.message.find(locker_->root_token()), std::string::npos) << l.message;
    EXPECT_GE(l.prio, 1);
    EXPECT_LE(l.prio, 3);
    ExpectLogComponentErrShape(l);
  }
  Unload(host);
}

TEST_F(ComponentLog, NineXServersGetTheirOwnMethodTable) {
  InstallServerLogServices({"9.1.0", true, true});
  int rc = -1;
  auto host = Start(&rc);
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(rc, 0);
  auto started = LinesContaining("loaded " + plugin_dir_);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].prio, 3);
  ExpectLogComponentErrShape(started[0]);
  Unload(host);
}

TEST_F(ComponentLog, WithoutLogServicesStderrWithSeveritySaidOnce) {
  InstallServerLogServices({"8.0.36", /*log_builtins=*/false, true});
  ::testing::internal::CaptureStderr();
  int rc = -1;
  auto host = Start(&rc);
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(rc, 0);
  // A reload asks the registry again; the reason is not repeated.
  ASSERT_EQ(host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir_.c_str(), plugin_dir_.c_str()), 0);
  const std::string err = ::testing::internal::GetCapturedStderr();
  size_t notices = 0;
  for (size_t at = err.find("logging to stderr"); at != std::string::npos; at = err.find("logging to stderr", at + 1))
    ++notices;
  EXPECT_EQ(notices, 1u) << err;
  EXPECT_NE(err.find("no log_builtins"), std::string::npos) << err;
  EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] loaded " + plugin_dir_), std::string::npos) << err;
  EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] reloaded " + plugin_dir_), std::string::npos) << err;
  EXPECT_TRUE(ComponentLogLines().empty());
  Unload(host);
}

TEST_F(ComponentLog, UnknownServerVersionNeverGuessesTheMethodTable) {
  InstallServerLogServices({"10.2.0", true, true});
  ::testing::internal::CaptureStderr();
  int rc = -1;
  auto host = Start(&rc);
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(rc, 0);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("server version 10.2.0"), std::string::npos) << err;
  EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] loaded"), std::string::npos) << err;
  EXPECT_TRUE(ComponentLogLines().empty());
  Unload(host);
}

// A keyring loaded from the manifest before the server registered its log
// services: stderr at init, the server's log from the first keyring_load on.
TEST_F(ComponentLog, LogServicesThatAppearAfterInitAreUsedFromTheNextLoad) {
  InstallServerLogServices({"8.4.3", /*log_builtins=*/false, /*sys_variables=*/false});
  std::string error;
  ::testing::internal::CaptureStderr();
  auto host = ComponentHost::Load(ComponentPath(), &error);
  ASSERT_NE(host, nullptr) << error;
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("logging to stderr"), std::string::npos) << err;
  InstallServerLogServices({});
  ASSERT_EQ(host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir_.c_str(), plugin_dir_.c_str()), 0);
  auto started = LinesContaining("loaded " + plugin_dir_);
  ASSERT_EQ(started.size(), 1u);
  ExpectLogComponentErrShape(started[0]);
  Unload(host);
}

}  // namespace
}  // namespace mysqlh
