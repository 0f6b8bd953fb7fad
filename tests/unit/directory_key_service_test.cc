// KeyService over DocumentKeyStore(DirectoryBackend) with the tests' local
// AEAD wrapper: keys made, rotated, soft-deleted and purged as files, read
// back byte-identical by a new KeyService over the same directory (a
// restart), with no key bytes in any file and copied documents refused.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/store/directory_backend.h"
#include "keyring_backend/store/document_key_store.h"
#include "tests/support/local_aead_wrapper.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

namespace fs = std::filesystem;

// The same KEK across "restarts": each KeyService gets a forwarder to one
// LocalAeadWrapper, as a restarted server reaches the same cloud KMS key.
class WrapperRef : public KeyWrapper {
 public:
  explicit WrapperRef(std::shared_ptr<KeyWrapper> target) : t_(std::move(target)) {}
  std::string Id() const override { return t_->Id(); }
  std::string Describe() const override { return t_->Describe(); }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer& k, const std::string& ad) override { return t_->Wrap(k, ad); }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& w, const std::string& ad) override {
    return t_->Unwrap(w, ad);
  }
  bool CanGenerate(size_t n) const override { return t_->CanGenerate(n); }
  StatusOr<crypto::SecureBuffer> Generate(size_t n) override { return t_->Generate(n); }

 private:
  std::shared_ptr<KeyWrapper> t_;
};

class DirectoryKeyServiceTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    root_ = dir_ + "/keys";
    scope_.scope = "prod/db1";
  }
  // A new KeyService over the directory, as after a server restart.
  std::unique_ptr<KeyService> Start() {
    DirectoryBackendOptions o;
    o.root = root_;
    auto backend = DirectoryBackend::Open(o);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    if (!backend.ok()) return nullptr;
    KeyLocker locker;
    locker.store = std::make_unique<DocumentKeyStore>(std::shared_ptr<DocumentBackend>(std::move(backend).value()),
                                                      scope_.prefix, scope_.scope);
    locker.wrapper = std::make_unique<WrapperRef>(kek_);
    EXPECT_TRUE(locker.store->Connect().ok());
    return std::make_unique<KeyService>(std::move(locker), scope_, CacheOptions(), nullptr, "test:1",
                                        std::chrono::milliseconds(0));
  }
  static crypto::SecureBuffer Bytes(const KeyHandle& k) { return k->bytes.Clone(); }
  std::string DocumentFile(const std::string& name, uint32_t version) const {
    return root_ + "/" + DocumentLayout(scope_.prefix, scope_.scope).DocumentPath(name, version);
  }

  std::shared_ptr<KeyWrapper> kek_ = std::make_shared<testing::LocalAeadWrapper>();
  KeyScopeOptions scope_;
  std::string root_;
};

TEST_F(DirectoryKeyServiceTest, ARestartedServiceReadsTheSameKeysFromTheDirectory) {
  crypto::SecureBuffer one_v1, one_v2, other_v1;
  {
    auto svc = Start();
    ASSERT_NE(svc, nullptr);
    ASSERT_EQ(*svc->EnsureKey("1"), 1u);
    ASSERT_EQ(*svc->Rotate("1"), 2u);
    ASSERT_EQ(*svc->EnsureKey("a/b c", 16), 1u);
    one_v1 = Bytes(*svc->Get("1", 1));
    one_v2 = Bytes(*svc->Get("1", 2));
    other_v1 = Bytes(*svc->Get("a/b c", 1));
    EXPECT_FALSE(one_v1.Equals(one_v2));
  }
  ASSERT_TRUE(fs::is_regular_file(DocumentFile("1", 2))) << "the documented layout, under the root";

  auto svc = Start();
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->LatestVersionCached("1"), 0u);
  ASSERT_TRUE(svc->RefreshVersions().ok());
  EXPECT_EQ(svc->LatestVersionCached("1"), 2u);
  EXPECT_EQ(svc->LatestVersionCached("a/b c"), 1u);
  auto names = svc->ListNames();
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"1", "a/b c"}));
  auto v1 = svc->Get("1", 1), v2 = svc->Get("1", 2), other = svc->Get("a/b c", 1);
  ASSERT_TRUE(v1.ok() && v2.ok() && other.ok()) << v1.status().ToString() << v2.status().ToString();
  EXPECT_TRUE((*v1)->bytes.Equals(one_v1));
  EXPECT_TRUE((*v2)->bytes.Equals(one_v2));
  EXPECT_TRUE((*other)->bytes.Equals(other_v1));
  EXPECT_EQ((*other)->bytes.size(), 16u);
  EXPECT_EQ(*svc->EnsureKey("1"), 2u) << "nothing re-created";
  ASSERT_EQ(*svc->Rotate("1"), 3u);

  const KeyHomeIdentity id = svc->Identity();
  ASSERT_FALSE(id.fields.empty());
  EXPECT_EQ(id.fields[0], (std::pair<std::string, std::string>{"directory", fs::canonical(root_).string()}));
  EXPECT_NE(svc->Describe().find("directory " + fs::canonical(root_).string()), std::string::npos);
}

TEST_F(DirectoryKeyServiceTest, NoFileHoldsKeyBytes) {
  std::vector<crypto::SecureBuffer> keys;
  {
    auto svc = Start();
    ASSERT_NE(svc, nullptr);
    for (const char* name : {"1", "2", "3"}) {
      ASSERT_TRUE(svc->EnsureKey(name).ok());
      ASSERT_TRUE(svc->Rotate(name).ok());
      keys.push_back(Bytes(*svc->Get(name, 1)));
      keys.push_back(Bytes(*svc->Get(name, 2)));
    }
  }
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string content = ss.str();
    EXPECT_NE(content.find("\"wrapped\":\"aead:"), std::string::npos) << e.path() << ": wrapped by the wrapper";
    for (const auto& k : keys) {
      const std::string raw(reinterpret_cast<const char*>(k.data()), k.size());
      EXPECT_EQ(content.find(raw.substr(0, 16)), std::string::npos) << e.path();
      EXPECT_EQ(content.find(crypto::Base64Encode(k.data(), k.size())), std::string::npos) << e.path();
    }
  }
  EXPECT_EQ(files, 6u) << "one file per key version, no temporary file left";
}

TEST_F(DirectoryKeyServiceTest, GenerationsSurviveARestartAndPurgeRemovesOnlyTheFile) {
  crypto::SecureBuffer first;
  {
    auto svc = Start();
    ASSERT_NE(svc, nullptr);
    ASSERT_TRUE(svc->CreateGeneration("rk", "AES", 32, nullptr).ok());
    first = Bytes(*svc->GetLive("rk"));
    ASSERT_TRUE(svc->SoftRemove("rk").ok());
  }
  ASSERT_TRUE(fs::exists(DocumentFile("rk", 1) + ".deleted"));
  auto svc = Start();
  ASSERT_NE(svc, nullptr);
  ASSERT_TRUE(svc->RefreshVersions().ok());
  EXPECT_EQ(svc->GetLive("rk").status().code(), Code::kNotFound);
  ASSERT_TRUE(svc->Restore("rk", 1).ok());
  EXPECT_TRUE((*svc->GetLive("rk"))->bytes.Equals(first));
  EXPECT_FALSE(fs::exists(DocumentFile("rk", 1) + ".deleted"));

  ASSERT_TRUE(svc->SoftRemove("rk").ok());
  auto purged = svc->PurgeDeleted(std::chrono::seconds(0));
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(*purged, 1u);
  EXPECT_FALSE(fs::exists(DocumentFile("rk", 1)));
  EXPECT_TRUE(fs::exists(DocumentFile("rk", 1) + ".deleted")) << "the marker keeps number 1 taken";
  ASSERT_TRUE(svc->CreateGeneration("rk", "AES", 32, nullptr).ok());
  EXPECT_TRUE(fs::exists(DocumentFile("rk", 2)));
}

TEST_F(DirectoryKeyServiceTest, ACopiedOrDamagedDocumentIsRefusedNotServed) {
  {
    auto svc = Start();
    ASSERT_NE(svc, nullptr);
    ASSERT_TRUE(svc->EnsureKey("1").ok());
    ASSERT_TRUE(svc->EnsureKey("2").ok());
  }
  // Someone with write access to the directory copies key 1 over to key 2's
  // next version, and damages key 2's first.
  fs::copy_file(DocumentFile("1", 1), DocumentFile("2", 2));
  std::ofstream(DocumentFile("2", 1), std::ios::trunc) << "{\"format\":";
  auto svc = Start();
  ASSERT_NE(svc, nullptr);
  auto copied = svc->Get("2", 2);
  EXPECT_EQ(copied.status().code(), Code::kDataLoss) << copied.status().ToString();
  auto damaged = svc->Get("2", 1);
  EXPECT_EQ(damaged.status().code(), Code::kDataLoss) << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find(DocumentFile("2", 1)), std::string::npos) << damaged.status().message();
  EXPECT_TRUE(svc->Get("1", 1).ok());
}

}  // namespace
}  // namespace keyring_locker
