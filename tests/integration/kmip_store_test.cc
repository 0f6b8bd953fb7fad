// The KMIP key store, the KMIP wrapper and the client under them, against a
// real KMIP server (PyKMIP): through a real KeyService wherever it matters.
// KmipStoreTest cases share the run's PyKMIP server (kmip_world_fixture.h);
// KmipServerFaultTest cases restart, pause and mis-certify a server of
// their own (PyKmipTest).
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/kmip/kmip_key_store.h"
#include "keyring_backend/kmip/kmip_wrapper.h"
#include "keyring_backend/wrapper/no_wrapper.h"
#include "tests/integration/kmip_world_fixture.h"
#include "tests/support/memory_key_store.h"

namespace keyring_locker::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
namespace enums = kmip::enums;

constexpr std::chrono::milliseconds kBudget{5000};

KeyScopeOptions Scope(const std::string& prefix, const std::string& scope) {
  KeyScopeOptions s;
  s.prefix = prefix;
  s.scope = scope;
  return s;
}

std::unique_ptr<KeyService> Service(KeyLocker locker, const KeyScopeOptions& scope,
                                    std::chrono::milliseconds budget = kBudget) {
  CacheOptions cache;
  cache.version_refresh = std::chrono::seconds(3600);
  return std::make_unique<KeyService>(std::move(locker), scope, cache, nullptr, "test:1", budget);
}

std::string Hex(const crypto::SecureBuffer& b) { return crypto::HexEncode(b.data(), b.size()); }

class KmipStoreTest : public KmipWorldTest {
 protected:
  // A scope of its own for each test (the server is shared by the run).
  std::string NewScope() {
    static int n = 0;
    return "store-test/" + std::to_string(n++);
  }
  KeyLocker KmipPlain(const std::string& scope) {
    KeyLocker l;
    l.store = world().NewStore(scope);
    l.wrapper = std::make_unique<NoWrapper>();
    return l;
  }
  std::unique_ptr<KmipWrapper> Wrapper(const std::string& kek) {
    auto w = KmipWrapper::Open(world().NewClient(), kek);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
};

TEST_F(KmipStoreTest, KeyServiceKeepsKeysAsKmipObjects) {
  const std::string scope = NewScope();
  auto svc = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  ASSERT_TRUE(svc->store().Connect().ok());

  // A new key: made by the server (Create), read back once, Active.
  auto v = svc->EnsureKey("1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
  auto k1 = svc->Get("1", 1);
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(*svc->Rotate("1"), 2u);
  EXPECT_EQ(*svc->EnsureKey("1"), 2u);

  // The KMIP server holds exactly that key, as an Active AES-256 Symmetric Key.
  auto client = world().NewClient();
  kmip::LocateQuery q;
  q.name = world().RunPrefix() + "/" + scope + "/1/1";
  auto uids = client->Locate(q);
  ASSERT_TRUE(uids.ok() && uids->size() == 1) << uids.status().ToString();
  auto attrs = client->GetAttributes((*uids)[0], {});
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->state, enums::kStateActive);
  EXPECT_EQ(attrs->length_bits, 256);
  EXPECT_THAT(attrs->object_groups, ::testing::ElementsAre(world().RunPrefix() + "/" + scope));
  ASSERT_EQ(attrs->application_info.size(), 1u);
  EXPECT_THAT(attrs->application_info[0].application_data,
              ::testing::StartsWith("klk1;f=keyring_locker/store-protected/1;t=AES;l=32;w=none;s=key;"));
  auto on_server = client->Get((*uids)[0]);
  ASSERT_TRUE(on_server.ok());
  EXPECT_TRUE(on_server->key.Equals((*k1)->bytes));

  // MySQL's other key types are Secret Data; the server's own bytes come back as given.
  auto rsa = crypto::RandomKey(256);
  ASSERT_TRUE(svc->Create("rsa", 1, "RSA", 256, &*rsa).ok());
  auto k16 = crypto::RandomKey(16);
  ASSERT_TRUE(svc->Create("aes16", 1, "AES", 16, &*k16).ok());

  // A fresh service (a restart: empty cache) reads everything back.
  auto again = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  EXPECT_EQ(*again->LatestVersionFromLocker("1"), 2u);
  auto r1 = again->Get("1", 1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE((*r1)->bytes.Equals((*k1)->bytes));
  auto r2 = again->Get("rsa", 1);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ((*r2)->type, "RSA");
  EXPECT_TRUE((*r2)->bytes.Equals(*rsa));
  EXPECT_TRUE((*again->Get("aes16", 1))->bytes.Equals(*k16));
  EXPECT_EQ(again->Get("1", 3).status().code(), Code::kNotFound);

  auto names = again->ListNames();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ::testing::UnorderedElementsAre("1", "rsa", "aes16"));
  auto versions = again->ListKeyVersions();
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 4u);
  EXPECT_EQ((*versions)[0].name, "1");
  EXPECT_EQ((*versions)[0].origin, "locker");
  EXPECT_TRUE((*versions)[0].bound);
  EXPECT_EQ((*versions)[3].name, "rsa");
  EXPECT_EQ((*versions)[3].origin, "server");

  // Rotating everything makes one new version of each.
  RotateAllResult all = again->RotateAll();
  ASSERT_TRUE(all.status.ok()) << all.status.ToString();
  EXPECT_EQ(all.rotated.size(), 3u);
  EXPECT_EQ(*svc->LatestVersionFromLocker("1"), 3u);
}

TEST_F(KmipStoreTest, ARefreshOfTheWholeScopeIsOneLocate) {
  // KMIP has no prefix search: a refresh that listed each key's versions
  // would Locate the whole scope once per key. ListScope reads it once.
  const std::string scope = NewScope();
  {
    auto writer = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
    for (int i = 1; i <= 6; ++i) ASSERT_TRUE(writer->EnsureKey(std::to_string(i)).ok());
    ASSERT_EQ(*writer->Rotate("3"), 2u);
  }
  auto store = world().NewStore(scope);
  KmipKeyStore* kmip_store = store.get();
  KeyLocker pair;
  pair.store = std::move(store);
  pair.wrapper = std::make_unique<NoWrapper>();
  auto reader = Service(std::move(pair), Scope(world().RunPrefix(), scope));
  const uint64_t before = kmip_store->client().stats().operations;
  ASSERT_TRUE(reader->RefreshVersions().ok());
  const uint64_t first = kmip_store->client().stats().operations - before;
  // One Locate, then the Name of each of the 7 objects once (cached after).
  EXPECT_EQ(first, 1u + 7u);
  EXPECT_EQ(reader->LatestVersionCached("3"), 2u);
  EXPECT_EQ(reader->LatestVersionCached("6"), 1u);
  const uint64_t again_before = kmip_store->client().stats().operations;
  ASSERT_TRUE(reader->RefreshVersions().ok());
  EXPECT_EQ(kmip_store->client().stats().operations - again_before, 1u) << "a later refresh is one Locate";
}

TEST_F(KmipStoreTest, GenerationsSoftDeleteRestoreAndPurge) {
  const std::string scope = NewScope();
  auto svc = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  auto secret = crypto::RandomKey(48);
  ASSERT_TRUE(svc->CreateGeneration("s", "SECRET", 48, &*secret).ok());
  EXPECT_EQ(svc->CreateGeneration("s", "SECRET", 48, &*secret).code(), Code::kAlreadyExists);
  ASSERT_TRUE(svc->SoftRemove("s").ok());
  EXPECT_EQ(svc->GetLive("s").status().code(), Code::kNotFound);

  auto other = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  auto deleted = other->ListDeleted();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_EQ((*deleted)[0].deleted_by, "test:1");
  EXPECT_FALSE((*deleted)[0].purged);
  ASSERT_TRUE(other->Restore("s", 1).ok());
  auto live = other->GetLive("s");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE((*live)->bytes.Equals(*secret));

  ASSERT_TRUE(other->SoftRemove("s").ok());
  auto purged = other->PurgeDeleted(std::chrono::seconds(0));
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, 1u);
  deleted = svc->ListDeleted();
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->size(), 1u);
  EXPECT_TRUE((*deleted)[0].purged);
  // The marker keeps number 1 taken: the next generation is 2.
  ASSERT_TRUE(svc->CreateGeneration("s", "SECRET", 48, nullptr).ok());
  EXPECT_EQ(*svc->LatestVersionFromLocker("s"), 2u);
  EXPECT_EQ(svc->store().Read("s", 1).status().code(), Code::kNotFound);
}

// Three writers (two threads here on connections of their own, one in a
// second process) create the same key version with different bytes, many
// times: exactly one wins each time, and every writer then reads the
// winner's bytes.
TEST_F(KmipStoreTest, RacingWritersInTwoProcessesAgreeOnOneKey) {
  constexpr int kRounds = 15;
  const std::string scope = NewScope();
  int go[2], results[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(results), 0);
  auto attempt = [&](KmipKeyStore& store, int round, std::string* read_back, std::string* why) -> std::string {
    KeyRecord r;
    r.name = "race-" + std::to_string(round);
    r.version = 1;
    r.format = "keyring_locker/store-protected/1";
    r.length = 32;
    r.wrapper = "none";
    r.origin = "server";
    r.plaintext = std::move(crypto::RandomKey(32)).value();
    Status s = store.Create(r);
    *why = s.message();
    auto back = store.Read(r.name, 1);
    *read_back = back.ok() ? Hex(back->plaintext) : "read failed: " + back.status().ToString();
    if (s.ok()) return "won " + Hex(r.plaintext);
    return s.code() == Code::kAlreadyExists ? "lost" : "error " + s.ToString();
  };

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The second process: its own connection; a line per round.
    ::close(go[1]);
    ::close(results[0]);
    auto store = world().NewStore(scope);
    for (int round = 0; round < kRounds && store; ++round) {
      char byte = 0;
      pollfd p{go[0], POLLIN, 0};
      if (::poll(&p, 1, 30000) != 1 || ::read(go[0], &byte, 1) != 1) break;
      std::string back, why;
      const std::string line = attempt(*store, round, &back, &why) + "|" + back + "\n";
      if (::write(results[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
    }
    ::_exit(0);
  }
  ::close(go[0]);
  ::close(results[1]);
  auto a = world().NewStore(scope), b = world().NewStore(scope);
  ASSERT_TRUE(a && b);
  FILE* from_child = ::fdopen(results[0], "r");
  std::map<std::string, int> loss_reasons;
  for (int round = 0; round < kRounds; ++round) {
    std::mutex mu;
    std::condition_variable cv;
    bool start = false;
    std::string outcome[2], back[2], why[2];
    std::vector<std::thread> writers;
    for (int i = 0; i < 2; ++i) {
      writers.emplace_back([&, i] {
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return start; });
        }
        outcome[i] = attempt(i == 0 ? *a : *b, round, &back[i], &why[i]);
      });
    }
    ASSERT_EQ(::write(go[1], "g", 1), 1);
    {
      std::lock_guard<std::mutex> lock(mu);
      start = true;
    }
    cv.notify_all();
    for (auto& t : writers) t.join();
    char line[512] = {};
    ASSERT_NE(std::fgets(line, sizeof line, from_child), nullptr) << "the second process stopped";
    std::string child_line(line);
    if (!child_line.empty() && child_line.back() == '\n') child_line.pop_back();
    const size_t bar = child_line.find('|');
    ASSERT_NE(bar, std::string::npos) << child_line;
    const std::string outcomes[3] = {outcome[0], outcome[1], child_line.substr(0, bar)};
    const std::string reads[3] = {back[0], back[1], child_line.substr(bar + 1)};
    int won = 0;
    std::string winner_bytes;
    for (const std::string& o : outcomes) {
      EXPECT_TRUE(o.rfind("won ", 0) == 0 || o == "lost") << "round " << round << ": " << o;
      if (o.rfind("won ", 0) == 0) {
        ++won;
        winner_bytes = o.substr(4);
      }
    }
    EXPECT_EQ(won, 1) << "round " << round;
    for (const std::string& r : reads) EXPECT_EQ(r, winner_bytes) << "round " << round;
    for (int i = 0; i < 2; ++i) {
      if (outcome[i] == "lost") loss_reasons[why[i].substr(why[i].find('('))]++;
    }
  }
  std::fclose(from_child);
  ::close(go[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // How the races went (a loser that saw the winner Active, or had its
  // object cleared, or saw a senior one): informative, not asserted.
  for (const auto& [why, n] : loss_reasons) std::printf("  lost %d x %s\n", n, why.c_str());
}

TEST_F(KmipStoreTest, DamagedOrForeignObjectsAreDataLossNamingThem) {
  const std::string scope = NewScope();
  auto store = world().NewStore(scope);
  auto client = world().NewClient();
  ASSERT_TRUE(store && client);
  auto put = [&](const std::string& version, const std::string& metadata) {
    kmip::KeyAttributes key;
    key.name = world().RunPrefix() + "/" + scope + "/bad/" + version;
    key.object_group = world().RunPrefix() + "/" + scope;
    if (!metadata.empty()) key.application_info = {{"keyring_locker", metadata}};
    auto uid = client->Create(key);
    ASSERT_TRUE(uid.ok()) << uid.status().ToString();
    ASSERT_TRUE(client->Activate(*uid).ok());
  };
  put("1", "klk1;f=keyring_locker/store-protected/1;t=AES;l=032;w=none;s=key;c=;b=;o=;a=");
  put("2", "");
  put("3", "klk1;f=x");
  for (uint32_t v : {1u, 2u, 3u}) {
    auto r = store->Read("bad", v);
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << v << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("KMIP object " + world().RunPrefix() + "/" + scope + "/bad/" +
                                                std::to_string(v) + " (uid "));
  }
  // A listing names the versions; reading their metadata leaves damaged ones out.
  auto svc = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  ASSERT_TRUE(svc->EnsureKey("good").ok());
  auto versions = svc->ListKeyVersions();
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].name, "good");
}

// Listings Locate by State (Active): PyKMIP filters on it, so an object
// revoked behind our back (Deactivated, not destroyed) is no record.
TEST_F(KmipStoreTest, OnlyActiveObjectsAreRecords) {
  const std::string scope = NewScope();
  auto svc = Service(KmipPlain(scope), Scope(world().RunPrefix(), scope));
  ASSERT_TRUE(svc->EnsureKey("k").ok());
  ASSERT_EQ(*svc->Rotate("k"), 2u);
  auto client = world().NewClient();
  kmip::LocateQuery q;
  q.name = world().RunPrefix() + "/" + scope + "/k/2";
  auto uids = client->Locate(q);
  ASSERT_TRUE(uids.ok() && uids->size() == 1);
  ASSERT_TRUE(client->Revoke((*uids)[0], kmip::Revocation()).ok());
  auto store = world().NewStore(scope);
  auto versions = store->ListVersions("k");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].version, 1u);
  EXPECT_EQ(store->Read("k", 2).status().code(), Code::kNotFound);
  // The store that had it in its memo finds out too.
  EXPECT_EQ(svc->store().Read("k", 2).status().code(), Code::kNotFound);
  EXPECT_EQ(*svc->LatestVersionFromLocker("k"), 1u);
}

TEST_F(KmipStoreTest, SeveralActiveObjectsOfOneNameReadTheSeniorOne) {
  const std::string scope = NewScope();
  auto store = world().NewStore(scope);
  auto client = world().NewClient();
  const std::string meta = "klk1;f=keyring_locker/store-protected/1;t=AES;l=32;w=none;s=key;c=;b=;o=server;a=";
  std::vector<std::string> bytes;
  for (int i = 0; i < 2; ++i) {  // another tool registered the same Name twice
    kmip::KeyAttributes key;
    key.name = world().RunPrefix() + "/" + scope + "/dup/1";
    key.object_group = world().RunPrefix() + "/" + scope;
    key.application_info = {{"keyring_locker", meta}};
    auto k = crypto::RandomKey(32);
    auto uid = client->Register(key, *k);
    ASSERT_TRUE(uid.ok() && client->Activate(*uid).ok());
    bytes.push_back(Hex(*k));
  }
  auto r = store->Read("dup", 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Registered first: the earlier Initial Date or, within one second, the smaller identifier.
  EXPECT_EQ(Hex(r->plaintext), bytes[0]);
  EXPECT_EQ(Hex(world().NewStore(scope)->Read("dup", 1)->plaintext), bytes[0]);
  EXPECT_GE(store->stats().duplicate_names, 1u);
  EXPECT_EQ(store->Create(KeyRecord{}).code(), Code::kInvalidArgument);
}

TEST_F(KmipStoreTest, AbandonedPreActiveObjectIsClearedOnlyOnceStale) {
  const std::string scope = NewScope();
  auto client = world().NewClient();
  KmipStoreOptions options;
  options.prefix = world().RunPrefix();
  options.scope = scope;
  options.abandoned_after = std::chrono::seconds(1);
  auto store = KmipKeyStore::Open(client, options);
  ASSERT_TRUE(store.ok());
  // A writer that registered (name "k", version 1) and died before Activate.
  kmip::KeyAttributes key;
  key.name = (*store)->layout().KeyName("k", 1);
  key.object_group = (*store)->layout().Group();
  auto orphan = client->Register(key, *crypto::RandomKey(32));
  ASSERT_TRUE(orphan.ok());
  KeyRecord r;
  r.name = "k";
  r.version = 1;
  r.format = "keyring_locker/store-protected/1";
  r.length = 32;
  r.plaintext = std::move(crypto::RandomKey(32)).value();
  // Within its writer's time it may still be activated: we wait for that,
  // up to the call's budget, and leave it be.
  Status fresh;
  {
    OperationDeadline budget(std::chrono::milliseconds(1000));
    fresh = (*store)->Create(r);
  }
  // Either we saw the budget run out while waiting, or a request did (a
  // loaded server): not created, try again.
  if (fresh.code() != Code::kDeadlineExceeded) {
    EXPECT_EQ(fresh.code(), Code::kUnavailable) << fresh.ToString();
    EXPECT_THAT(fresh.message(), HasSubstr("being created by another writer"));
  }
  EXPECT_EQ((*store)->Read("k", 1).status().code(), Code::kNotFound);
  EXPECT_TRUE(client->GetAttributes(*orphan, {}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  // Older than abandoned_after by the server's clock: cleared, and we win.
  Status late = (*store)->Create(r);
  ASSERT_TRUE(late.ok()) << late.ToString();
  EXPECT_EQ(client->GetAttributes(*orphan, {}).status().code(), Code::kNotFound);
  EXPECT_TRUE((*store)->Read("k", 1)->plaintext.Equals(r.plaintext));
}

TEST_F(KmipStoreTest, WrapperOverMemoryStoreAndOverKmipStore) {
  const std::string kek = world().RunPrefix() + "/kek-" + NewScope();
  ASSERT_TRUE(world().MakeKek(kek));
  // Over a store that keeps only wrapped keys (like Vault KV).
  auto shared = std::make_shared<MemoryKeyStore::Shared>();
  KeyLocker memory;
  memory.store = std::make_unique<MemoryKeyStore>(shared, "s", false);
  memory.wrapper = Wrapper(kek);
  ASSERT_TRUE(memory.wrapper->Connect().ok());
  auto svc = Service(std::move(memory), Scope("keyring_locker", "s"));
  ASSERT_TRUE(svc->EnsureKey("m").ok());
  auto key = svc->Get("m", 1);
  ASSERT_TRUE(key.ok());
  KeyLocker memory_again;
  memory_again.store = std::make_unique<MemoryKeyStore>(shared, "s", false);
  memory_again.wrapper = Wrapper(kek);
  auto again = Service(std::move(memory_again), Scope("keyring_locker", "s"));
  auto back = again->Get("m", 1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE((*back)->bytes.Equals((*key)->bytes));
  auto record = MemoryKeyStore(shared, "s", false).Read("m", 1);
  EXPECT_EQ(record->wrapper, "kmip:" + kek);
  EXPECT_THAT(record->wrapped, ::testing::StartsWith("kmip:v1:gcm:"));
  // Bound: another identity does not unwrap.
  KmipWrapper& w = static_cast<KmipWrapper&>(again->wrapper());
  EXPECT_FALSE(w.Unwrap(record->wrapped, "keyring_locker/s\nm\n2").ok());

  // Over the KMIP store: the wrapped text is kept as Secret Data.
  const std::string scope = NewScope();
  KeyLocker kmip_pair;
  kmip_pair.store = world().NewStore(scope);
  kmip_pair.wrapper = Wrapper(kek);
  auto svc2 = Service(std::move(kmip_pair), Scope(world().RunPrefix(), scope));
  ASSERT_TRUE(svc2->EnsureKey("w").ok());
  auto stored = svc2->store().Read("w", 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->plaintext.empty());
  EXPECT_THAT(stored->wrapped, ::testing::StartsWith("kmip:v1:gcm:"));
  EXPECT_EQ(stored->format, "keyring_locker/2");
}

TEST_F(KmipStoreTest, WrapperSaysWhatIsWrongWithItsKey) {
  const std::string base = world().RunPrefix() + "/kek-" + NewScope();
  auto client = world().NewClient();
  auto connect = [&](const std::string& name) { return Wrapper(name)->Connect(); };
  Status missing = connect(base + "-missing");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("\"" + base + "-missing\" was not found"));
  EXPECT_THAT(missing.message(), HasSubstr("activate it"));

  kmip::KeyAttributes pre;
  pre.name = base + "-pre";
  ASSERT_TRUE(client->Create(pre).ok());
  Status inactive = connect(pre.name);
  EXPECT_EQ(inactive.code(), Code::kFailedPrecondition);
  EXPECT_THAT(inactive.message(), HasSubstr("is not Active"));
  EXPECT_THAT(inactive.message(), HasSubstr("Pre-Active"));

  ASSERT_TRUE(world().MakeKek(base + "-two"));
  ASSERT_TRUE(world().MakeKek(base + "-two"));
  Status ambiguous = connect(base + "-two");
  EXPECT_EQ(ambiguous.code(), Code::kFailedPrecondition);
  EXPECT_THAT(ambiguous.message(), HasSubstr("names 2 Active keys"));

  // KMIP 1.2 has no authenticated encryption: refused, saying why and what to do.
  KmipOptions old = world().Options();
  old.max_version = "1.2";
  auto old_client = kmip::KmipClient::Open(old);
  ASSERT_TRUE(old_client.ok());
  ASSERT_TRUE(world().MakeKek(base + "-ok"));
  auto w12 = KmipWrapper::Open(std::shared_ptr<kmip::KmipClient>(std::move(old_client).value()), base + "-ok");
  Status v12 = (*w12)->Connect();
  EXPECT_EQ(v12.code(), Code::kFailedPrecondition);
  EXPECT_THAT(v12.message(), HasSubstr("needs KMIP 1.4"));
  EXPECT_TRUE(Wrapper(base + "-ok")->Connect().ok());
}

TEST_F(KmipStoreTest, ClientNegotiatesAndReportsHealth) {
  auto client = world().NewClient();
  auto v = client->Version();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->ToString(), "1.4");
  auto health = client->Health();
  ASSERT_TRUE(health.ok());
  EXPECT_TRUE(health->reachable);
  EXPECT_THAT(health->version, HasSubstr("PyKMIP"));
  EXPECT_THAT(client->Describe(), ::testing::MatchesRegex("kmip 127\\.0\\.0\\.1:[0-9]+ v1\\.4"));

  KmipOptions old = world().Options();
  old.max_version = "1.2";
  auto v12 = kmip::KmipClient::Open(old);
  ASSERT_TRUE(v12.ok());
  EXPECT_EQ((*v12)->Version()->ToString(), "1.2");
  old.max_version = "2.0";
  EXPECT_EQ(kmip::KmipClient::Open(old).status().code(), Code::kInvalidArgument);

  const auto stats = client->stats();
  EXPECT_EQ(stats.negotiations, 1u);
  EXPECT_EQ(stats.version, "1.4");
  EXPECT_EQ(stats.transport.connects, 1u);
}

// ---- faults: a server of its own, restarted, paused, or refusing us ----

class KmipServerFaultTest : public PyKmipTest {
 protected:
  KmipOptions Options(const std::string& cert = "", const std::string& key = "", const std::string& ca = "") {
    KmipOptions o;
    o.transport.servers = {server().host() + ":" + std::to_string(server().port())};
    o.transport.ca_file = ca.empty() ? server().ca_file() : ca;
    o.transport.cert_file = cert.empty() ? server().client_cert() : cert;
    o.transport.key_file = key.empty() ? server().client_key() : key;
    o.transport.connect_timeout = std::chrono::milliseconds(1000);
    o.transport.io_timeout = std::chrono::milliseconds(2000);
    return o;
  }
  std::shared_ptr<kmip::KmipClient> Client(const KmipOptions& o) {
    auto c = kmip::KmipClient::Open(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::shared_ptr<kmip::KmipClient>(std::move(c).value()) : nullptr;
  }
  // Each test's own scope: a server reused by a whole-program run keeps its keys.
  static std::string TestScope() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }
  KeyLocker Pair(std::shared_ptr<kmip::KmipClient> client) {
    KmipStoreOptions o;
    o.scope = TestScope();
    KeyLocker l;
    l.store = std::move(KmipKeyStore::Open(std::move(client), o)).value();
    l.wrapper = std::make_unique<NoWrapper>();
    return l;
  }
};

TEST_F(KmipServerFaultTest, KeysSurviveARestartAndTheClientReconnects) {
  auto client = Client(Options());
  auto svc = Service(Pair(client), Scope("keyring_locker", TestScope()));
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  ASSERT_EQ(*svc->Rotate("1"), 2u);
  const std::string v1 = Hex((*svc->Get("1", 1))->bytes);
  const std::string v2 = Hex((*svc->Get("1", 2))->bytes);

  ASSERT_TRUE(server().Restart());
  // The same client (its connection broke under it) and a fresh service.
  auto fresh = Service(Pair(client), Scope("keyring_locker", TestScope()));
  auto r1 = fresh->Get("1", 1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(Hex((*r1)->bytes), v1);
  EXPECT_EQ(Hex((*fresh->Get("1", 2))->bytes), v2);
  EXPECT_EQ(*fresh->Rotate("1"), 3u);
  const auto stats = client->stats();
  EXPECT_GE(stats.transport.connects, 2u);
  EXPECT_GE(stats.negotiations, 2u) << "a new connection negotiates its version again";
}

TEST_F(KmipServerFaultTest, WrongCertificatesAreClearErrors) {
  // Our certificate from a CA the server does not trust.
  auto other_ca = Client(Options(server().wrong_client_cert(), server().wrong_client_key()));
  Status s = other_ca->Connect();
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("unknown ca"));
  EXPECT_THAT(s.message(), HasSubstr("cert_file"));
  // The server's certificate from a CA we do not trust.
  auto unknown_ca = Client(Options("", "", server().wrong_ca_file()));
  s = unknown_ca->Connect();
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), ::testing::AnyOf(HasSubstr("certificate verify failed"),
                                            HasSubstr("unable to get local issuer certificate")));
  // A certificate without clientAuth: the server answers, but refuses every request.
  auto noeku = Client(Options(server().noeku_client_cert(), server().noeku_client_key()));
  s = noeku->Connect();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.ToString(), HasSubstr("Authentication Not Successful"));
  auto store = Pair(noeku);
  EXPECT_EQ(store.store->Read("1", 1).status().code(), Code::kUnauthenticated);
}

TEST_F(KmipServerFaultTest, PausedServerCacheServesAndErrorsStayWithinTheBudget) {
  constexpr std::chrono::milliseconds kCallBudget{1500};
  auto svc = Service(Pair(Client(Options())), Scope("keyring_locker", TestScope()), kCallBudget);
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  ASSERT_EQ(*svc->Rotate("1"), 2u);
  // A fresh service knows nothing yet: only a cache keeps serving.
  auto cached = Service(Pair(Client(Options())), Scope("keyring_locker", TestScope()), kCallBudget);
  ASSERT_TRUE(cached->Get("1", 1).ok());

  ASSERT_TRUE(server().Pause());
  auto started = Clock::now();
  EXPECT_TRUE(cached->Get("1", 1).ok()) << "a cached key is served while the server hangs";
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(50));
  for (auto call : std::vector<std::function<Status()>>{
           [&] { return cached->Get("1", 2).status(); },        // a miss: Get Attributes + Get
           [&] { return cached->Rotate("1").status(); },         // Locate, Create, ...
           [&] { return cached->RefreshVersions(); }}) {         // a sweep under one budget
    started = Clock::now();
    Status s = call();
    const auto took = Clock::now() - started;
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(CodeName(s.code()), ::testing::AnyOf(::testing::StrEq("DEADLINE_EXCEEDED"),
                                                     ::testing::StrEq("UNAVAILABLE")))
        << s.ToString();
    EXPECT_LT(took, kCallBudget + std::chrono::milliseconds(500)) << s.ToString();
  }
  ASSERT_TRUE(server().Resume());
  auto later = cached->Get("1", 2);
  ASSERT_TRUE(later.ok()) << "served again once the server answers: " << later.status().ToString();
  EXPECT_EQ(*cached->LatestVersionFromLocker("1"), 2u);
}

}  // namespace
}  // namespace keyring_locker::testing

namespace keyring_locker::testing {
namespace {

// The whole path an adapter takes: a JSON config file naming the KMIP store
// (and, second, the KMIP wrapper too), Backend::Open, keys, a restart. No
// Vault session is opened, and the adapters' status works without one.
class KmipBackendTest : public KmipWorldTest {
 protected:
  std::string WriteConfig(const nlohmann::json& extra) {
    char tmpl[] = "/tmp/klk_kmip_backend.XXXXXX";
    dir_ = mkdtemp(tmpl);
    const KmipOptions o = world().Options();
    nlohmann::json c = {
        {"store", {{"type", "kmip"}}},
        {"kmip",
         {{"servers", o.transport.servers},
          {"ca_file", o.transport.ca_file},
          {"client_cert", o.transport.cert_file},
          {"client_key", o.transport.key_file}}},
        {"keys", {{"prefix", world().RunPrefix()}, {"scope", "backend/" + std::to_string(getpid())}}},
        {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}}};
    c.merge_patch(extra);
    const std::string path = dir_ + "/keyring_locker.json";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(c.dump().c_str(), f);
    std::fclose(f);
    return path;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_;
};

TEST_F(KmipBackendTest, ConfigFileChoosesTheKmipStore) {
  auto config = LoadConfigFile(WriteConfig(nlohmann::json::object()));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  crypto::SecureBuffer first;
  {
    auto b = Backend::Open(*config);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_FALSE((*b)->has_vault_session());
    EXPECT_THAT((*b)->Describe(), HasSubstr("kmip "));
    EXPECT_THAT((*b)->Describe(), HasSubstr("wrapper=none"));
    ASSERT_EQ(*(*b)->keys().EnsureKey("1"), 1u);
    ASSERT_EQ(*(*b)->keys().Rotate("1"), 2u);
    first = (*(*b)->keys().Get("1", 2))->bytes.Clone();
    BackendStatus s = (*b)->status();
    EXPECT_THAT(s.locker, HasSubstr("kmip "));
    EXPECT_EQ(s.keys.keys_created, 2u);
    // The status variables' transport view is the KMIP client's (there is
    // no HTTP client): the server that answers, and its requests.
    EXPECT_EQ(s.http.active_endpoint, config->kmip.transport.servers[0]);
    EXPECT_GT(s.http.requests, 0u);
    EXPECT_TRUE(s.tls_verify);
  }
  auto again = Backend::Open(*config);  // a restarted server
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->keys().LatestVersionCached("1"), 2u) << "the start read the scope's versions";
  auto k = (*again)->keys().Get("1", 2);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_TRUE((*k)->bytes.Equals(first));
}

TEST_F(KmipBackendTest, KmipVerificationOffShowsInStatus) {
  auto config = LoadConfigFile(WriteConfig({{"kmip", {{"verify", false}}}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto b = Backend::Open(*config);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // keyring_locker_tls_verify reads this: OFF for as long as kmip.verify is false.
  EXPECT_FALSE((*b)->status().tls_verify);
}

TEST_F(KmipBackendTest, ConfigFileChoosesTheKmipWrapperToo) {
  const std::string kek = world().RunPrefix() + "/backend-kek";
  ASSERT_TRUE(world().MakeKek(kek));
  auto config = LoadConfigFile(
      WriteConfig({{"wrapper", {{"type", "kmip"}}}, {"kmip", {{"wrapping_key", kek}}}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto b = Backend::Open(*config);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(*(*b)->keys().EnsureKey("9"), 1u);
  auto record = (*b)->store().Read("9", 1);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->wrapper, "kmip:" + kek);
  EXPECT_TRUE(record->plaintext.empty()) << "kept wrapped, as Secret Data";
}

TEST_F(KmipBackendTest, AnUnreachableKmipServerIsAClearStartError) {
  auto config = LoadConfigFile(WriteConfig({{"kmip", {{"servers", {"127.0.0.1:1"}}}}}));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const auto started = Clock::now();
  auto b = Backend::Open(*config);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kUnavailable) << b.status().ToString();
  EXPECT_THAT(b.status().message(), HasSubstr("127.0.0.1:1"));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(10));
}

}  // namespace
}  // namespace keyring_locker::testing
