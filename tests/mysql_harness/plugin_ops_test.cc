// Operations around the keyring: migration (plugin -> component ->
// plugin), a locker outage during rotation, and fetches from many threads
// while InnoDB rotates.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/mysql_harness/component_host.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"

namespace mysqlh {
namespace {

const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
using KeyMap = std::map<std::pair<std::string, std::string>, std::vector<uint8_t>>;

class Operations : public HarnessTest {
 protected:
  std::unique_ptr<ComponentHost> LoadComponent(const std::string& scope) {
    const std::string plugin_dir = dir_ + "/component-" + std::to_string(++components_);
    mkdir(plugin_dir.c_str(), 0700);
    const std::string cnf = plugin_dir + "/component_keyring_locker.cnf";
    std::ofstream(cnf) << ConfigJson(scope);
    chmod(cnf.c_str(), 0600);
    std::string error;
    auto host = ComponentHost::Load(ComponentPath(), &error);
    EXPECT_NE(host, nullptr) << error;
    if (host && host->Acquire<s_keyring_load>("keyring_load")->load(plugin_dir.c_str(), dir_.c_str()) != 0) {
      ADD_FAILURE() << "component load failed";
    }
    return host;
  }
  static bool ComponentRead(ComponentHost& c, const std::string& id, const std::string& user, std::vector<uint8_t>* key,
                            std::string* type) {
    auto* r = c.Acquire<s_keyring_reader_with_status>("keyring_reader_with_status");
    h_reader h = nullptr;
    if (r->init(id.c_str(), user.c_str(), &h) != 0 || h == nullptr) return false;
    size_t len = 0, tlen = 0, got = 0, gott = 0;
    r->fetch_length(h, &len, &tlen);
    key->assign(len, 0);
    std::vector<char> t(tlen + 1);
    const bool ok = r->fetch(h, key->data(), len, &got, t.data(), t.size(), &gott) == 0;
    *type = std::string(t.data(), gott);
    r->deinit(h);
    return ok;
  }
  int components_ = 0;
};

TEST_F(Operations, MigrationPluginToComponentAndBack) {
  // Source: the plugin with InnoDB, binlog and user keys.
  auto plugin = StartPlugin("mysql/src");
  ASSERT_NE(plugin, nullptr);
  KeyMap source;
  for (int i = 1; i <= 3; ++i) ASSERT_FALSE(plugin->Generate(innodb::MasterKeyName(kUuid, i), "AES", 32));
  ASSERT_FALSE(plugin->Store("MySQLReplicationKey_" + kUuid, "AES", std::vector<uint8_t>(16, 1)));
  ASSERT_FALSE(plugin->Store("k", "SECRET", {9, 8, 7}, "app@%"));
  ASSERT_FALSE(plugin->Generate("gone", "AES", 32));
  ASSERT_FALSE(plugin->Remove("gone"));  // removed keys do not migrate

  // mysqld --keyring-migration-source=keyring_locker --keyring-migration-to-component:
  // iterator + fetch from the plugin, store into the component.
  auto component = LoadComponent("mysql/dst");
  ASSERT_NE(component, nullptr);
  auto* writer = component->Acquire<s_keyring_writer>("keyring_writer");
  std::vector<std::pair<std::string, std::string>> ids;
  ASSERT_TRUE(plugin->Iterate(&ids));
  ASSERT_EQ(ids.size(), 5u);
  for (const auto& [id, user] : ids) {
    auto f = plugin->Fetch(id, user.empty() ? nullptr : user.c_str());
    ASSERT_TRUE(f.found) << id;
    source[{id, user}] = f.key;
    ASSERT_EQ(writer->store(id.c_str(), user.c_str(), f.key.data(), f.key.size(), f.type.c_str()), 0) << id;
  }
  EXPECT_EQ(source.count({"gone", ""}), 0u);
  // Running the migration twice must not overwrite anything.
  EXPECT_NE(writer->store(ids[0].first.c_str(), ids[0].second.c_str(), source.begin()->second.data(), 1, "AES"), 0);
  StopPlugin(plugin);

  // The destination holds byte-identical keys.
  for (const auto& [id, bytes] : source) {
    std::vector<uint8_t> key;
    std::string type;
    ASSERT_TRUE(ComponentRead(*component, id.first, id.second, &key, &type)) << id.first;
    EXPECT_EQ(key, bytes) << id.first;
  }

  // Back again: the component as source (its iterator), the plugin as destination.
  auto* iter = component->Acquire<s_keyring_keys_metadata_iterator>("keyring_keys_metadata_iterator");
  h_iter it = nullptr;
  ASSERT_EQ(iter->init(&it), 0);
  std::vector<std::pair<std::string, std::string>> listed;
  for (; iter->is_valid(it) == 1; iter->next(it)) {
    size_t il = 0, al = 0;
    iter->get_length(it, &il, &al);
    std::vector<char> id(il + 1), auth(al + 1);
    ASSERT_EQ(iter->get(it, id.data(), id.size(), auth.data(), auth.size()), 0);
    listed.emplace_back(id.data(), auth.data());
  }
  iter->deinit(it);
  ASSERT_EQ(listed.size(), source.size());
  plugin = StartPlugin("mysql/dst2");
  ASSERT_NE(plugin, nullptr);
  for (const auto& [id, user] : listed) {
    std::vector<uint8_t> key;
    std::string type;
    ASSERT_TRUE(ComponentRead(*component, id, user, &key, &type));
    ASSERT_FALSE(plugin->Store(id, type, key, user.empty() ? nullptr : user.c_str())) << id;
  }
  for (const auto& [id, bytes] : source) {
    EXPECT_EQ(plugin->Fetch(id.first, id.second.empty() ? nullptr : id.second.c_str()).key, bytes) << id.first;
  }
  StopPlugin(plugin);
  std::string error;
  EXPECT_TRUE(component->Unload(&error)) << error;
  EXPECT_EQ(Allocations().outstanding, 0u);
  EXPECT_EQ(Allocations().foreign_frees, 0u);
}

TEST_F(Operations, LockerOutageDuringRotationLeavesNothingHalfWritten) {
  KLK_VAULT_ONLY("stops, restarts and injects faults into the dev locker");
  // A locker that keeps its state across restarts.
  locker_.reset();
  keyring_locker::testing::DevLocker::Options options;
  options.data_file = dir_ + "/devlocker.json";
  locker_ = keyring_locker::testing::DevLocker::Start(options);
  ASSERT_NE(locker_, nullptr);
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  const std::string k1 = innodb::MasterKeyName(kUuid, 1), k2 = innodb::MasterKeyName(kUuid, 2);
  ASSERT_FALSE(host->Generate(k1, "AES", 32));
  const auto master1 = host->Fetch(k1).key;
  const std::string folder = "secret/metadata/keyring_locker/mysql/db1/keys/" + k2;

  // The KV write fails after Transit made the key: nothing may be left.
  locker_->InjectFault({{"path_prefix", "secret/data/"}, {"method", "POST"}, {"action", "status"}, {"status", 503}});
  EXPECT_TRUE(host->Generate(k2, "AES", 32)) << "rotation must fail when the key cannot be stored";
  locker_->ClearFaults();
  EXPECT_EQ(locker_->Call("LIST", folder).status, 404) << "a failed rotation left a document behind";
  EXPECT_FALSE(host->Fetch(k2).found);

  // The locker goes away entirely: rotation fails, the current key is still served.
  locker_->Stop();
  EXPECT_TRUE(host->Generate(k2, "AES", 32));
  auto served = host->Fetch(k1);
  EXPECT_FALSE(served.error) << "a cached master key must be served while the locker is down";
  EXPECT_EQ(served.key, master1);
  EXPECT_NE(host->StatusVariables()["keyring_locker_last_error"], "");
  ASSERT_TRUE(locker_->Restart());
  EXPECT_EQ(locker_->Call("LIST", folder).status, 404);

  // Retried rotation succeeds and survives a plugin restart.
  ASSERT_FALSE(host->Generate(k2, "AES", 32));
  const auto master2 = host->Fetch(k2).key;
  EXPECT_EQ(master2.size(), 32u);
  StopPlugin(host);
  host = StartPlugin();
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Fetch(k1).key, master1);
  EXPECT_EQ(host->Fetch(k2).key, master2);
  StopPlugin(host);
  EXPECT_EQ(Allocations().outstanding, 0u);
}

TEST_F(Operations, ConcurrentFetchesDuringRotation) {
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  // 10 against PyKMIP: the twelve fetching threads share the two cores
  // with it, and it spends ~10 ms of Python per request.
  const uint32_t kRotations = kmip() ? 10 : 20;
  std::vector<std::vector<uint8_t>> masters(kRotations + 2);
  std::atomic<uint32_t> latest{1};
  ASSERT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, 1), "AES", 32));
  masters[1] = host->Fetch(innodb::MasterKeyName(kUuid, 1)).key;

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, mismatches{0}, fetches{0};
  std::mutex seen_mu;
  std::map<uint32_t, std::vector<uint8_t>> seen;  // first bytes each thread saw per id
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      uint32_t i = static_cast<uint32_t>(t);
      while (!stop.load()) {
        const uint32_t id = 1 + (i++ % latest.load());
        auto f = host->Fetch(innodb::MasterKeyName(kUuid, id));
        ++fetches;
        if (f.error || !f.found) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(seen_mu);
        auto [it, inserted] = seen.emplace(id, f.key);
        if (!inserted && it->second != f.key) ++mismatches;
      }
    });
  }
  for (uint32_t n = 2; n <= kRotations + 1; ++n) {
    ASSERT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, n), "AES", 32));
    masters[n] = host->Fetch(innodb::MasterKeyName(kUuid, n)).key;
    latest = n;  // published only once the key exists, as InnoDB does
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(fetches.load(), 100);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  for (const auto& [id, bytes] : seen) EXPECT_EQ(bytes, masters[id]) << id;
  StopPlugin(host);
  EXPECT_EQ(Allocations().outstanding, 0u);
  EXPECT_EQ(Allocations().foreign_frees, 0u);
}

}  // namespace
}  // namespace mysqlh
