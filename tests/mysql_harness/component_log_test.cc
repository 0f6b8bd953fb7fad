// Issue #16: the component logs the MySQL way. Through the registry's
// log_builtins (a severity, ER_LOG_PRINTF_MSG, subsystem "Server", the
// component's name: what LogComponentErr sets), with the method table of
// the server's version where that table was verified; and otherwise (no
// services, a version nobody checked, an implausible answer) to stderr with
// a severity prefix and one Note saying why.
#include <sys/stat.h>

#include <fstream>

#include "tests/mysql_harness/component_host.h"
#include "tests/mysql_harness/harness_fixture.h"

namespace mysqlh {
namespace {

const char* kImpl = "component_keyring_locker";
const char* kComponentItem = "component:component_keyring_locker";  // as LogComponentErr sets it

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
    EXPECT_EQ(l.component, kComponentItem) << l.message;
    EXPECT_EQ(l.message.rfind(std::string("Component ") + kImpl + " reported: '", 0), 0u) << l.message;
  }
  // Starts the component against a server of `options.version` and
  // checks that every line went through log_builtins and nothing to stderr.
  void ExpectLoggedThroughTheServer(const ServerLogOptions& options) {
    InstallServerLogServices(options);
    ::testing::internal::CaptureStderr();
    int rc = -1;
    auto host = Start(&rc);
    const std::string err = ::testing::internal::GetCapturedStderr();
    ASSERT_NE(host, nullptr);
    ASSERT_EQ(rc, 0);
    auto started = LinesContaining("loaded " + plugin_dir_);
    ASSERT_EQ(started.size(), 1u) << options.version << "\n" << err;
    EXPECT_EQ(started[0].prio, 3);
    ExpectLogComponentErrShape(started[0]);
    EXPECT_EQ(err.find(kImpl), std::string::npos) << err;
    Unload(host);  // also: no trap slot was called
  }
  // Starts the component against a server of `options.version` and checks
  // that it logged to stderr, said `why` in one Note, and called nothing in
  // log_builtins but (at most) errcode_by_errsymbol.
  void ExpectStderrBecause(const ServerLogOptions& options, const std::string& why) {
    InstallServerLogServices(options);
    ::testing::internal::CaptureStderr();
    int rc = -1;
    auto host = Start(&rc);
    ASSERT_NE(host, nullptr);
    ASSERT_EQ(rc, 0);
    // A reload asks again (or not): still one Note.
    ASSERT_EQ(host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir_.c_str(), plugin_dir_.c_str()), 0);
    const std::string err = ::testing::internal::GetCapturedStderr();
    size_t notices = 0;
    for (size_t at = err.find("logging to stderr"); at != std::string::npos; at = err.find("logging to stderr", at + 1))
      ++notices;
    EXPECT_EQ(notices, 1u) << err;
    EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] " + why), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] loaded " + plugin_dir_), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("[Note] [") + kImpl + "] reloaded " + plugin_dir_), std::string::npos) << err;
    EXPECT_TRUE(ComponentLogLines().empty());
    Unload(host);
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

// The harness's own reading of the release headers, which the component's
// choice is checked against below.
TEST(LogBuiltinsTables, HarnessKnowsTheVerifiedBoundaries) {
  EXPECT_EQ(LogBuiltinsTableOf("8.0.38"), LogBuiltinsTable::kUnknown);
  EXPECT_EQ(LogBuiltinsTableOf("8.0.39"), LogBuiltinsTable::kWithoutLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("8.0.44-35"), LogBuiltinsTable::kWithoutLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("8.3.0"), LogBuiltinsTable::kUnknown);
  EXPECT_EQ(LogBuiltinsTableOf("8.4.0"), LogBuiltinsTable::kWithoutLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("8.4.7-log"), LogBuiltinsTable::kWithoutLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("8.4.8"), LogBuiltinsTable::kWithLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("9.2.0"), LogBuiltinsTable::kUnknown);
  EXPECT_EQ(LogBuiltinsTableOf("9.3.0"), LogBuiltinsTable::kWithLineSetFlag);
  EXPECT_EQ(LogBuiltinsTableOf("10.0.0"), LogBuiltinsTable::kUnknown);
  EXPECT_EQ(LogBuiltinsTableOf("mysql"), LogBuiltinsTable::kUnknown);
}

// The last 8.4 without line_set_flag: the old slots.
TEST_F(ComponentLog, MySql847UsesTheTableWithoutLineSetFlag) {
  ASSERT_EQ(LogBuiltinsTableOf("8.4.7"), LogBuiltinsTable::kWithoutLineSetFlag);
  ExpectLoggedThroughTheServer({"8.4.7"});
}

// 8.4 took line_set_flag over in a patch release: the 9.x slots.
TEST_F(ComponentLog, MySql849UsesTheTableWithLineSetFlag) {
  ASSERT_EQ(LogBuiltinsTableOf("8.4.9"), LogBuiltinsTable::kWithLineSetFlag);
  ExpectLoggedThroughTheServer({"8.4.9"});
}

TEST_F(ComponentLog, MySql930UsesTheTableWithLineSetFlag) {
  ASSERT_EQ(LogBuiltinsTableOf("9.3.0-commercial"), LogBuiltinsTable::kWithLineSetFlag);
  ExpectLoggedThroughTheServer({"9.3.0-commercial"});
}

TEST_F(ComponentLog, MySql8044UsesTheTableWithoutLineSetFlag) {
  ExpectLoggedThroughTheServer({"8.0.44"});
}

// 9.0 .. 9.2: nobody read their headers; every slot is a trap here.
TEST_F(ComponentLog, MySql901LogsToStderr) {
  ASSERT_EQ(LogBuiltinsTableOf("9.0.1"), LogBuiltinsTable::kUnknown);
  ExpectStderrBecause({"9.0.1"}, "log_builtins layout of MySQL 9.0.1 is not verified by keyring_locker; "
                                 "logging to stderr");
}

TEST_F(ComponentLog, MySql8030LogsToStderr) {
  ASSERT_EQ(LogBuiltinsTableOf("8.0.30"), LogBuiltinsTable::kUnknown);
  ExpectStderrBecause({"8.0.30"}, "log_builtins layout of MySQL 8.0.30 is not verified by keyring_locker; "
                                  "logging to stderr");
}

// A table that does not match the server answers ER_LOG_PRINTF_MSG with
// whatever the slot it called returns, often a pointer.
TEST_F(ComponentLog, ErLogPrintfMsgOutOfRangeLogsToStderr) {
  ServerLogOptions pointer_like;
  pointer_like.er_log_printf_msg = 0x7f3a12345678;
  ExpectStderrBecause(pointer_like, "log_builtins of MySQL 8.4.3");
  ClearComponentLog();
  ServerLogOptions above;
  above.version = "9.3.0";
  above.er_log_printf_msg = 65536;
  ExpectStderrBecause(above, "log_builtins of MySQL 9.3.0 (taken as the table with line_set_flag) answered "
                             "ER_LOG_PRINTF_MSG with 65536, not an error code between 1 and 65535; logging to stderr");
}

// LOG_BUFF_MAX: the server keeps at most 8191 bytes of a message; longer
// ones are cut, never at half a UTF-8 character.
TEST_F(ComponentLog, LongMessagesAreCutAtLogBuffMax) {
  InstallServerLogServices({});
  int rc = -1;
  auto host = Start(&rc);
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(rc, 0);
  // An unknown config option is named in the error: make it 10000 bytes.
  std::string option = "x";
  for (int i = 0; i < 5000; ++i) option += "\xc3\xa9";  // U+00E9, two bytes
  const std::string cnf = plugin_dir_ + "/component_keyring_locker.cnf";
  std::ofstream(cnf, std::ios::trunc) << "{\"" << option << "\": 1}";
  ClearComponentLog();
  EXPECT_NE(host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir_.c_str(), plugin_dir_.c_str()), 0);
  auto refused = LinesContaining(option.substr(0, 101));
  ASSERT_EQ(refused.size(), 1u);
  const std::string& m = refused[0].message;
  EXPECT_GE(m.size(), 8190u);
  EXPECT_LE(m.size(), 8191u);
  ExpectLogComponentErrShape(refused[0]);
  // The last character is whole: a two-byte sequence, not its lead byte.
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(m.back()), 0xa9u) << "cut inside a character";
  Unload(host);
}

TEST_F(ComponentLog, WithoutLogServicesStderrWithSeveritySaidOnce) {
  // A reload asks the registry again; the reason is not repeated.
  ExpectStderrBecause({"8.0.44", /*log_builtins=*/false, true}, "the registry offers no log_builtins (yet)");
}

TEST_F(ComponentLog, UnknownServerVersionNeverGuessesTheMethodTable) {
  ExpectStderrBecause({"10.2.0"}, "log_builtins layout of MySQL 10.2.0 is not verified by keyring_locker; "
                                  "logging to stderr");
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
