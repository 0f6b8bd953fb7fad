// Benchmark 5 of issue #11, MySQL side: ALTER INSTANCE ROTATE INNODB MASTER
// KEY as the server runs it (os0enc.cc / fsp0fsp.cc), through the MySQL host
// harness (the plugin dlopen'ed the way mysqld does) against the dev locker
// with its delay fault simulating the network:
//   1. keyring generate of the next master key INNODBKey-<uuid>-<id+1>,
//   2. keyring fetch of it,
//   3. page 0 of every encrypted tablespace re-wrapped with it (local CPU:
//      the tablespace keys stay, only their wrapping changes).
// Each rotation is timed as one sequence; the locker's requests are counted
// per delay (GET /v1/sys/devlocker/stats).
//
//   build/bin/mysql_rotation_bench [--rotations R] [--tablespaces T] [--delays 0,1,5]
//
// Prints one JSON object per delay (bench/run reads them).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"
#include "tests/mysql_harness/mysql_host.h"

namespace mysqlh {
namespace {

namespace crypto = keyring_locker::crypto;
using keyring_locker::testing::DevLocker;
const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
constexpr size_t kPage = 16384;

crypto::SecureBuffer ToSecure(const std::vector<uint8_t>& v) {
  crypto::SecureBuffer b(v.size());
  std::memcpy(b.data(), v.data(), v.size());
  return b;
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::atoi(item.c_str()));
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

struct Options {
  int rotations = 20;
  int tablespaces = 100;
  std::vector<int> delays{0, 1, 5};
};

int Run(const Options& o) {
  auto locker = DevLocker::Start();
  if (locker == nullptr) return 1;
  char dir_tmpl[] = "/tmp/klk_rotation_bench.XXXXXX";
  if (mkdtemp(dir_tmpl) == nullptr) return 1;
  const std::string dir = dir_tmpl;
  const std::string token = dir + "/token", config = dir + "/keyring_locker.json";
  std::ofstream(token) << locker->root_token();
  chmod(token.c_str(), 0600);
  nlohmann::json c = {
      {"locker", {{"urls", {locker->url()}}}},
      {"keys", {{"scope", "bench/mysql"}}},
      {"auth", {{"method", "token"}, {"token_file", token}}},
      {"tls", {{"ca_file", locker->ca_file()}}},
  };
  std::ofstream(config) << c.dump(2);
  chmod(config.c_str(), 0600);

  std::string error;
  auto host = PluginHost::Load(KLK_MYSQL_PLUGIN_SO, &error);
  if (host == nullptr || !host->Init(config, &error)) {
    std::fprintf(stderr, "mysql_rotation_bench: plugin: %s\n", error.c_str());
    return 1;
  }
  // The first encrypted table: master key 1, and T tablespaces wrapped by it.
  uint32_t current = 1;
  if (host->Generate(innodb::MasterKeyName(kUuid, current), "AES", 32)) {
    std::fprintf(stderr, "mysql_rotation_bench: generating master key 1 failed\n");
    return 1;
  }
  std::vector<uint8_t> master = host->Fetch(innodb::MasterKeyName(kUuid, current)).key;
  std::vector<std::vector<uint8_t>> pages;
  for (int t = 0; t < o.tablespaces; ++t) {
    innodb::TablespaceKey key{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
    pages.emplace_back(kPage, 0);
    if (!innodb::WriteEncryptionInfo(pages.back().data(), kPage, current, kUuid, key, ToSecure(master)).ok()) return 1;
  }

  int rc = 0;
  for (int delay : o.delays) {
    locker->ClearFaults();
    if (delay > 0) locker->InjectFault({{"action", "delay"}, {"delay_ms", delay}, {"count", -1}});
    (void)locker->Call("DELETE", "sys/devlocker/stats");
    std::vector<double> ms, locker_ms;
    for (int r = 0; r < o.rotations; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const uint32_t next = current + 1;
      const std::string name = innodb::MasterKeyName(kUuid, next);
      if (host->Generate(name, "AES", 32)) {
        std::fprintf(stderr, "mysql_rotation_bench: generate %s failed\n", name.c_str());
        rc = 1;
        break;
      }
      auto fetched = host->Fetch(name);
      if (fetched.error || !fetched.found || fetched.key.size() != 32) {
        std::fprintf(stderr, "mysql_rotation_bench: fetch %s failed\n", name.c_str());
        rc = 1;
        break;
      }
      const auto t1 = std::chrono::steady_clock::now();
      const crypto::SecureBuffer old_master = ToSecure(master), new_master = ToSecure(fetched.key);
      for (auto& page : pages) {
        auto h = innodb::ParseEncryptionHeader(page.data(), kPage);
        if (!h.ok()) return 1;
        auto k = innodb::UnwrapTablespaceKey(*h, old_master);
        if (!k.ok() || !innodb::WriteEncryptionInfo(page.data(), kPage, next, kUuid, *k, new_master).ok()) return 1;
      }
      const auto t2 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
      locker_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      master = fetched.key;
      current = next;
    }
    if (rc != 0) break;
    const nlohmann::json st = locker->Stats();
    nlohmann::json by_kind = nlohmann::json::object();
    for (const auto& [path, n] : st["by_path"].items()) {
      std::string kind, named = path;
      const size_t uuid_at = named.find(kUuid);
      if (uuid_at != std::string::npos) named.replace(uuid_at, kUuid.size(), "UUID");
      for (char ch : named) {
        if (std::isdigit(static_cast<unsigned char>(ch))) {
          if (kind.empty() || kind.back() != '#') kind += '#';
        } else {
          kind += ch;
        }
      }
      if (kind.find("sys/devlocker") != std::string::npos) continue;
      by_kind[kind] = by_kind.value(kind, 0) + n.get<int>();
    }
    int requests = 0;
    for (const auto& [k, n] : by_kind.items()) requests += n.get<int>();
    nlohmann::json row = {{"delay_ms", delay},
                          {"rotations", o.rotations},
                          {"tablespaces", o.tablespaces},
                          {"p50_ms", Percentile(ms, 0.5)},
                          {"p99_ms", Percentile(ms, 0.99)},
                          {"max_ms", Percentile(ms, 1.0)},
                          {"keyring_p50_ms", Percentile(locker_ms, 0.5)},
                          {"requests_per_rotation", static_cast<double>(requests) / o.rotations},
                          {"by_kind", by_kind},
                          {"tls_handshakes", st.value("tls_handshakes", 0)}};
    std::printf("%s\n", row.dump().c_str());
    std::fflush(stdout);
  }
  if (!host->Unload(&error)) std::fprintf(stderr, "mysql_rotation_bench: unload: %s\n", error.c_str());
  std::system(("rm -rf " + dir).c_str());
  return rc;
}

}  // namespace
}  // namespace mysqlh

int main(int argc, char** argv) {
  mysqlh::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--rotations" && has_value) {
      o.rotations = std::atoi(argv[++i]);
    } else if (a == "--tablespaces" && has_value) {
      o.tablespaces = std::atoi(argv[++i]);
    } else if (a == "--delays" && has_value) {
      o.delays = mysqlh::ParseList(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: mysql_rotation_bench [--rotations R] [--tablespaces T] [--delays 0,1,5]\n");
      return 2;
    }
  }
  if (o.rotations < 1 || o.rotations > 10000 || o.tablespaces < 0 || o.tablespaces > 100000 || o.delays.empty()) {
    std::fprintf(stderr, "mysql_rotation_bench: --rotations 1..10000, --tablespaces 0..100000, --delays a list\n");
    return 2;
  }
  return mysqlh::Run(o);
}
