// Limit: how many requests a server sends the locker (issue #10). A fleet of
// servers shares one locker cluster, so every request per key, per start
// and per refresh tick is multiplied by the fleet. The dev locker counts
// every request it gets (sys/devlocker/stats, by method and path); these
// cases run what the MariaDB plugin runs - the start (plugin_start.h), then
// get_latest_key_version + get_key for every key as InnoDB does when it
// opens the tables - and assert the counts by kind, not times:
//   cold start of a scope with N keys   <= 2N + C, no document read twice
//   creating N new key ids              a constant per key, no listing of the scope
//   an idle refresh tick                a constant, not a listing of every key
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "keyring_backend/backend.h"
#include "plugin/mariadb/key_gate.h"
#include "plugin/mariadb/key_metadata.h"
#include "plugin/mariadb/plugin_start.h"
#include "tests/integration/devlocker_fixture.h"

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DevLocker;

// Requests by kind, from the dev locker's by_method_path.
struct Counts {
  int kv_read = 0;        // GET <kv>/data/...: one key document
  int kv_write = 0;       // POST <kv>/data/...
  int kv_list = 0;        // LIST <kv>/metadata/...: names, or one name's versions
  int transit_decrypt = 0;
  int transit_other = 0;  // encrypt, datakey, key checks
  int other = 0;          // sys/*, auth/*
  int total = 0;
  int max_reads_of_one_document = 0;
  std::string max_read_path;

  std::string ToString() const {
    return "total=" + std::to_string(total) + " kv_read=" + std::to_string(kv_read) +
           " kv_list=" + std::to_string(kv_list) + " transit_decrypt=" + std::to_string(transit_decrypt) +
           " kv_write=" + std::to_string(kv_write) + " transit_other=" + std::to_string(transit_other) +
           " other=" + std::to_string(other) + " max_reads_of_one_document=" +
           std::to_string(max_reads_of_one_document);
  }
};

Counts Classify(const json& stats) {
  Counts c;
  auto by = stats.find("by_method_path");
  if (by == stats.end() || !by->is_object()) return c;
  for (auto it = by->begin(); it != by->end(); ++it) {
    const std::string& key = it.key();
    const int n = it.value().get<int>();
    const std::string method = key.substr(0, key.find(' '));
    const std::string path = key.substr(key.find(' ') + 1);
    c.total += n;
    if (path.rfind("secret/data/", 0) == 0 && method == "GET") {
      c.kv_read += n;
      if (n > c.max_reads_of_one_document) {
        c.max_reads_of_one_document = n;
        c.max_read_path = path;
      }
    } else if (path.rfind("secret/data/", 0) == 0) {
      c.kv_write += n;
    } else if (path.rfind("secret/metadata/", 0) == 0 && method == "LIST") {
      c.kv_list += n;
    } else if (path.rfind("transit/decrypt/", 0) == 0) {
      c.transit_decrypt += n;
    } else if (path.rfind("transit/", 0) == 0) {
      c.transit_other += n;
    } else {
      c.other += n;
    }
  }
  return c;
}

// One MariaDB server: the plugin's start and its two key entry points.
struct Server {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<mariadb::KeyGate> gate;
  std::unique_ptr<mariadb::KeyMetadata> metadata;

  ~Server() {
    metadata.reset();
    gate.reset();
    backend.reset();
  }
  // get_latest_key_version, then get_key of that version: what InnoDB does
  // for each encrypted table it opens.
  void Use(unsigned id) {
    const unsigned v = gate->LatestVersion(id);
    ASSERT_NE(v, mariadb::kKeyVersionInvalid) << "key " << id;
    unsigned char buf[32];
    unsigned len = sizeof buf;
    ASSERT_EQ(gate->GetKey(id, v, buf, &len), 0u) << "key " << id << " version " << v;
  }
};

class LimitsRequestBudget : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("klk_budget." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
  }
  void TearDown() override {
    locker_.reset();
    std::filesystem::remove_all(dir_);
  }

  Config BaseConfig(const std::string& scope) {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.total_timeout = 20s;  // counts, not times: a slow sanitizer build must not cut the start
    const std::string token = dir_ + "/token";
    std::ofstream(token) << locker_->root_token();
    ::chmod(token.c_str(), 0600);
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = token;
    c.keys.scope = scope;
    c.keys.rules.server = KeyServer::kMariaDb;
    c.cache.version_refresh = 3600s;  // no refresh tick unless a case asks for one
    return c;
  }

  // Keys "1".."n" (MariaDB key ids), every `rotated_every`th with 3 versions.
  void Seed(const Config& c, int n, int rotated_every) {
    auto b = Backend::Open(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    for (int i = 1; i <= n; ++i) {
      const std::string name = std::to_string(i);
      ASSERT_TRUE((*b)->keys().EnsureKey(name).ok()) << name;
      if (rotated_every > 0 && i % rotated_every == 0) {
        ASSERT_TRUE((*b)->keys().Rotate(name).ok()) << name;
        ASSERT_TRUE((*b)->keys().Rotate(name).ok()) << name;
      }
    }
  }

  // The plugin's start (plugin_main.cc InitEncryption, without the server).
  std::unique_ptr<Server> Start(const Config& c) {
    auto server = std::make_unique<Server>();
    mariadb::StartOptions options;
    options.datadir_marker = dir_ + "/keyring_locker.datadir";
    options.log_note = [](const std::string&) {};
    options.log_warning = [](const std::string& m) { ADD_FAILURE() << "warning: " << m; };
    options.log_error = [](const std::string& m) { ADD_FAILURE() << "error: " << m; };
    options.on_new_version = [srv = server.get()] {
      if (srv->metadata) srv->metadata->RequestRefresh();
    };
    auto started = mariadb::StartKeys(c, options);
    if (!started.ok()) {
      ADD_FAILURE() << started.status().ToString();
      return nullptr;
    }
    server->backend = std::move(started->backend);
    server->gate = std::move(started->gate);
    server->metadata = std::move(started->metadata);
    return server;
  }

  void ResetStats() { locker_->Call("DELETE", "sys/devlocker/stats"); }
  // Background work (metadata snapshots, refreshes) settles: the count
  // stops moving for a second (or `at_most` passes: refresh ticks never stop).
  Counts Settle(std::chrono::milliseconds at_most = 30s) {
    int last = -1, still = 0;
    for (int i = 0; i < at_most / 250ms && still < 4; ++i) {
      std::this_thread::sleep_for(250ms);
      const int now = locker_->Stats().value("requests", 0);
      still = now == last ? still + 1 : 0;
      last = now;
    }
    return Classify(locker_->Stats());
  }

  std::string dir_;
  std::unique_ptr<DevLocker> locker_;
};

// What a restart with N keys costs, every key opened once. Budget: a
// listing of the names and one of each key's versions, one document read
// per key version in use, Transit decrypts in batches; plus a constant
// (login, mount and Transit key checks, keys 1 and 2, the datadir check).
void ExpectColdStartWithinBudget(const Counts& c, int n) {
  constexpr int kConstant = 16;
  EXPECT_LE(c.total, 2 * n + kConstant) << c.ToString();
  EXPECT_LE(c.kv_read, n) << c.ToString();
  EXPECT_LE(c.kv_list, n + 4) << c.ToString();
  EXPECT_EQ(c.max_reads_of_one_document, 1) << c.max_read_path << " was read more than once: " << c.ToString();
}

class ColdStart : public LimitsRequestBudget, public ::testing::WithParamInterface<int> {};

TEST_P(ColdStart, CostsAtMostTwoRequestsPerKeyAndReadsNoDocumentTwice) {
  const int n = GetParam();
  const Config c = BaseConfig("budget/cold" + std::to_string(n));
  Seed(c, n, 5);
  ResetStats();
  auto server = Start(c);
  ASSERT_NE(server, nullptr);
  for (int id = 1; id <= n; ++id) server->Use(static_cast<unsigned>(id));
  const Counts counts = Settle();
  std::cout << "[ counts  ] cold start N=" << n << ": " << counts.ToString() << "\n";
  ExpectColdStartWithinBudget(counts, n);

  // SHOW STATUS rows of the old versions (every 5th key has two) are read
  // once SHOW STATUS asks for them, each record once; nothing else.
  server->metadata->Shown();
  const Counts shown = Settle();
  EXPECT_EQ(shown.kv_read - counts.kv_read, 2 * (n / 5)) << shown.ToString();
  EXPECT_EQ(shown.total - counts.total, 2 * (n / 5)) << shown.ToString();
  EXPECT_EQ(shown.max_reads_of_one_document, 1) << shown.max_read_path;
  for (const auto& row : server->metadata->Current()->rows) {
    EXPECT_EQ(row.value.find("not read yet"), std::string::npos) << row.name << "=" << row.value;
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, ColdStart, ::testing::Values(50, 200));

TEST_F(LimitsRequestBudget, CreatingAKeyCostsAConstantNotAListingOfTheScope) {
  constexpr int kExisting = 100, kNew = 50;
  const Config c = BaseConfig("budget/create");
  Seed(c, kExisting, 0);
  auto server = Start(c);
  ASSERT_NE(server, nullptr);
  Settle();
  ResetStats();
  for (int id = kExisting + 1; id <= kExisting + kNew; ++id) server->Use(static_cast<unsigned>(id));
  const Counts counts = Settle();
  std::cout << "[ counts  ] create N=" << kNew << " in a scope of " << kExisting << ": " << counts.ToString() << "\n";
  // Per new key: one listing of its versions (is it there?), a Transit data
  // key, its wrap and the create-only write. Nothing is read back.
  EXPECT_LE(counts.total, 4 * kNew + 4) << counts.ToString();
  EXPECT_EQ(counts.kv_write, kNew) << counts.ToString();
  EXPECT_LE(counts.kv_list, kNew + 2) << counts.ToString();
  EXPECT_LE(counts.kv_read, 2) << counts.ToString();
}

TEST_F(LimitsRequestBudget, AnIdleRefreshTickCostsAConstantNotOneRequestPerKey) {
  constexpr int kKeys = 100;
  Config c = BaseConfig("budget/idle");
  Seed(c, kKeys, 10);
  c.cache.version_refresh = 1s;
  auto server = Start(c);
  ASSERT_NE(server, nullptr);
  for (int id = 1; id <= kKeys; ++id) server->Use(static_cast<unsigned>(id));
  Settle(3s);
  ResetStats();
  const auto before = server->backend->keys().stats().refresh_ticks;
  std::this_thread::sleep_for(5500ms);
  const Counts counts = Classify(locker_->Stats());
  const auto ticks = server->backend->keys().stats().refresh_ticks - before;
  std::cout << "[ counts  ] idle " << ticks << " ticks, " << kKeys << " keys: " << counts.ToString() << "\n";
  ASSERT_GE(ticks, 3u);
  // Per tick: one listing of the names plus a bounded slice of version
  // listings (KeyServiceOptions::refresh_slice), never a listing of every key.
  EXPECT_LE(counts.total, static_cast<int>(ticks + 1) * 10) << counts.ToString();
  EXPECT_EQ(counts.kv_read, 0) << counts.ToString();
  EXPECT_EQ(counts.transit_decrypt, 0) << counts.ToString();
}

}  // namespace
}  // namespace keyring_locker
