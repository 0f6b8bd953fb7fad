// Attacks by whoever can write the KV mount (or answer in the locker's
// place) but cannot wrap: each was possible before key binding and key rules
// (issue #15) and must now be refused with DATA_LOSS naming the key, while
// the key asked for is never served in its place.
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "keyring_backend/envelope/key_binding.h"
#include "keyring_backend/key_service.h"
#include "tests/support/fake_locker.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::FakeLocker;
using testing::LockerRef;

constexpr std::chrono::milliseconds kNoBudget{0};
const std::string kRoot = "keyring_locker/prod/db1/keys/";

class KeyIntegrityTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> NewService(KeyServer server = KeyServer::kMariaDb, const std::string& scope = "prod/db1",
                                         bool read_unbound = true) {
    KeyScopeOptions s;
    s.scope = scope;
    s.rules.server = server;
    s.read_unbound_documents = read_unbound;
    return std::make_unique<KeyService>(testing::FakeKeyLocker(&locker_, s), s, CacheOptions{}, nullptr, "test:1",
                                        kNoBudget);
  }
  // A document as keyring_locker/1 wrote it: the key wrapped as it is.
  json UnboundDocument(const std::string& name, uint32_t version, const crypto::SecureBuffer& key,
                       const std::string& type = "AES") {
    return json{{"format", "keyring_locker/1"}, {"name", name}, {"version", version}, {"type", type},
                {"length", key.size()}, {"wrapped", *locker_.Wrap(key, "")}};
  }
  // A keyring_locker/2 document whose key is bound to `binding`, as someone
  // holding the right to wrap (or the locker itself) could write it.
  json BoundDocument(const KeyBinding& binding, const crypto::SecureBuffer& key, const std::string& type = "AES") {
    return json{{"format", "keyring_locker/2"}, {"name", binding.name}, {"version", binding.version},
                {"type", type}, {"length", key.size()}, {"wrapped", *locker_.Wrap(*BindKey(binding, key), "")}};
  }
  FakeLocker locker_;
};

TEST_F(KeyIntegrityTest, WrappedPlaintextNamesScopeNameAndVersion) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("16").ok());
  json doc = locker_.Get(kRoot + "16/1");
  EXPECT_EQ(doc["format"], "keyring_locker/2");
  auto plain = locker_.Unwrap(doc["wrapped"].get<std::string>(), "");
  ASSERT_TRUE(plain.ok());
  const std::string text(reinterpret_cast<const char*>(plain->data()), plain->size());
  EXPECT_NE(text.find("keyring_locker/prod/db1\n16\n1"), std::string::npos);
  EXPECT_EQ(plain->size(), 7 + std::string("keyring_locker/prod/db1\n16\n1").size() + 32);
}

TEST_F(KeyIntegrityTest, DocumentCopiedToAnotherKeysPathIsRefused) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("16").ok());
  json copy = locker_.Get(kRoot + "16/1");
  copy["name"] = "18";
  locker_.Put(kRoot + "18/1", copy);
  auto fresh = NewService();
  auto got = fresh->Get("18", 1);
  ASSERT_FALSE(got.ok()) << "key 16's bytes were served as key 18";
  EXPECT_EQ(got.status().code(), Code::kDataLoss);
  EXPECT_NE(got.status().message().find("key 18 version 1"), std::string::npos) << got.status().ToString();
  EXPECT_NE(got.status().message().find("belongs to another key"), std::string::npos) << got.status().ToString();
  EXPECT_NE(fresh->stats().last_error.find("belongs to another key"), std::string::npos);
}

TEST_F(KeyIntegrityTest, DocumentCopiedToAnotherVersionIsRefused) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("16").ok());
  json copy = locker_.Get(kRoot + "16/1");
  copy["version"] = 2;
  locker_.Put(kRoot + "16/2", copy);  // a "rotation" that keeps the old key
  auto fresh = NewService();
  EXPECT_EQ(fresh->Get("16", 2).status().code(), Code::kDataLoss);
  EXPECT_TRUE(fresh->Get("16", 1).ok());
}

TEST_F(KeyIntegrityTest, DocumentCopiedFromAnotherScopeIsRefused) {
  auto other = NewService(KeyServer::kMariaDb, "prod/db2");
  ASSERT_TRUE(other->EnsureKey("1").ok());
  locker_.Put(kRoot + "1/1", locker_.Get("keyring_locker/prod/db2/keys/1/1"));
  auto svc = NewService();
  EXPECT_EQ(svc->Get("1", 1).status().code(), Code::kDataLoss);
}

TEST_F(KeyIntegrityTest, BoundDocumentWithoutIdentityInsideIsRefused) {
  // A keyring_locker/1 wrapped key relabelled as format 2.
  auto key = std::move(crypto::RandomKey(32)).value();
  json doc = UnboundDocument("5", 1, key);
  doc["format"] = "keyring_locker/2";
  locker_.Put(kRoot + "5/1", doc);
  auto got = NewService()->Get("5", 1);
  EXPECT_EQ(got.status().code(), Code::kDataLoss);
  EXPECT_NE(got.status().message().find("carries no identity"), std::string::npos) << got.status().ToString();
}

TEST_F(KeyIntegrityTest, UnboundDocumentsAreReadOnlyWhileAllowed) {
  auto key = std::move(crypto::RandomKey(32)).value();
  locker_.Put(kRoot + "3/1", UnboundDocument("3", 1, key));
  auto got = NewService()->Get("3", 1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE((*got)->bytes.Equals(key));
  auto strict = NewService(KeyServer::kMariaDb, "prod/db1", /*read_unbound=*/false)->Get("3", 1);
  EXPECT_EQ(strict.status().code(), Code::kDataLoss);
  EXPECT_NE(strict.status().message().find("keys.unbound_documents"), std::string::npos) << strict.status().ToString();
}

TEST_F(KeyIntegrityTest, RotationOfAnUnboundKeyWritesABoundVersion) {
  auto key = std::move(crypto::RandomKey(32)).value();
  locker_.Put(kRoot + "4/1", UnboundDocument("4", 1, key));
  auto svc = NewService();
  ASSERT_EQ(*svc->Rotate("4"), 2u);
  EXPECT_EQ(locker_.Get(kRoot + "4/2")["format"], "keyring_locker/2");
  EXPECT_EQ(locker_.Get(kRoot + "4/1")["format"], "keyring_locker/1");  // the old version stays as it was
}

// The crash of issue #15: `length` and the unwrapped key agree on 17 bytes,
// and InnoDB aborted at its next flush. Neither format may serve it.
TEST_F(KeyIntegrityTest, MariaDbIsNeverServedAKeyOfAWrongLength) {
  for (size_t length : {1u, 17u, 31u, 33u, 64u}) {
    auto key = std::move(crypto::RandomKey(length)).value();
    const std::string unbound = "u" + std::to_string(length), bound = "b" + std::to_string(length);
    locker_.Put(kRoot + unbound + "/1", UnboundDocument(unbound, 1, key));
    locker_.Put(kRoot + bound + "/1", BoundDocument(KeyBinding{"keyring_locker/prod/db1", bound, 1}, key));
    auto svc = NewService();
    for (const std::string& name : {unbound, bound}) {
      auto got = svc->Get(name, 1);
      ASSERT_FALSE(got.ok()) << name << ": a " << length << "-byte key was served to MariaDB";
      EXPECT_EQ(got.status().code(), Code::kDataLoss);
      EXPECT_NE(got.status().message().find(name + "/1"), std::string::npos) << got.status().ToString();
      EXPECT_NE(got.status().message().find("16, 24 or 32"), std::string::npos) << got.status().ToString();
    }
  }
  EXPECT_EQ(locker_.unwraps.load(), 0) << "refused before unwrapping";
}

TEST_F(KeyIntegrityTest, MariaDbIsNeverServedAKeyOfAnotherType) {
  auto key = std::move(crypto::RandomKey(32)).value();
  locker_.Put(kRoot + "9/1", BoundDocument(KeyBinding{"keyring_locker/prod/db1", "9", 1}, key, "RSA"));
  auto got = NewService()->Get("9", 1);
  EXPECT_EQ(got.status().code(), Code::kDataLoss);
  EXPECT_NE(got.status().message().find("\"RSA\""), std::string::npos) << got.status().ToString();
  for (size_t length : {16u, 24u, 32u}) {
    const std::string name = "ok" + std::to_string(length);
    auto k = std::move(crypto::RandomKey(length)).value();
    locker_.Put(kRoot + name + "/1", BoundDocument(KeyBinding{"keyring_locker/prod/db1", name, 1}, k));
    EXPECT_TRUE(NewService()->Get(name, 1).ok()) << length;
  }
}

TEST_F(KeyIntegrityTest, MySqlKeysFollowMySqlsTypeAndLengthRules) {
  auto svc = NewService(KeyServer::kMySql);
  struct Case {
    const char* type;
    size_t length;
    bool ok;
  };
  const Case cases[] = {{"AES", 16, true},     {"AES", 24, true},    {"AES", 32, true},   {"AES", 20, false},
                        {"RSA", 128, true},    {"RSA", 512, true},   {"RSA", 100, false}, {"DSA", 384, true},
                        {"DSA", 512, false},   {"SECRET", 1, true},  {"SECRET", 16384, true},
                        {"SECRET", 16385, false}, {"XYZ", 32, false}, {"aes", 32, false}, {"", 32, false}};
  int n = 0;
  for (const Case& c : cases) {
    const std::string name = "k" + std::to_string(n++);
    const int lists_before = locker_.lists.load();
    Status created = svc->CreateGeneration(name, c.type, c.length, nullptr);
    EXPECT_EQ(created.ok(), c.ok) << c.type << " " << c.length << ": " << created.ToString();
    if (!c.ok) {
      EXPECT_EQ(created.code(), Code::kInvalidArgument);
      EXPECT_EQ(locker_.lists.load(), lists_before) << "refused before asking the locker";
      EXPECT_EQ(svc->Create(name, 1, c.type, c.length, nullptr).code(), Code::kInvalidArgument);
    }
  }
  // A stored key of a type MySQL does not know is refused when read, too.
  auto key = std::move(crypto::RandomKey(32)).value();
  locker_.Put(kRoot + "xyz/1", BoundDocument(KeyBinding{"keyring_locker/prod/db1", "xyz", 1}, key, "XYZ"));
  EXPECT_EQ(NewService(KeyServer::kMySql)->Get("xyz", 1).status().code(), Code::kDataLoss);
}

// Document fields reach SHOW STATUS, the error log and a DBA's terminal
// (keyring-locker list): bounded and printable, whatever the locker holds.
TEST_F(KeyIntegrityTest, DocumentMetadataIsBoundedAndPrintable) {
  auto svc = NewService();
  ASSERT_TRUE(svc->EnsureKey("1").ok());
  json doc = locker_.Get(kRoot + "1/1");
  doc["creator"] = "x\n2026-01-01 0 [ERROR] forged line\x1b[2J" + std::string(100000, 'a');
  doc["origin"] = "\r\n";
  locker_.Put(kRoot + "1/1", doc);
  // Another server reads it (svc keeps what it wrote: records never change).
  auto list = NewService()->ListKeyVersions();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  const KeyVersionInfo& k = list->front();
  EXPECT_LE(k.creator.size(), 103u);
  EXPECT_EQ(k.creator.find_first_of("\r\n\x1b"), std::string::npos) << k.creator;
  EXPECT_EQ(k.origin, "??");
  EXPECT_TRUE(k.bound);
}

}  // namespace
}  // namespace keyring_locker
