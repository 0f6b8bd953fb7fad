// The contracts of the two locker roles, one test body run over every
// implementation: KeyStore (memory records; memory documents; a local
// directory; Vault KV on the dev locker; KMIP objects on PyKMIP) and
// KeyWrapper (the tests' local AEAD; the fake locker's; Vault Transit on
// the dev locker; KMIP Encrypt/Decrypt on PyKMIP; Azure Key Vault wrapKey on
// a local stand-in). A new store or wrapper
// adds one instantiation here and must pass every case unchanged.
#include <atomic>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "keyring_backend/azure/key_vault_wrapper.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/aws/aws_kms_wrapper.h"
#include "keyring_backend/kmip/kmip_wrapper.h"
#include "keyring_backend/open_locker.h"
#include "keyring_backend/store/directory_backend.h"
#include "tests/integration/azure_standin_fixture.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/integration/kmip_world_fixture.h"
#include "tests/integration/moto_fixture.h"
#include "tests/support/fake_locker.h"
#include "tests/support/local_aead_wrapper.h"
#include "tests/support/memory_key_store.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

using testing::DevLocker;

// One Vault session on a dev locker, shared by every Vault case of the run
// and stopped by the test environment's tear-down (a dev locker left running
// would hold ctest's output pipe open).
struct VaultWorld {
  std::unique_ptr<DevLocker> locker;
  std::unique_ptr<Backend> backend;
  Config config;
  std::string token_dir;

  static VaultWorld*& Instance() {
    static VaultWorld* w = nullptr;
    return w;
  }
  static VaultWorld& Get() {
    VaultWorld*& w = Instance();
    if (w == nullptr) w = [] {
      auto* v = new VaultWorld();
      v->locker = DevLocker::Start();
      if (!v->locker) return v;
      char tmpl[] = "/tmp/klk_contract.XXXXXX";
      v->token_dir = mkdtemp(tmpl);
      const std::string token = v->token_dir + "/token";
      FILE* f = std::fopen(token.c_str(), "w");
      std::fputs(v->locker->root_token().c_str(), f);
      std::fclose(f);
      chmod(token.c_str(), 0600);
      v->config.http.endpoints = {v->locker->url()};
      v->config.http.tls.ca_file = v->locker->ca_file();
      v->config.auth.method = AuthOptions::Method::kToken;
      v->config.auth.token_file = token;
      v->config.keys.scope = "contract";
      auto b = Backend::Open(v->config);
      if (b.ok()) v->backend = std::move(b).value();
      return v;
    }();
    return *w;
  }
  ~VaultWorld() {
    backend.reset();
    locker.reset();
    if (!token_dir.empty()) std::system(("rm -rf " + token_dir).c_str());
  }
  KeyLocker Pair(const std::string& scope) {
    Config c = config;
    c.keys.scope = scope;
    return std::move(OpenKeyLocker(c, &backend->http(), &backend->auth())).value();
  }
};

// One root directory for every Directory case of the run (stores made for
// one scope share it, as servers sharing a directory would), removed by the
// test environment's tear-down.
struct DirectoryWorld {
  std::string dir;
  static DirectoryWorld*& Instance() {
    static DirectoryWorld* w = nullptr;
    return w;
  }
  static DirectoryWorld& Get() {
    DirectoryWorld*& w = Instance();
    if (w == nullptr) {
      w = new DirectoryWorld();
      char tmpl[] = "/tmp/klk_contract_dir.XXXXXX";
      if (mkdtemp(tmpl) != nullptr) w->dir = tmpl;
    }
    return *w;
  }
  ~DirectoryWorld() {
    if (!dir.empty()) std::system(("rm -rf " + dir).c_str());
  }
};

// One Azure Key Vault stand-in for every Azure case of the run
// (tests/azure/azure_standin.py), stopped by the test environment's tear-down.
struct AzureWorld {
  std::unique_ptr<testing::AzureStandin> standin;
  static AzureWorld*& Instance() {
    static AzureWorld* w = nullptr;
    return w;
  }
  static AzureWorld& Get() {
    AzureWorld*& w = Instance();
    if (w == nullptr) {
      w = new AzureWorld();
      testing::AzureStandin::Options options;
      options.key_bits = 4096;  // RoundTripsEveryLength wraps 300 bytes: one OAEP-256 block holds 446
      w->standin = testing::AzureStandin::Start(options);
    }
    return *w;
  }
};

class StopLockers : public ::testing::Environment {
 public:
  void TearDown() override {
    delete AzureWorld::Instance();
    AzureWorld::Instance() = nullptr;
    delete VaultWorld::Instance();
    VaultWorld::Instance() = nullptr;
    delete DirectoryWorld::Instance();
    DirectoryWorld::Instance() = nullptr;
  }
};
[[maybe_unused]] ::testing::Environment* const kStopLockers = ::testing::AddGlobalTestEnvironment(new StopLockers);

// ---------------------------------------------------------------- KeyStore

// Why a locker cannot run here (its test server is not installed and not
// required): the cases skip. Empty: run (a failure to start then fails).
std::string KmipSkipReason() {
  using testing::KmipWorld;
  return KmipWorld::Get() == nullptr && !KmipWorld::Required() &&
                 KmipWorld::Unavailable().find("not installed") != std::string::npos
             ? KmipWorld::Unavailable()
             : std::string();
}

struct StoreMaker {
  std::string name;
  // A store for `scope`; stores made for the same scope see the same records.
  std::function<std::unique_ptr<KeyStore>(const std::string& scope)> make;
  std::function<std::string()> skip_reason = nullptr;  // may be empty
};
// ctest names the cases after this (not after the struct's bytes).
void PrintTo(const StoreMaker& m, std::ostream* os) { *os << m.name; }

std::vector<StoreMaker> Stores() {
  auto records = std::make_shared<testing::MemoryKeyStore::Shared>();
  auto docs = std::make_shared<testing::FakeLocker>();
  return {
      {"MemoryRecords",
       [records](const std::string& s) { return std::make_unique<testing::MemoryKeyStore>(records, s, false); }},
      {"MemoryDocuments",
       [docs](const std::string& s) {
         return std::make_unique<DocumentKeyStore>(std::make_shared<testing::LockerRef>(docs.get()), "keyring_locker", s);
       }},
      {"Directory", [](const std::string& s) -> std::unique_ptr<KeyStore> {
         DirectoryBackendOptions options;
         options.root = DirectoryWorld::Get().dir + "/store";  // made by the first Open
         auto backend = DirectoryBackend::Open(options);
         if (!backend.ok()) return nullptr;
         return std::make_unique<DocumentKeyStore>(std::shared_ptr<DocumentBackend>(std::move(backend).value()),
                                                   "keyring_locker", s);
       }},
      {"VaultKv", [](const std::string& s) -> std::unique_ptr<KeyStore> {
         VaultWorld& w = VaultWorld::Get();
         if (!w.backend) return nullptr;
         return std::move(w.Pair(s).store);
       }},
      // Every store on a connection of its own; the run's own keys.prefix.
      {"Kmip",
       [](const std::string& s) -> std::unique_ptr<KeyStore> {
         testing::KmipWorld* w = testing::KmipWorld::Get();
         if (w == nullptr) return nullptr;
         return w->NewStore(s);
       },
       KmipSkipReason},
  };
}

class KeyStoreContract : public ::testing::TestWithParam<StoreMaker> {
 protected:
  void SetUp() override {
    if (GetParam().skip_reason && !GetParam().skip_reason().empty()) GTEST_SKIP() << GetParam().skip_reason();
    static std::atomic<int> n{0};
    scope_ = "contract/" + GetParam().name + "/" + std::to_string(n++);
    store_ = GetParam().make(scope_);
    ASSERT_NE(store_, nullptr) << "could not start the " << GetParam().name << " store";
  }
  static KeyRecord Record(const std::string& name, uint32_t version, const std::string& wrapped) {
    KeyRecord r;
    r.name = name;
    r.version = version;
    r.format = "keyring_locker/2";
    r.type = "AES";
    r.length = 32;
    r.wrapper = "test-wrapper";
    r.wrapped = wrapped;
    r.created = "2026-12-05T08:00:00Z";
    r.creator = "host:1";
    r.origin = "locker";
    return r;
  }
  std::string scope_;
  std::unique_ptr<KeyStore> store_;
};

TEST_P(KeyStoreContract, ReadsBackExactlyWhatWasCreated) {
  ASSERT_TRUE(store_->Create(Record("k", 1, "wrapped-1")).ok());
  auto r = store_->Read("k", 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "k");
  EXPECT_EQ(r->version, 1u);
  EXPECT_EQ(r->format, "keyring_locker/2");
  EXPECT_EQ(r->type, "AES");
  EXPECT_EQ(r->length, 32u);
  EXPECT_EQ(r->wrapper, "test-wrapper");
  EXPECT_EQ(r->wrapped, "wrapped-1");
  EXPECT_EQ(r->created, "2026-12-05T08:00:00Z");
  EXPECT_EQ(r->creator, "host:1");
  EXPECT_EQ(r->origin, "locker");
  EXPECT_EQ(store_->Read("k", 2).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Read("absent", 1).status().code(), Code::kNotFound);
}

TEST_P(KeyStoreContract, CreateNeverOverwrites) {
  ASSERT_TRUE(store_->Create(Record("k", 1, "first")).ok());
  EXPECT_EQ(store_->Create(Record("k", 1, "second")).code(), Code::kAlreadyExists);
  EXPECT_EQ(store_->Read("k", 1)->wrapped, "first");
}

TEST_P(KeyStoreContract, RacingCreatesHaveOneWinner) {
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<KeyStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(GetParam().make(scope_));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      Status s = stores[i]->Create(Record("race", 1, "writer-" + std::to_string(i)));
      (s.ok() ? won : lost)++;
      if (!s.ok()) {
        EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 3);
}

TEST_P(KeyStoreContract, ListsNamesAndVersionsOfItsScopeOnly) {
  const std::vector<std::string> names = {"1", "a/b", "with space", "..", "%41", "\xc3\xa4"};
  for (const auto& n : names) ASSERT_TRUE(store_->Create(Record(n, 1, "w")).ok()) << n;
  ASSERT_TRUE(store_->Create(Record("1", 2, "w")).ok());
  ASSERT_TRUE(store_->Create(Record("1", 10, "w")).ok());
  auto listed = store_->ListNames();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> got = *listed, want = names;
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  auto versions = store_->ListVersions("1");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, 1u);
  EXPECT_EQ((*versions)[1].version, 2u);
  EXPECT_EQ((*versions)[2].version, 10u);
  for (const auto& e : *versions) EXPECT_TRUE(e.has_record && !e.deleted);
  EXPECT_TRUE(store_->ListVersions("absent")->empty());

  auto other = GetParam().make(scope_ + "-other");
  EXPECT_TRUE(other->ListNames()->empty());
  EXPECT_EQ(other->Read("1", 1).status().code(), Code::kNotFound);
}

TEST_P(KeyStoreContract, SoftDeleteUndeleteAndPurge) {
  ASSERT_TRUE(store_->Create(Record("k", 1, "w")).ok());
  DeletionMarker m{"k", 1, "2026-12-05T08:01:00Z", 1796457660, "host:2"};
  ASSERT_TRUE(store_->MarkDeleted(m).ok());
  EXPECT_EQ(store_->MarkDeleted(m).code(), Code::kAlreadyExists);
  auto v = store_->ListVersions("k");
  ASSERT_EQ(v->size(), 1u);
  EXPECT_TRUE((*v)[0].deleted && (*v)[0].has_record);
  auto read = store_->ReadMarker("k", 1);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->deleted_at, m.deleted_at);
  EXPECT_EQ(read->deleted_unix, m.deleted_unix);
  EXPECT_EQ(read->deleted_by, m.deleted_by);
  EXPECT_TRUE(store_->Read("k", 1).ok()) << "a soft-deleted key stays readable until purged";

  ASSERT_TRUE(store_->Undelete("k", 1).ok());
  EXPECT_FALSE(store_->ListVersions("k")->at(0).deleted);

  ASSERT_TRUE(store_->MarkDeleted(m).ok());
  ASSERT_TRUE(store_->Purge("k", 1).ok());
  v = store_->ListVersions("k");
  ASSERT_EQ(v->size(), 1u) << "the marker keeps the purged version's number taken";
  EXPECT_TRUE((*v)[0].deleted);
  EXPECT_FALSE((*v)[0].has_record);
  EXPECT_EQ(store_->Read("k", 1).status().code(), Code::kNotFound);
  // Whether Create refuses a purged number is the store's choice: KeyService
  // never asks for one (its next generation counts the marker).
}

TEST_P(KeyStoreContract, PlaintextOnlyWhereTheStoreProtectsIt) {
  KeyRecord r = Record("bare", 1, "");
  r.format = "keyring_locker/store-protected/1";
  r.plaintext = std::move(crypto::RandomKey(32)).value();
  Status s = store_->Create(r);
  if (!store_->ProtectsPlaintext()) {
    EXPECT_FALSE(s.ok()) << "a store that does not protect keys must refuse a bare one";
    EXPECT_EQ(store_->Read("bare", 1).status().code(), Code::kNotFound);
    return;
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(store_->Read("bare", 1)->plaintext.Equals(r.plaintext));
}

TEST_P(KeyStoreContract, SaysWhereItsKeysLive) {
  EXPECT_FALSE(store_->Describe().empty());
  EXPECT_NE(store_->RecordName("k", 3).find('3'), std::string::npos);
  bool has_scope = false;
  for (const auto& [field, value] : store_->Identity().fields) has_scope |= value.find(scope_) != std::string::npos;
  EXPECT_TRUE(has_scope) << "the datadir marker binds to the scope";
  auto h = store_->Health();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->reachable);
}

INSTANTIATE_TEST_SUITE_P(Stores, KeyStoreContract, ::testing::ValuesIn(Stores()),
                         [](const auto& info) { return info.param.name; });

// -------------------------------------------------------------- KeyWrapper

struct WrapperMaker {
  std::string name;
  std::function<std::unique_ptr<KeyWrapper>()> make;
  std::function<std::string()> skip_reason = nullptr;  // may be empty
};
void PrintTo(const WrapperMaker& m, std::ostream* os) { *os << m.name; }

std::vector<WrapperMaker> Wrappers() {
  auto fake = std::make_shared<testing::FakeLocker>();
  return {
      {"LocalAead", [] { return std::make_unique<testing::LocalAeadWrapper>(); }},
      {"Fake", [fake] { return std::make_unique<testing::FakeWrapper>(fake.get()); }},
      {"VaultTransit", []() -> std::unique_ptr<KeyWrapper> {
         VaultWorld& w = VaultWorld::Get();
         if (!w.backend) return nullptr;
         return std::move(w.Pair("contract/wrap").wrapper);
       }},
      // An AES-256 KEK made once per run on PyKMIP, used through Encrypt/Decrypt.
      {"Kmip",
       []() -> std::unique_ptr<KeyWrapper> {
         testing::KmipWorld* w = testing::KmipWorld::Get();
         if (w == nullptr) return nullptr;
         const std::string kek = w->RunPrefix() + "/contract-kek";
         static const bool made = w->MakeKek(kek);
         if (!made) return nullptr;
         auto wrapper = KmipWrapper::Open(w->NewClient(), kek);
         if (!wrapper.ok()) return nullptr;
         return std::move(wrapper).value();
       },
       KmipSkipReason},
      // wrapKey/unwrapKey with a 4096-bit RSA key on the Azure Key Vault stand-in.
      {"AzureKeyVault",
       []() -> std::unique_ptr<KeyWrapper> {
         AzureWorld& w = AzureWorld::Get();
         if (!w.standin) return nullptr;
         auto wrapper = AzureKeyVaultWrapper::Open(w.standin->WrapperOptions(azure::AuthMethod::kClientSecret));
         if (!wrapper.ok() || !(*wrapper)->Connect().ok()) return nullptr;
         return std::move(wrapper).value();
       },
       testing::AzureStandin::Unavailable},
      // AWS KMS Encrypt/Decrypt on moto over verified TLS, one KMS key per run.
      {"AwsKms",
       []() -> std::unique_ptr<KeyWrapper> {
         testing::MotoServer* moto = testing::SharedMoto();
         if (moto == nullptr) return nullptr;
         static const std::string key = moto->CreateKey();
         auto wrapper = AwsKmsWrapper::Open(moto->NewClient(), {key, "keyring_locker/contract"});
         if (!wrapper.ok()) return nullptr;
         return std::move(wrapper).value();
       },
       [] {
         return testing::SharedMoto() == nullptr && !testing::MotoServer::Required() ? testing::MotoUnavailable()
                                                                                     : std::string();
       }},
  };
}

class KeyWrapperContract : public ::testing::TestWithParam<WrapperMaker> {
 protected:
  void SetUp() override {
    if (GetParam().skip_reason && !GetParam().skip_reason().empty()) GTEST_SKIP() << GetParam().skip_reason();
    wrapper_ = GetParam().make();
    ASSERT_NE(wrapper_, nullptr) << "could not start the " << GetParam().name << " wrapper";
  }
  std::unique_ptr<KeyWrapper> wrapper_;
};

TEST_P(KeyWrapperContract, RoundTripsEveryLength) {
  for (size_t n : {1u, 16u, 32u, 64u, 300u}) {
    auto key = crypto::RandomKey(n);
    auto w1 = wrapper_->Wrap(*key, "scope\nk\n1");
    ASSERT_TRUE(w1.ok()) << n << ": " << w1.status().ToString();
    auto w2 = wrapper_->Wrap(*key, "scope\nk\n1");
    ASSERT_TRUE(w2.ok());
    EXPECT_NE(*w1, *w2) << "wrapping is randomised: the same ciphertext means the same write";
    // The key's bytes do not appear in the wrapped text. (A 1-byte key is in
    // a base64 text by chance about one time in five, whatever the wrapper:
    // checked from 16 bytes on, where a chance match is out of reach.)
    if (n >= 16) {
      EXPECT_EQ(w1->find(std::string(reinterpret_cast<const char*>(key->data()), n)), std::string::npos);
    }
    auto back = wrapper_->Unwrap(*w1, "scope\nk\n1");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(back->Equals(*key));
  }
}

TEST_P(KeyWrapperContract, RefusesDamagedCiphertext) {
  auto key = crypto::RandomKey(32);
  std::string w = *wrapper_->Wrap(*key, "ad");
  std::string flipped = w;
  char& c = flipped[flipped.size() - 3];
  c = c == 'A' ? 'B' : 'A';
  auto r = wrapper_->Unwrap(flipped, "ad");
  EXPECT_FALSE(r.ok() && r->Equals(*key)) << "a damaged ciphertext must not unwrap to the key";
  for (const std::string& junk : {std::string(), std::string("x"), std::string(5000, 'A'), w.substr(0, w.size() / 2)}) {
    EXPECT_FALSE(wrapper_->Unwrap(junk, "ad").ok());
  }
}

TEST_P(KeyWrapperContract, GeneratesTheLengthsItClaims) {
  EXPECT_FALSE(wrapper_->Id().empty());
  for (size_t n : {16u, 24u, 32u, 64u}) {
    if (!wrapper_->CanGenerate(n)) continue;
    auto a = wrapper_->Generate(n), b = wrapper_->Generate(n);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
    EXPECT_EQ(a->size(), n);
    EXPECT_FALSE(a->Equals(*b));
  }
}

INSTANTIATE_TEST_SUITE_P(Wrappers, KeyWrapperContract, ::testing::ValuesIn(Wrappers()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace keyring_locker
