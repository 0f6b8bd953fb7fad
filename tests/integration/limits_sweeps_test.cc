// Limit: "no server thread waits longer than timeouts.total_ms", for the
// calls that do more than one key's worth of work: sweeps over the whole
// scope (SET GLOBAL keyring_locker_rotate_key_id = -1, keyring_locker_refresh,
// the metadata listing), a first connect another thread started, and a token
// login on a hanging locker (AppRole) that other threads queue behind.
// Every reply is slowed by the dev locker so that a sweep needs several
// budgets; on a server thread it must stop after one and say how far it got.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "keyring_backend/backend.h"
#include "keyring_backend/vault/vault_locker.h"
#include "tests/integration/devlocker_fixture.h"
#if KLK_HAVE_MARIADB_CORE
#include "plugin/mariadb/key_metadata.h"
#include "keyring_backend/open_locker.h"
#endif

namespace keyring_locker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using testing::DevLocker;

constexpr auto kTotal = 1000ms;
// Thread wake-ups, TLS reconnects, sanitizer builds on two shared cores.
constexpr auto kSlack = 600ms;
// For a lock holder's own run, which only timers end: as tight as
// limits_timeouts_test's RequestsOfOneCallShareOneBudget. Without one budget
// per holder the background login below took 1.5 s, the connect 1.8 s.
constexpr auto kHolderSlack = 400ms;
// A caller queued behind a lock holder gets a shorter budget than the
// holder's, so a plain (untimed) lock would make it wait for the holder:
// ~1 s instead of ~0.4 s, beyond kWaiterBudget + kWaiterSlack.
constexpr auto kWaiterBudget = 400ms;
constexpr auto kWaiterSlack = 350ms;
// Eight keys besides "1": each sweep below needs well over one budget.
constexpr int kExtraKeys = 8;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class LimitsSweeps : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("klk_sweeps." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
  }
  void TearDown() override {
    if (locker_) locker_->ClearFaults();
    backend_.reset();
    locker_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string SecretFile(const std::string& name, const std::string& secret) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << secret;
    ::chmod(path.c_str(), 0600);
    return path;
  }
  Config BaseConfig() {
    Config c;
    c.http.endpoints = {locker_->url()};
    c.http.tls.ca_file = locker_->ca_file();
    c.http.connect_timeout = 500ms;
    c.http.total_timeout = kTotal;
    c.http.backoff_initial = 20ms;
    c.http.backoff_max = 100ms;
    c.auth.method = AuthOptions::Method::kToken;
    c.auth.token_file = SecretFile("token", locker_->root_token());
    c.keys.scope = "limits/sweeps";
    c.cache.version_refresh = 3600s;  // no background traffic mid-case
    return c;
  }
  // Opens the backend and makes keys "1" and k1..k8 (version 1 each).
  void Open(const Config& c) {
    auto b = Backend::Open(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
    ASSERT_TRUE(keys().EnsureKey("1").ok());
    for (int i = 1; i <= kExtraKeys; ++i) ASSERT_TRUE(keys().EnsureKey("k" + std::to_string(i)).ok());
  }
  KeyService& keys() { return backend_->keys(); }
  // A KeyService with an empty cache and a locker client that has not
  // connected yet, on the same HTTP client and token.
  std::unique_ptr<KeyService> FreshKeys(VaultOptions vault) {
    const Config& c = backend_->config();
    Config with_vault = c;
    with_vault.vault = vault;
    return std::make_unique<KeyService>(std::move(OpenKeyLocker(with_vault, &backend_->http(), &backend_->auth())).value(), c.keys,
                                        c.cache, nullptr, "sweeps", c.http.total_timeout);
  }
  // How often the dev locker has seen `path` (relative to /v1/, any method).
  int Seen(const std::string& path) { return locker_->Stats()["by_path"].value(path, 0); }
  // Waits until the locker has seen one more request to `path` than `before`:
  // the thread that sent it holds its lock by then (it is sent under it).
  void AwaitRequest(const std::string& path, int before) {
    const auto start = Clock::now();
    while (Seen(path) <= before) {
      ASSERT_LT(Since(start), 10s) << "the lock holder never sent " << path;
      std::this_thread::sleep_for(5ms);
    }
  }
  // `call` with a budget shorter than the lock holder's; returns its time.
  template <typename F>
  std::chrono::milliseconds TimeWaiter(F call) {
    const auto start = Clock::now();
    OperationDeadline budget(kWaiterBudget);
    call();
    return Since(start);
  }
  std::map<std::string, uint32_t> LatestVersions() {
    std::map<std::string, uint32_t> out;
    auto names = keys().ListNames();
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    if (!names.ok()) return out;
    for (const auto& n : *names) {
      auto v = keys().LatestVersionFromLocker(n);
      EXPECT_TRUE(v.ok()) << n << ": " << v.status().ToString();
      out[n] = v.ok() ? *v : 0;
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<DevLocker> locker_;
  std::unique_ptr<Backend> backend_;
};

TEST_F(LimitsSweeps, RotateAllOnAServerThreadStopsAfterOneBudgetAndSaysHowFarItGot) {
  Open(BaseConfig());
  const auto before = LatestVersions();
  ASSERT_EQ(before.size(), static_cast<size_t>(kExtraKeys + 1));
  // Every reply takes 100 ms: one rotation is a listing, a data key and a
  // write, so nine keys need about 2.8 s, nearly three budgets.
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 100}});
  const auto start = Clock::now();
  const RotateAllResult r = keys().RotateAll(Sweep::kOneBudget);
  const auto took = Since(start);
  EXPECT_LE(took.count(), (kTotal + kSlack).count()) << "RotateAll blocked for " << took.count() << " ms";
  EXPECT_EQ(r.status.code(), Code::kDeadlineExceeded) << r.status.ToString();
  EXPECT_NE(r.status.message().find("timeouts.total_ms=1000"), std::string::npos) << r.status.ToString();
  ASSERT_FALSE(r.rotated.empty()) << "the first keys fit in the budget: " << r.status.ToString();
  ASSERT_FALSE(r.not_rotated.empty()) << "all rotated in " << took.count() << " ms: the delay did not bite";
  EXPECT_NE(r.status.message().find("rotating key " + r.not_rotated.front()), std::string::npos) << r.status.ToString();

  // Together the two lists are the scope, in listing order.
  std::vector<std::string> walked;
  for (const auto& [name, version] : r.rotated) walked.push_back(name);
  walked.insert(walked.end(), r.not_rotated.begin(), r.not_rotated.end());
  std::vector<std::string> listed;
  for (const auto& [name, version] : before) listed.push_back(name);
  EXPECT_EQ(walked, listed);

  locker_->ClearFaults();
  const auto after = LatestVersions();
  for (const auto& [name, version] : r.rotated) {
    EXPECT_EQ(version, before.at(name) + 1) << name;
    EXPECT_EQ(after.at(name), version) << name << ": reported rotated but the locker disagrees";
  }
  // The key it stopped at may have been written after the client gave up
  // (the locker finished the request late); every later key is untouched.
  const std::string& stopped_at = r.not_rotated.front();
  EXPECT_LE(after.at(stopped_at), before.at(stopped_at) + 1) << stopped_at;
  for (size_t i = 1; i < r.not_rotated.size(); ++i) {
    EXPECT_EQ(after.at(r.not_rotated[i]), before.at(r.not_rotated[i])) << r.not_rotated[i] << " was rotated";
  }
  // Nothing half-written: every version there is loads (fetch + unwrap).
  auto reader = FreshKeys(backend_->config().vault);
  for (const auto& [name, latest] : after) {
    for (uint32_t v = 1; v <= latest; ++v) {
      auto k = reader->Get(name, v);
      EXPECT_TRUE(k.ok()) << name << " v" << v << ": " << k.status().ToString();
    }
  }
}

TEST_F(LimitsSweeps, RefreshOnAServerThreadEndsWithinOneBudgetAndKeepsServingTheCache) {
  Open(BaseConfig());
  // Another server rotates k8: only a complete refresh learns of version 2.
  auto other = FreshKeys(backend_->config().vault);
  ASSERT_TRUE(other->Rotate("k" + std::to_string(kExtraKeys)).ok());
  const uint64_t stale_before = keys().stats().stale_serves;
  // A listing of the scope, then one per key, 8 at once (9 keys: two
  // rounds), 400 ms each: about 1.2 s.
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 400}});
  auto start = Clock::now();
  Status s = keys().RefreshVersions(Sweep::kOneBudget);
  auto took = Since(start);
  EXPECT_LE(took.count(), (kTotal + kSlack).count()) << "RefreshVersions blocked for " << took.count() << " ms";
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  EXPECT_NE(s.message().find("re-read the versions of "), std::string::npos) << s.ToString();
  EXPECT_EQ(keys().stats().stale_serves, stale_before + 1);
  // The cache keeps serving, without the locker.
  start = Clock::now();
  EXPECT_EQ(keys().LatestVersionCached("1"), 1u);
  EXPECT_TRUE(keys().Get("1", 1).ok());
  EXPECT_LT(Since(start), 50ms);

  // The background thread's way (per request) gets to the last key: the
  // same sweep really needed more than one budget.
  start = Clock::now();
  s = keys().RefreshVersions(Sweep::kPerRequest);
  took = Since(start);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(took.count(), kTotal.count()) << "the delay did not make the sweep need more than one budget";
  EXPECT_EQ(keys().LatestVersionCached("k" + std::to_string(kExtraKeys)), 2u);
}

TEST_F(LimitsSweeps, ListingsOnAServerThreadEndWithinOneBudgetInsteadOfComingBackShort) {
  Open(BaseConfig());
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 150}});
  auto bounded = [&](const char* what, const Status& s, Clock::time_point start) {
    const auto took = Since(start);
    EXPECT_LE(took.count(), (kTotal + kSlack).count()) << what << " blocked for " << took.count() << " ms";
    // A listing that ran out must fail: a short list would pass for the scope.
    EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << what << ": " << s.ToString();
  };
  auto start = Clock::now();
  bounded("ListKeyVersions", keys().ListKeyVersions().status(), start);
  start = Clock::now();
  bounded("ListLive", keys().ListLive().status(), start);
  start = Clock::now();
  bounded("PurgeDeleted", keys().PurgeDeleted(0s).status(), start);
}

// A first connect started by a thread without a deadline of its own (the
// background refresh) holds the connect lock; a server call that queues
// behind it must get its answer within its own budget. Before the connect
// had one budget of its own, its requests (400 ms mount check, 400 ms
// Transit key read, a key creation that hangs) held the lock for ~1.8 s.
TEST_F(LimitsSweeps, FirstConnectQueuedBehindABackgroundConnectEndsWithinTheCallersBudget) {
  Open(BaseConfig());
  VaultOptions vault = backend_->config().vault;
  vault.kv_version = 0;              // detect it: one more request
  vault.transit_key = "fresh-kek";   // absent: the connect creates it
  auto fresh = FreshKeys(vault);
  locker_->InjectFault({{"action", "hang"}, {"path_prefix", "transit/keys/"}, {"method", "POST"}, {"delay_ms", 20000}});
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 400}});
  const std::string mounts = "sys/internal/ui/mounts/" + vault.kv_mount;
  const int seen = Seen(mounts);
  std::chrono::milliseconds background_took{0};
  std::thread background([&] {
    const auto start = Clock::now();
    (void)fresh->RefreshVersions(Sweep::kPerRequest);
    background_took = Since(start);
  });
  AwaitRequest(mounts, seen);
  Status s;
  const auto took = TimeWaiter([&] { s = fresh->Get("1", 1).status(); });
  background.join();
  EXPECT_FALSE(s.ok()) << "the connect cannot succeed while the key creation hangs";
  EXPECT_LE(took.count(), (kWaiterBudget + kWaiterSlack).count())
      << "Get queued behind the connect for " << took.count() << " ms: " << s.ToString();
  EXPECT_LE(background_took.count(), (kTotal + kHolderSlack).count()) << "the connect itself took " << background_took.count()
                                                                << " ms";
}

// A connect cut after the KV version check (here: the Transit key creation
// hangs past the budget) must run again in full on the next call; it used to
// count as done, so the Transit key was never created and writes failed.
TEST_F(LimitsSweeps, FirstConnectCutAfterTheKvCheckIsRetriedByTheNextCall) {
  Open(BaseConfig());
  VaultOptions vault = backend_->config().vault;
  vault.kv_version = 0;             // detection succeeds, then the Transit step fails
  vault.transit_key = "late-kek";  // absent: the connect creates it
  auto fresh = FreshKeys(vault);
  locker_->InjectFault({{"action", "hang"}, {"path_prefix", "transit/keys/"}, {"method", "POST"}, {"delay_ms", 5000}});
  const Status first = fresh->EnsureKey("late").status();
  EXPECT_EQ(first.code(), Code::kDeadlineExceeded) << first.ToString();
  locker_->ClearFaults();
  EXPECT_EQ(locker_->Call("GET", "transit/keys/late-kek").status, 404) << "the cut creation landed after all";

  const Status second = fresh->EnsureKey("late").status();
  ASSERT_TRUE(second.ok()) << second.ToString();
  EXPECT_EQ(locker_->Call("GET", "transit/keys/late-kek").status, 200) << "the second call did not connect again";
  auto reader = FreshKeys(vault);
  auto k = reader->Get("late", 1);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
}

// AppRole on a locker whose login endpoint hangs, inside server calls whose
// token was just revoked: each 403 leads to a login, cut to the caller's
// deadline; callers queued behind it (and behind a login run by a thread
// without a deadline, like the renewal thread) still return within theirs.
TEST_F(LimitsSweeps, AppRoleLoginOnAHangingLockerIsCutToTheCallersBudget) {
  auto pol = locker_->Call("PUT", "sys/policies/acl/klk",
                           json{{"policy", "path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", "
                                           "\"list\"] }\npath \"transit/*\" { capabilities = [\"read\", "
                                           "\"update\"] }"}});
  // The KEK exists before the server's token is used, as docs/locker-setup.md
  // sets it up: the policy grants no "create" on transit/keys (Vault's, and
  // now the dev locker's, existence check tells create from update).
  ASSERT_LT(locker_->Call("POST", "transit/keys/keyring_locker", json{{"type", "aes256-gcm96"}}).status, 300);
  ASSERT_LT(pol.status, 300) << pol.body.dump();
  ASSERT_LT(locker_->Call("POST", "auth/approle/role/db1", {{"token_ttl", 600}, {"token_policies", {"klk"}}}).status,
            300);
  auto rid = locker_->Call("GET", "auth/approle/role/db1/role-id");
  auto sid = locker_->Call("POST", "auth/approle/role/db1/secret-id");
  ASSERT_EQ(sid.status, 200) << sid.body.dump();
  Config c = BaseConfig();
  c.vault.kv_version = 2;  // sys/ is root-only on the dev locker
  c.auth.method = AuthOptions::Method::kAppRole;
  c.auth.token_file.clear();
  c.auth.role_id = rid.body["data"].value("role_id", "");
  c.auth.secret_id_file = SecretFile("secret_id", sid.body["data"].value("secret_id", ""));
  Open(c);
  ASSERT_EQ(backend_->status().auth.logins, 1u);

  locker_->InjectFault({{"action", "expire_tokens"}});
  locker_->InjectFault({{"action", "hang"}, {"path_prefix", "auth/"}, {"delay_ms", 20000}});
  {
    auto fresh = FreshKeys(c.vault);
    const auto start = Clock::now();
    const Status s = fresh->Get("1", 1).status();
    const auto took = Since(start);
    EXPECT_LE(took.count(), (kTotal + kSlack).count()) << "Get with a login on a hanging locker took " << took.count()
                                                       << " ms: " << s.ToString();
    EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  }
  const std::string lookup = "auth/token/lookup-self";
  {  // twelve callers, each with its own KeyService (no shared cache load),
     // queue on the one login lock that a server call holds for its budget
    auto holder_keys = FreshKeys(c.vault);
    const int seen = Seen(lookup);
    std::thread holder([&] { (void)holder_keys->Get("1", 1).ok(); });
    AwaitRequest(lookup, seen);
    std::vector<std::unique_ptr<KeyService>> fresh;
    for (int t = 0; t < 12; ++t) fresh.push_back(FreshKeys(c.vault));
    std::vector<std::chrono::milliseconds> took(fresh.size());
    std::vector<std::thread> threads;
    for (size_t t = 0; t < took.size(); ++t) {
      threads.emplace_back([&, t] { took[t] = TimeWaiter([&] { (void)fresh[t]->Get("1", 1).ok(); }); });
    }
    for (auto& th : threads) th.join();
    holder.join();
    for (size_t t = 0; t < took.size(); ++t) {
      EXPECT_LE(took[t].count(), (kWaiterBudget + kWaiterSlack).count())
          << "caller " << t << " blocked for " << took[t].count() << " ms";
    }
  }
  {  // a login run by a thread without a deadline holds the lock: token
     // lookup and AppRole login both hang (1.5 s without one budget for both)
    auto fresh = FreshKeys(c.vault);
    const std::string rejected = backend_->auth().Token();
    const int seen = Seen(lookup);
    std::chrono::milliseconds background_took{0};
    std::thread background([&] {
      const auto start = Clock::now();
      (void)backend_->auth().Refresh(rejected);
      background_took = Since(start);
    });
    AwaitRequest(lookup, seen);
    Status s;
    const auto took = TimeWaiter([&] { s = fresh->Get("1", 1).status(); });
    background.join();
    EXPECT_FALSE(s.ok());
    EXPECT_LE(took.count(), (kWaiterBudget + kWaiterSlack).count())
        << "Get queued behind a background login for " << took.count() << " ms: " << s.ToString();
    EXPECT_LE(background_took.count(), (kTotal + kHolderSlack).count()) << "the login held its lock for "
                                                                  << background_took.count() << " ms";
  }
  locker_->ClearFaults();
  auto v = keys().LatestVersionFromLocker("1");  // logs in again once the locker answers
  EXPECT_TRUE(v.ok()) << v.status().ToString();
}

#if KLK_HAVE_MARIADB_CORE
// SET GLOBAL ... lists the key metadata on the server thread; the background
// listing of a large scope may be holding the listing lock at that moment.
TEST_F(LimitsSweeps, MariaDbMetadataListingOnAServerThreadDoesNotWaitOutTheBackgroundOne) {
  Open(BaseConfig());
  // A server that knows the versions from its refresh but has read no
  // record: once SHOW STATUS asked, a snapshot reads every record.
  auto fresh = FreshKeys(backend_->config().vault);
  ASSERT_TRUE(fresh->RefreshVersions().ok());
  mariadb::KeyMetadata meta(fresh.get(), "sweeps", 0s);
  ASSERT_TRUE(meta.Refresh().ok());
  const size_t rows = meta.Current()->rows.size();
  meta.Shown();
  // A fetch per version, 150 ms each: ~1.4 s for the snapshot.
  locker_->InjectFault({{"action", "delay"}, {"delay_ms", 150}});
  const int before = locker_->Stats().value("requests", 0);
  std::thread background([&] { (void)meta.Refresh(Sweep::kPerRequest); });
  // Its first request is sent under the listing lock.
  for (const auto t0 = Clock::now(); locker_->Stats().value("requests", 0) <= before && Since(t0) < 10s;) {
    std::this_thread::sleep_for(5ms);
  }
  const auto start = Clock::now();
  const Status s = meta.Refresh(Sweep::kOneBudget);
  const auto took = Since(start);
  background.join();
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded) << s.ToString();
  EXPECT_LE(took.count(), (kTotal + kSlack).count()) << "the server thread's listing waited " << took.count() << " ms";
  EXPECT_EQ(meta.Current()->rows.size(), rows) << "the background listing completes and shows the same keys";
}
#endif

}  // namespace
}  // namespace keyring_locker
