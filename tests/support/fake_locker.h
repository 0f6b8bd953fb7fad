// FakeLocker: an in-memory locker for unit tests of the layers above it, in
// both roles: a DocumentBackend (the memory documents the unit tests' key
// store is made of, through DocumentKeyStore) and a wrapper whose wrapping is
// real AES-256-GCM under a test KEK, so a wrong ciphertext fails the way
// Transit's does. `down` makes every call fail as an unreachable locker
// would; counters let tests assert how many calls reached it.
// FakeKeyLocker() gives KeyService a store and a wrapper over one FakeLocker.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "crypto/crypto.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/store/document_backend.h"
#include "keyring_backend/store/document_key_store.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker::testing {

struct WrappedKey {
  crypto::SecureBuffer plaintext;
  std::string ciphertext;
};

class FakeLocker : public DocumentBackend {
 public:
  FakeLocker() : kek_(std::move(crypto::RandomKey(32)).value()) {}

  std::atomic<bool> down{false};
  std::atomic<int> fetches{0}, stores{0}, lists{0}, unwraps{0};
  std::chrono::milliseconds fetch_delay{0};

  std::string Describe() const override { return "fake"; }

  Status Store(const std::string& path, const nlohmann::json& doc) override {
    RETURN_IF_ERROR(Reachable());
    ++stores;
    std::lock_guard<std::mutex> lock(mu_);
    if (docs_.count(path)) return AlreadyExists("exists: " + path);
    docs_[path] = doc;
    return Status::Ok();
  }
  StatusOr<nlohmann::json> Fetch(const std::string& path) override {
    RETURN_IF_ERROR(Reachable());
    ++fetches;
    if (fetch_delay.count() > 0) std::this_thread::sleep_for(fetch_delay);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = docs_.find(path);
    if (it == docs_.end()) return NotFound("no " + path);
    return it->second;
  }
  StatusOr<std::vector<std::string>> List(const std::string& prefix) override {
    RETURN_IF_ERROR(Reachable());
    ++lists;
    std::string p = prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/";
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [path, doc] : docs_) {
      if (path.compare(0, p.size(), p) != 0) continue;
      std::string rest = path.substr(p.size());
      size_t slash = rest.find('/');
      std::string entry = slash == std::string::npos ? rest : rest.substr(0, slash + 1);
      if (out.empty() || out.back() != entry) out.push_back(entry);
    }
    return out;
  }
  Status Remove(const std::string& path) override {
    RETURN_IF_ERROR(Reachable());
    std::lock_guard<std::mutex> lock(mu_);
    docs_.erase(path);
    return Status::Ok();
  }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string&) {
    RETURN_IF_ERROR(Reachable());
    ASSIGN_OR_RETURN(crypto::Bytes sealed, crypto::Aes256GcmSeal(kek_, plaintext.data(), plaintext.size(), nullptr, 0));
    return "fake:v1:" + crypto::Base64Encode(sealed.data(), sealed.size());
  }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& ciphertext, const std::string&) {
    RETURN_IF_ERROR(Reachable());
    ++unwraps;
    if (ciphertext.rfind("fake:v1:", 0) != 0) return InvalidArgument("not a fake ciphertext");
    ASSIGN_OR_RETURN(crypto::Bytes sealed, crypto::Base64Decode(ciphertext.substr(8)));
    return crypto::Aes256GcmOpen(kek_, sealed.data(), sealed.size(), nullptr, 0);
  }
  StatusOr<WrappedKey> GenerateDataKey(size_t bytes, const std::string& ctx) {
    RETURN_IF_ERROR(Reachable());
    ASSIGN_OR_RETURN(crypto::SecureBuffer key, crypto::RandomKey(bytes));
    ASSIGN_OR_RETURN(std::string wrapped, Wrap(key, ctx));
    return WrappedKey{std::move(key), std::move(wrapped)};
  }
  StatusOr<LockerHealth> Health() override {
    LockerHealth h;
    h.reachable = !down;
    return h;
  }
  KeyHomeIdentity Identity() const override { return KeyHomeIdentity{{{"fake", "memory"}}, "memory"}; }

  // Direct access for tampering tests.
  void Put(const std::string& path, nlohmann::json doc) {
    std::lock_guard<std::mutex> lock(mu_);
    docs_[path] = std::move(doc);
  }
  nlohmann::json Get(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return docs_.count(path) ? docs_[path] : nlohmann::json();
  }

 private:
  Status Reachable() const { return down ? Unavailable("fake locker is down") : Status::Ok(); }
  crypto::SecureBuffer kek_;
  std::mutex mu_;
  std::map<std::string, nlohmann::json> docs_;
};

// Forwards to a FakeLocker owned elsewhere, so several KeyServices (e.g.
// before and after a simulated restart, or two servers) can share one.
class LockerRef : public DocumentBackend {
 public:
  explicit LockerRef(FakeLocker* target) : t_(target) {}
  std::string Describe() const override { return t_->Describe(); }
  Status Store(const std::string& p, const nlohmann::json& d) override { return t_->Store(p, d); }
  StatusOr<nlohmann::json> Fetch(const std::string& p) override { return t_->Fetch(p); }
  StatusOr<std::vector<std::string>> List(const std::string& p) override { return t_->List(p); }
  Status Remove(const std::string& p) override { return t_->Remove(p); }
  StatusOr<LockerHealth> Health() override { return t_->Health(); }
  KeyHomeIdentity Identity() const override { return t_->Identity(); }

 private:
  FakeLocker* t_;
};

// The wrapper role of a FakeLocker.
class FakeWrapper : public KeyWrapper {
 public:
  explicit FakeWrapper(FakeLocker* target) : t_(target) {}
  std::string Id() const override { return "fake-aead"; }
  std::string Describe() const override { return "wrapper=fake"; }
  StatusOr<std::string> Wrap(const crypto::SecureBuffer& k, const std::string& ad) override { return t_->Wrap(k, ad); }
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& w, const std::string& ad) override {
    return t_->Unwrap(w, ad);
  }
  bool CanGenerate(size_t n) const override { return n == 16 || n == 32 || n == 64; }
  StatusOr<crypto::SecureBuffer> Generate(size_t n) override {
    ASSIGN_OR_RETURN(WrappedKey k, t_->GenerateDataKey(n, ""));
    return std::move(k.plaintext);
  }

 private:
  FakeLocker* t_;
};

// A KeyService's store and wrapper, both over `locker`, for `scope`.
inline KeyLocker FakeKeyLocker(FakeLocker* locker, const KeyScopeOptions& scope) {
  KeyLocker pair;
  pair.store = std::make_unique<DocumentKeyStore>(std::make_shared<LockerRef>(locker), scope.prefix, scope.scope);
  pair.wrapper = std::make_unique<FakeWrapper>(locker);
  return pair;
}

// Where a key version's document lives in a FakeLocker (DocumentLayout).
inline std::string FakeDocumentPath(const KeyScopeOptions& scope, const std::string& name, uint32_t version) {
  return DocumentLayout(scope.prefix, scope.scope).DocumentPath(name, version);
}

}  // namespace keyring_locker::testing
