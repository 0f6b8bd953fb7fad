// MemoryKeyStore: a KeyStore of records in memory, for tests of the layers
// above the seam. With `protects_plaintext` it stands for a store like a
// KMIP server (keys kept bare, made by the store itself), so the envelope's
// store-protected path is tested without a KMIP server.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "crypto/crypto.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker::testing {

class MemoryKeyStore : public KeyStore {
 public:
  struct Shared {  // what several stores (servers, restarts) see alike
    std::mutex mu;
    std::map<std::pair<std::string, uint32_t>, KeyRecord> records;
    std::map<std::pair<std::string, uint32_t>, DeletionMarker> markers;
  };

  MemoryKeyStore(std::shared_ptr<Shared> shared, std::string scope, bool protects_plaintext)
      : shared_(std::move(shared)), scope_(std::move(scope)), plain_(protects_plaintext) {}

  std::string Describe() const override { return "memory"; }
  std::string RecordName(const std::string& name, uint32_t version) const override {
    return "memory record " + scope_ + "|" + name + "|" + std::to_string(version);
  }
  KeyHomeIdentity Identity() const override { return KeyHomeIdentity{{{"memory", "records"}, {"scope", scope_}}, ""}; }
  bool ProtectsPlaintext() const override { return plain_; }

  Status Create(const KeyRecord& r) override {
    if (!r.plaintext.empty() && !plain_) return Internal("this memory store keeps wrapped keys only");
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto key = Key(r.name, r.version);
    if (shared_->records.count(key) || shared_->markers.count(key)) return AlreadyExists(RecordName(r.name, r.version));
    shared_->records.emplace(key, Copy(r));
    return Status::Ok();
  }
  bool CanGenerate(size_t bytes) const override { return plain_ && bytes == 32; }
  StatusOr<crypto::SecureBuffer> CreateGenerated(const KeyRecord& meta) override {
    if (!CanGenerate(meta.length)) return KeyStore::CreateGenerated(meta);
    KeyRecord r = Copy(meta);
    ASSIGN_OR_RETURN(r.plaintext, crypto::RandomKey(meta.length));
    crypto::SecureBuffer out = r.plaintext.Clone();
    RETURN_IF_ERROR(Create(r));
    return out;
  }
  StatusOr<KeyRecord> Read(const std::string& name, uint32_t version) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto it = shared_->records.find(Key(name, version));
    if (it == shared_->records.end()) return NotFound("no " + RecordName(name, version));
    return Copy(it->second);
  }
  StatusOr<std::vector<std::string>> ListNames() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    std::vector<std::string> names;
    auto add = [&](const std::pair<std::string, uint32_t>& k) {
      const std::string prefix = scope_ + "\n";
      if (k.first.rfind(prefix, 0) != 0) return;
      std::string n = k.first.substr(prefix.size());
      if (names.empty() || names.back() != n) names.push_back(n);
    };
    for (const auto& [k, r] : shared_->records) add(k);
    for (const auto& [k, m] : shared_->markers) add(k);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }
  StatusOr<std::vector<VersionEntry>> ListVersions(const std::string& name) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    std::map<uint32_t, VersionEntry> by;
    for (const auto& [k, r] : shared_->records) {
      if (k.first == scope_ + "\n" + name) by[k.second] = VersionEntry{k.second, true, false};
    }
    for (const auto& [k, m] : shared_->markers) {
      if (k.first != scope_ + "\n" + name) continue;
      by[k.second].version = k.second;
      by[k.second].deleted = true;
    }
    std::vector<VersionEntry> out;
    for (const auto& [v, e] : by) out.push_back(e);
    return out;
  }
  Status MarkDeleted(const DeletionMarker& m) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return shared_->markers.emplace(Key(m.name, m.version), m).second ? Status::Ok()
                                                                     : AlreadyExists("marker exists");
  }
  StatusOr<DeletionMarker> ReadMarker(const std::string& name, uint32_t version) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    auto it = shared_->markers.find(Key(name, version));
    if (it == shared_->markers.end()) return NotFound("no marker");
    return it->second;
  }
  Status Undelete(const std::string& name, uint32_t version) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->markers.erase(Key(name, version));
    return Status::Ok();
  }
  Status Purge(const std::string& name, uint32_t version) override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->records.erase(Key(name, version));
    return Status::Ok();
  }
  StatusOr<LockerHealth> Health() override {
    LockerHealth h;
    h.reachable = true;
    h.detail = "memory";
    return h;
  }

 private:
  std::pair<std::string, uint32_t> Key(const std::string& name, uint32_t v) const { return {scope_ + "\n" + name, v}; }
  static KeyRecord Copy(const KeyRecord& r) {
    KeyRecord c;
    c.name = r.name;
    c.version = r.version;
    c.format = r.format;
    c.type = r.type;
    c.length = r.length;
    c.wrapper = r.wrapper;
    c.wrapped = r.wrapped;
    c.plaintext = r.plaintext.Clone();
    c.created = r.created;
    c.creator = r.creator;
    c.origin = r.origin;
    return c;
  }

  std::shared_ptr<Shared> shared_;
  std::string scope_;
  bool plain_;
};

}  // namespace keyring_locker::testing
