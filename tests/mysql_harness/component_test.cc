// component_keyring_locker as mysqld's dynamic loader and keyring code use
// it: descriptor, registry, load/reload, the reader/writer/generator/
// iterator contract, status rows and keyring_aes against openssl vectors.
#include <sys/stat.h>

#include <cstring>
#include <chrono>
#include <fstream>
#include <set>

#include "tests/mysql_harness/component_host.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/support/fifo_util.h"

namespace mysqlh {
namespace {

const char* kImpl = "component_keyring_locker";

TEST(ComponentAbi, ProvidesTheEightKeyringServices) {
  std::string error;
  auto names = DefinedDynamicSymbols(ComponentPath(), &error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(names, std::vector<std::string>{"list_components"});

  auto host = ComponentHost::Load(ComponentPath(), &error);
  ASSERT_NE(host, nullptr) << error;
  EXPECT_STREQ(host->component().name, kImpl);
  std::vector<std::string> provided;
  for (auto* p = host->component().provides; p->name != nullptr; ++p) {
    provided.push_back(p->name);
    EXPECT_NE(p->implementation, nullptr) << p->name;
  }
  std::vector<std::string> want;
  for (const char* s : {"keyring_reader_with_status", "keyring_writer", "keyring_generator",
                        "keyring_keys_metadata_iterator", "keyring_component_status",
                        "keyring_component_metadata_query", "keyring_load", "keyring_aes"}) {
    want.push_back(std::string(s) + "." + kImpl);
  }
  EXPECT_EQ(provided, want);
  ASSERT_NE(host->component().requires_, nullptr);
  EXPECT_STREQ(host->component().requires_[0].name, "registry");
  ASSERT_NE(host->component().metadata, nullptr);
  EXPECT_NE(host->component().metadata[0].key, nullptr);
  // Not initialized until keyring_load->load has run.
  auto* status = host->Acquire<s_keyring_component_status>("keyring_component_status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->is_initialized(), 0);
  EXPECT_TRUE(host->Unload(&error)) << error;
}

class ComponentTest : public HarnessTest {
 protected:
  void SetUp() override {
    HarnessTest::SetUp();
    plugin_dir_ = dir_ + "/plugin";
    data_dir_ = dir_ + "/data";
    mkdir(plugin_dir_.c_str(), 0700);
    mkdir(data_dir_.c_str(), 0700);
  }
  void WriteCnf(const std::string& dir, const std::string& text) {
    const std::string path = dir + "/component_keyring_locker.cnf";
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
  }
  // The component in memory with its configuration written, keyring_load
  // not yet called.
  std::unique_ptr<ComponentHost> LoadUninitialized(const std::string& scope, const std::string& extra = "{}") {
    WriteCnf(plugin_dir_, "{\"read_local_config\": true}");
    WriteCnf(data_dir_, ConfigJson(scope, extra));
    std::string error;
    auto host = ComponentHost::Load(ComponentPath(), &error);
    EXPECT_NE(host, nullptr) << error;
    return host;
  }
  std::unique_ptr<ComponentHost> LoadComponent(const std::string& scope, const std::string& extra = "{}") {
    auto host = LoadUninitialized(scope, extra);
    if (host == nullptr) return nullptr;
    auto* load = host->Acquire<s_keyring_load>("keyring_load");
    EXPECT_EQ(load->load(plugin_dir_.c_str(), data_dir_.c_str()), 0);
    return host;
  }
  // keyring_load->load (a first load or a reload) while every locker reply
  // takes `delay_ms`: its result and how long it took.
  std::pair<int, std::chrono::milliseconds> LoadWhileTheLockerCrawls(ComponentHost& host, int delay_ms) {
    auto* load = host.Acquire<s_keyring_load>("keyring_load");
    locker_->InjectFault({{"action", "delay"}, {"delay_ms", delay_ms}});
    const auto start = std::chrono::steady_clock::now();
    const int rc = load->load(plugin_dir_.c_str(), data_dir_.c_str());
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    locker_->ClearFaults();
    return {rc, took};
  }
  // The server's read: init, fetch_length, fetch into buffers of that size.
  static bool Read(ComponentHost& host, const char* id, const char* auth, std::vector<uint8_t>* key, std::string* type) {
    auto* r = host.Acquire<s_keyring_reader_with_status>("keyring_reader_with_status");
    h_reader h = nullptr;
    if (r->init(id, auth, &h) != 0) return false;
    if (h == nullptr) {
      key->clear();
      return true;
    }
    size_t len = 0, type_len = 0;
    EXPECT_EQ(r->fetch_length(h, &len, &type_len), 0);
    key->assign(len, 0);
    std::vector<char> t(type_len + 1, 'x');
    size_t got = 0, got_type = 0;
    EXPECT_NE(r->fetch(h, key->data(), len - 1, &got, t.data(), t.size(), &got_type), 0) << "short buffer accepted";
    EXPECT_EQ(r->fetch(h, key->data(), len, &got, t.data(), t.size(), &got_type), 0);
    EXPECT_EQ(got, len);
    EXPECT_EQ(got_type, type_len);
    *type = std::string(t.data(), got_type);
    EXPECT_EQ(r->deinit(h), 0);
    return true;
  }
  std::map<std::string, std::string> StatusRows(ComponentHost& host) {
    auto* q = host.Acquire<s_keyring_component_metadata_query>("keyring_component_metadata_query");
    std::map<std::string, std::string> rows;
    h_iter it = nullptr;
    EXPECT_EQ(q->init(&it), 0);
    for (; q->is_valid(it) == 1; q->next(it)) {
      size_t kl = 0, vl = 0;
      EXPECT_EQ(q->get_length(it, &kl, &vl), 0);
      std::vector<char> k(kl + 1), v(vl + 1);
      EXPECT_EQ(q->get(it, k.data(), k.size(), v.data(), v.size()), 0);
      rows[k.data()] = v.data();
    }
    EXPECT_EQ(q->deinit(it), 0);
    return rows;
  }
  std::string plugin_dir_, data_dir_;
};

TEST_F(ComponentTest, KeyringServicesFollowTheServerContract) {
  auto host = LoadComponent("mysql/component");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Acquire<s_keyring_component_status>("keyring_component_status")->is_initialized(), 1);
  auto* writer = host->Acquire<s_keyring_writer>("keyring_writer");
  auto* gen = host->Acquire<s_keyring_generator>("keyring_generator");
  std::vector<uint8_t> key;
  std::string type;

  ASSERT_TRUE(Read(*host, "absent", nullptr, &key, &type));
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(gen->generate("INNODBKey-u-1", nullptr, "AES", 32), 0);
  EXPECT_NE(gen->generate("INNODBKey-u-1", nullptr, "AES", 32), 0) << "never overwrite";
  ASSERT_TRUE(Read(*host, "INNODBKey-u-1", nullptr, &key, &type));
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(type, "AES");
  const std::vector<uint8_t> rec = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(writer->store("MySQLReplicationKey_u", "", rec.data(), rec.size(), "AES"), 0);
  EXPECT_EQ(writer->store("secret", "root@localhost", rec.data(), 4, "SECRET"), 0);
  // Only the types and lengths MySQL's own keyrings accept (issue #15).
  EXPECT_NE(gen->generate("xyz", nullptr, "XYZ", 32), 0);
  EXPECT_NE(gen->generate("aes17", nullptr, "AES", 17), 0);
  EXPECT_NE(writer->store("xyz", nullptr, rec.data(), rec.size(), "XYZ"), 0);
  EXPECT_NE(writer->store("aes4", nullptr, rec.data(), 4, "AES"), 0);
  ASSERT_TRUE(Read(*host, "xyz", nullptr, &key, &type));
  EXPECT_TRUE(key.empty()) << "a refused key was stored";
  ASSERT_TRUE(Read(*host, "MySQLReplicationKey_u", nullptr, &key, &type));  // "" and NULL are the same owner
  EXPECT_EQ(key, rec);
  EXPECT_EQ(writer->remove("MySQLReplicationKey_u", nullptr), 0);
  EXPECT_EQ(writer->remove("MySQLReplicationKey_u", nullptr), 0) << "absent key: success";
  ASSERT_TRUE(Read(*host, "MySQLReplicationKey_u", nullptr, &key, &type));
  EXPECT_TRUE(key.empty());

  auto* iter = host->Acquire<s_keyring_keys_metadata_iterator>("keyring_keys_metadata_iterator");
  h_iter it = nullptr;
  ASSERT_EQ(iter->init(&it), 0);
  std::set<std::pair<std::string, std::string>> listed;
  for (; iter->is_valid(it) == 1; iter->next(it)) {
    size_t il = 0, al = 0;
    ASSERT_EQ(iter->get_length(it, &il, &al), 0);
    std::vector<char> id(il + 1), auth(al + 1);
    EXPECT_NE(iter->get(it, id.data(), il, auth.data(), auth.size()), 0) << "no room for the NUL";
    ASSERT_EQ(iter->get(it, id.data(), id.size(), auth.data(), auth.size()), 0);
    listed.emplace(id.data(), auth.data());
  }
  EXPECT_NE(iter->next(it), 0);
  EXPECT_EQ(iter->deinit(it), 0);
  EXPECT_EQ(listed, (std::set<std::pair<std::string, std::string>>{{"INNODBKey-u-1", ""}, {"secret", "root@localhost"}}));

  auto rows = StatusRows(*host);
  EXPECT_EQ(rows["Component_status"], "Active");
  EXPECT_EQ(rows["Scope"], KeyPrefix() + "/mysql/component");
  EXPECT_EQ(rows["Config_file"], data_dir_ + "/component_keyring_locker.cnf");
  EXPECT_EQ(rows["Active_endpoint"], LockerEndpoint());
  EXPECT_EQ(rows["Locker_health"], "ok");
  EXPECT_NE(rows["Locker"].find(std::string(LockerKindName(kind_)) + " "), std::string::npos) << rows["Locker"];
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

TEST_F(ComponentTest, ReloadSwitchesConfigAndKeepsTheOldOneOnFailure) {
  auto host = LoadComponent("mysql/a");
  ASSERT_NE(host, nullptr);
  auto* gen = host->Acquire<s_keyring_generator>("keyring_generator");
  auto* load = host->Acquire<s_keyring_load>("keyring_load");
  ASSERT_EQ(gen->generate("k", nullptr, "AES", 32), 0);
  std::vector<uint8_t> key_a;
  std::string type;
  ASSERT_TRUE(Read(*host, "k", nullptr, &key_a, &type));

  // ALTER INSTANCE RELOAD KEYRING with a broken file: refused, old config serves.
  WriteCnf(data_dir_, "{\"locker\": ");
  EXPECT_NE(load->load(plugin_dir_.c_str(), data_dir_.c_str()), 0);
  std::vector<uint8_t> again;
  ASSERT_TRUE(Read(*host, "k", nullptr, &again, &type));
  EXPECT_EQ(again, key_a);
  // World-writable config: refused with the reason.
  WriteCnf(data_dir_, ConfigJson("mysql/b"));
  chmod((data_dir_ + "/component_keyring_locker.cnf").c_str(), 0666);
  EXPECT_NE(load->load(plugin_dir_.c_str(), data_dir_.c_str()), 0);
  // A good new scope: its keys, not the old ones.
  chmod((data_dir_ + "/component_keyring_locker.cnf").c_str(), 0600);
  ASSERT_EQ(load->load(plugin_dir_.c_str(), data_dir_.c_str()), 0);
  std::vector<uint8_t> key_b;
  ASSERT_TRUE(Read(*host, "k", nullptr, &key_b, &type));
  EXPECT_TRUE(key_b.empty());
  EXPECT_EQ(StatusRows(*host)["Scope"], KeyPrefix() + "/mysql/b");
  // The plugin directory's own config (no read_local_config) works too.
  WriteCnf(plugin_dir_, ConfigJson("mysql/a"));
  ASSERT_EQ(load->load(plugin_dir_.c_str(), data_dir_.c_str()), 0);
  ASSERT_TRUE(Read(*host, "k", nullptr, &again, &type));
  EXPECT_EQ(again, key_a);
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

// Issue #15: the configuration was read with std::ifstream, which blocks
// on a FIFO until a writer appears: the server start hung. Now refused at
// once (the reason goes to the error log).
TEST_F(ComponentTest, FifoAsConfigIsRefusedWithoutBlocking) {
  auto host = LoadUninitialized("mysql/fifo");
  ASSERT_NE(host, nullptr);
  const std::string path = data_dir_ + "/component_keyring_locker.cnf";
  keyring_locker::testing::Fifo fifo(path, 0600);
  auto* load = host->Acquire<s_keyring_load>("keyring_load");
  const int rc = keyring_locker::testing::WithinBoundedTime(
      fifo, [&] { return load->load(plugin_dir_.c_str(), data_dir_.c_str()); });
  EXPECT_NE(rc, 0);
  EXPECT_EQ(host->Acquire<s_keyring_component_status>("keyring_component_status")->is_initialized(), 0);
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

// Vectors from the openssl command line, independent of this code:
//   K=$(python3 -c "import hashlib;print(hashlib.sha256(bytes(range(32))).hexdigest())")
//   printf 'The quick brown fox jumps over the lazy dog' |
//     openssl enc -aes-256-<mode> -K $K [-iv 000102030405060708090a0b0c0d0e0f] -nosalt | xxd -p
// (mode cfb = cfb128; cbc-nopad: the 32-byte input below with -nopad)
struct AesVector {
  const char* mode;
  const char* hex;
};
const AesVector kVectors[] = {
    {"ecb", "4cbfc9a0754f75d58c8e427726ca009914c0ead2563ac9365cd5030662d7947c1dc2df21e8541f2f7a2825fcd4f1273c"},
    {"cbc", "7f885cf020514f94c6d2ee6c756ef59d9f7e212677e6e0e068375f788a1514dc9ce67a721f90ca359b2aeec14205eda3"},
    {"cfb1", "7256f4057e791a2f66fbac798d2acbb5cb85f707eba55f6069557e599626b05a8ead755448c92b6ffefde0"},
    {"cfb8", "0f3fff9daf92aee76dc87c121843733227d009c7af3c61cb14f7db3129e8d2f62b6a4d82d5a537287463b4"},
    {"cfb128", "0f73e94279eac7e996ed84f2eee01139c4bd5dcd7dd773deb269c05c73692c3c6e9a9ae7be56f90668a3e3"},
    {"ofb", "0f73e94279eac7e996ed84f2eee011393b0b93f095165cdb161f15cd39879f19695a956b69958195e37f3a"},
};

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

TEST_F(ComponentTest, KeyringAesMatchesOpensslCommandLine) {
  auto host = LoadComponent("mysql/aes");
  ASSERT_NE(host, nullptr);
  std::vector<uint8_t> stored(32);
  for (size_t i = 0; i < 32; ++i) stored[i] = static_cast<uint8_t>(i);
  ASSERT_EQ(host->Acquire<s_keyring_writer>("keyring_writer")->store("aes_key", nullptr, stored.data(), 32, "AES"), 0);
  auto* aes = host->Acquire<s_keyring_aes>("keyring_aes");
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  uint8_t iv[16];
  for (int i = 0; i < 16; ++i) iv[i] = static_cast<uint8_t>(i);
  for (const auto& v : kVectors) {
    size_t size = 0;
    ASSERT_EQ(aes->get_size(text.size(), v.mode, 256, &size), 0) << v.mode;
    std::vector<uint8_t> out(size), back(size);
    size_t written = 0, plain = 0;
    ASSERT_EQ(aes->encrypt("aes_key", nullptr, v.mode, 256, iv, 1, in, text.size(), out.data(), out.size(), &written), 0)
        << v.mode;
    EXPECT_EQ(Hex(out.data(), written), v.hex) << v.mode;
    ASSERT_EQ(aes->decrypt("aes_key", nullptr, v.mode, 256, iv, 1, out.data(), written, back.data(), back.size(), &plain),
              0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(back.data()), plain), text) << v.mode;
  }
  const std::string blocks = "0123456789abcdef0123456789abcdef";
  std::vector<uint8_t> out(32);
  size_t written = 0;
  ASSERT_EQ(aes->encrypt("aes_key", nullptr, "cbc", 256, iv, 0, reinterpret_cast<const uint8_t*>(blocks.data()), 32,
                         out.data(), 32, &written), 0);
  EXPECT_EQ(Hex(out.data(), written), "0b97489b026e55ed085e48eacdc53e5dfbcfb4f2eea17a6f9ad4ca3a10907637");
  // Refusals: unknown mode, other block size, short output, missing key.
  size_t size = 0;
  EXPECT_NE(aes->get_size(10, "gcm", 256, &size), 0);
  EXPECT_NE(aes->get_size(10, "cbc", 128, &size), 0);
  EXPECT_NE(aes->encrypt("aes_key", nullptr, "cbc", 256, iv, 1, in, text.size(), out.data(), 16, &written), 0);
  EXPECT_NE(aes->encrypt("no_such_key", nullptr, "cbc", 256, iv, 1, in, 16, out.data(), 32, &written), 0);
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

}  // namespace
// keyring_load->load runs while mysqld starts: with every reply taking 480
// ms (each request alone in time) the open's steps share one
// timeouts.total_ms instead of taking one each; the component loads anyway
// and serves keys once the locker is fast again.
TEST_F(ComponentTest, LoadTakesOneBudgetAtMostWhileTheLockerCrawls) {
  KLK_VAULT_ONLY("every dev locker reply is delayed by fault injection");
  const std::string slow = R"({"timeouts": {"connect_ms": 500, "total_ms": 1000}})";
  {
    auto seeded = LoadComponent("component/limits");
    ASSERT_NE(seeded, nullptr);
    auto* gen = seeded->Acquire<s_keyring_generator>("keyring_generator");
    for (const char* id : {"a", "b", "c"}) ASSERT_EQ(gen->generate(id, "u", "AES", 32), 0) << id;
    std::string error;
    ASSERT_TRUE(seeded->Unload(&error)) << error;
  }
  auto host = LoadUninitialized("component/limits", slow);
  ASSERT_NE(host, nullptr);
  const auto [loaded, took] = LoadWhileTheLockerCrawls(*host, 480);
  EXPECT_EQ(loaded, 0);
  // One budget per step took about 3.4 s; 600 ms of slack for ASan builds.
  EXPECT_LE(took, std::chrono::milliseconds(1600)) << "load took one budget per step";
  std::vector<uint8_t> key;
  std::string type;
  ASSERT_TRUE(Read(*host, "a", "u", &key, &type));
  EXPECT_EQ(key.size(), 32u);
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

// A reload must prove the new locker works (login, mount checks), but a
// scope too large to read within one budget is not a broken locker: with
// every reply taking 150 ms and a 1 s budget, login and mount checks fit and
// reading the versions of four keys does not. The reload succeeds (warning
// logged, the background refresh reads the rest) and serves the keys.
TEST_F(ComponentTest, ReloadSucceedsWhenOnlyTheVersionReadOfALargeScopeIsCut) {
  KLK_VAULT_ONLY("every dev locker reply is delayed by fault injection");
  const std::string slow = R"({"timeouts": {"connect_ms": 500, "total_ms": 1000}})";
  auto host = LoadComponent("component/reload-cut", slow);
  ASSERT_NE(host, nullptr);
  auto* gen = host->Acquire<s_keyring_generator>("keyring_generator");
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_EQ(gen->generate(id, "u", "AES", 32), 0) << id;

  const auto [reloaded, took] = LoadWhileTheLockerCrawls(*host, 150);
  EXPECT_EQ(reloaded, 0) << "a reload refused because the scope's versions did not fit one budget";
  EXPECT_LE(took, std::chrono::milliseconds(1600));
  std::vector<uint8_t> key;
  std::string type;
  for (const char* id : {"a", "d"}) {
    ASSERT_TRUE(Read(*host, id, "u", &key, &type)) << id;
    EXPECT_EQ(key.size(), 32u) << id;
  }
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
}

}  // namespace mysqlh
