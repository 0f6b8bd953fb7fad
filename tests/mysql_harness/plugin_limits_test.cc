// "The plugin never blocks a server thread longer than the configured total
// timeout", for the MySQL keyring plugin: with the locker hanging or slow,
// every keyring call mysqld makes (fetch of an uncached key, generate,
// store, remove) returns within timeouts.total_ms, and a cached fetch does
// not wait at all.
#include <chrono>
#include <functional>
#include <string>

#include "tests/mysql_harness/harness_fixture.h"

namespace mysqlh {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kTotal = 1000ms;
constexpr auto kSlack = 250ms;  // thread wake-ups and sanitizer builds on two shared cores

class PluginLimits : public HarnessTest {
 protected:
  std::unique_ptr<PluginHost> Start(const std::string& scope) {
    const std::string cnf = WriteConfig("limits.cnf", scope, R"({"timeouts": {"connect_ms": 500, "total_ms": 1000}})");
    std::string error;
    auto host = PluginHost::Load(PluginPath(), &error);
    if (host == nullptr || !host->Init(cnf, &error)) {
      ADD_FAILURE() << "plugin did not start: " << error;
      return nullptr;
    }
    return host;
  }
  static long Millis(const std::function<void()>& f) {
    const auto start = Clock::now();
    f();
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }
};

TEST_F(PluginLimits, EveryKeyringCallReturnsWithinTotalWhileTheLockerHangsOrCrawls) {
  KLK_VAULT_ONLY("hangs and delays the dev locker by fault injection");
  auto host = Start("mysql/limits");
  ASSERT_NE(host, nullptr);
  ASSERT_FALSE(host->Generate("cached", "AES", 32));
  ASSERT_FALSE(host->Fetch("cached").error);

  for (const char* action : {"hang", "delay"}) {
    SCOPED_TRACE(action);
    // hang: no answer for 20 s. delay: every reply after 480 ms, under the
    // per-attempt cap, so only the call's shared budget ends a call of
    // several requests in time.
    locker_->InjectFault({{"action", action}, {"delay_ms", std::string(action) == "hang" ? 20000 : 480}});
    const std::string suffix = std::string("-") + action;
    PluginHost::Fetched cached;
    EXPECT_LT(Millis([&] { cached = host->Fetch("cached"); }), 50) << "a cached fetch waited for the locker";
    EXPECT_FALSE(cached.error);
    EXPECT_TRUE(cached.found);
    long took = Millis([&] { (void)host->Fetch("never-seen" + suffix); });
    EXPECT_LE(took, (kTotal + kSlack).count()) << "fetch of an uncached key";
    bool failed = false;
    took = Millis([&] { failed = host->Generate("new" + suffix, "AES", 32); });
    EXPECT_LE(took, (kTotal + kSlack).count()) << "generate";
    if (std::string(action) == "hang") {
      EXPECT_TRUE(failed) << "generate succeeded against a hanging locker";
    }
    took = Millis([&] { (void)host->Store("stored" + suffix, "AES", std::vector<uint8_t>(32, 7)); });
    EXPECT_LE(took, (kTotal + kSlack).count()) << "store";
    took = Millis([&] { (void)host->Remove("cached-not-removed" + suffix); });
    EXPECT_LE(took, (kTotal + kSlack).count()) << "remove";
    locker_->ClearFaults();
  }
  // The locker is back: the cached key is unchanged and new keys work.
  EXPECT_FALSE(host->Fetch("cached").error);
  EXPECT_FALSE(host->Generate("after", "AES", 32));
  StopPlugin(host);
}

// mysqld's start waits for the plugin's init: with every reply taking 480 ms
// (each request alone in time), the open's steps (token lookup, mount checks,
// Transit key check, listing the scope) share one budget instead of taking
// one each. The plugin starts anyway (a slow locker must not keep mysqld
// down) and works once the locker is fast again.
TEST_F(PluginLimits, InitTakesOneBudgetAtMostWhileTheLockerCrawls) {
  KLK_VAULT_ONLY("hangs and delays the dev locker by fault injection");
  {
    auto seeded = Start("mysql/limits-init");  // a scope with keys, so the open has versions to read
    ASSERT_NE(seeded, nullptr);
    for (const char* id : {"a", "b", "c"}) ASSERT_FALSE(seeded->Generate(id, "AES", 32)) << id;
    StopPlugin(seeded);
  }
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 480}});
  std::unique_ptr<PluginHost> host;
  const long took = Millis([&] { host = Start("mysql/limits-init"); });
  locker_->ClearFaults();
  ASSERT_NE(host, nullptr);
  // Loading the .so and reading the config count too (ASan builds: slow):
  // 600 ms of slack. One budget per step took 3.4 s.
  EXPECT_LE(took, (kTotal + 600ms).count()) << "init took one budget per step";
  EXPECT_FALSE(host->Fetch("a").error);
  EXPECT_TRUE(host->Fetch("a").found);
  EXPECT_FALSE(host->Generate("after-slow-start", "AES", 32));
  StopPlugin(host);
}

}  // namespace
}  // namespace mysqlh
