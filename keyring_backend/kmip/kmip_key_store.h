// KmipKeyStore: key versions as managed objects of a KMIP server
// (KmipObjectLayout says how they are named and what metadata they carry).
// It protects plaintext: with the wrapper "none" an AES key is registered as
// a Symmetric Key object and never leaves the server except to the owner of
// the client certificate; the configuration may pair it with that wrapper.
//
// Records
// - AES keys held bare: Symmetric Key objects (Register of the bytes, or
//   Create for CreateGenerated: a server-made AES-256 key, read back once).
// - MySQL's RSA/DSA/SECRET keys held bare: Secret Data (opaque bytes).
// - A record another wrapper sealed (a `wrapped` text): Secret Data holding
//   that text, so the KMIP store also works as a plain store under any
//   wrapper (e.g. the kmip wrapper with a separate KEK).
// - Deletion markers: Secret Data named "<Name>.deleted", metadata in
//   Application Specific Information.
// Only Active objects are records: new objects are Pre-Active until their
// writer won the create protocol (kmip_create_race.h: create-only, racing
// writers, why at most one object per Name is Active). If a server ever
// holds several Active objects of one Name (written by other tools), reads
// use the senior one (earliest Initial Date, then Unique Identifier), the
// same for every reader, and count it in stats().duplicate_names.
//
// Cost in requests
// - Read: Get Attributes + Get when the version's object is known (from an
//   earlier listing or read), else one Locate by Name first.
// - ListNames / ListVersions: one Locate (Object Group and State Active),
//   plus one Get Attributes (Name, Initial Date) per object never seen
//   before; Names never change, so they are cached for the store's life.
//   ListVersions lists the whole scope (KMIP has no prefix search), so a
//   sweep over N names moves N times the scope's identifiers.
// - Create: Register, Locate, Activate (+ Get Attributes and Destroy per
//   competing object when writers race; a loser polls until the winner's
//   object is Active, within the call's deadline).
// - Undelete / Purge: Locate, then Get Attributes, Revoke and Destroy per
//   object of that Name.
// Every request stays within OperationDeadline::Current() (KmipClient).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/kmip/kmip_create_race.h"
#include "keyring_backend/kmip/kmip_object_layout.h"
#include "keyring_backend/store/key_store.h"

namespace keyring_locker {

struct KmipStoreOptions {
  std::string prefix = "keyring_locker";  // keys.prefix
  std::string scope;                      // keys.scope
  // A Pre-Active object this much older than ours (server Initial Dates)
  // is taken as abandoned by a writer that died before activating it.
  std::chrono::seconds abandoned_after{60};
};

struct KmipStoreStats {
  uint64_t creates_won = 0;
  uint64_t creates_lost = 0;     // another writer held the Name: ALREADY_EXISTS
  uint64_t duplicate_names = 0;  // reads/listings that found several Active objects of one Name
  uint64_t names_cached = 0;     // objects whose Name is known without asking
};

class KmipKeyStore : public KeyStore {
 public:
  // Checks prefix and scope (printable ASCII: they are part of every Name).
  static StatusOr<std::unique_ptr<KmipKeyStore>> Open(std::shared_ptr<kmip::KmipClient> client,
                                                      KmipStoreOptions options);
  KmipKeyStore(std::shared_ptr<kmip::KmipClient> client, KmipStoreOptions options);

  std::string Describe() const override { return client_->Describe(); }
  std::string RecordName(const std::string& name, uint32_t version) const override;
  KeyHomeIdentity Identity() const override;
  bool ProtectsPlaintext() const override { return true; }
  Status Connect() override;

  Status Create(const KeyRecord& record) override;
  bool CanGenerate(size_t bytes) const override { return bytes == 32; }
  StatusOr<crypto::SecureBuffer> CreateGenerated(const KeyRecord& record) override;
  StatusOr<KeyRecord> Read(const std::string& name, uint32_t version) override;
  StatusOr<std::vector<std::string>> ListNames() override;
  StatusOr<std::vector<VersionEntry>> ListVersions(const std::string& name) override;
  // One Locate for the whole scope (ListVersions costs the same for one name).
  Status ListScope(const VersionsVisitor& each) override;
  bool ListsScopeInOneRequest() const override { return true; }
  Status MarkDeleted(const DeletionMarker& marker) override;
  StatusOr<DeletionMarker> ReadMarker(const std::string& name, uint32_t version) override;
  Status Undelete(const std::string& name, uint32_t version) override;
  Status Purge(const std::string& name, uint32_t version) override;
  StatusOr<LockerHealth> Health() override { return client_->Health(); }

  KmipStoreStats stats() const;
  const kmip::KmipObjectLayout& layout() const { return layout_; }
  kmip::KmipClient& client() { return *client_; }

 private:
  // (name, version, marker): one record or marker of the scope.
  using Slot = std::tuple<std::string, uint32_t, bool>;
  struct KnownObject {
    std::string name;  // its one Name; empty: not one of ours (several or no Names)
    int64_t initial_date = 0;
  };

  // Every Active object of the scope by slot (listing).
  StatusOr<std::map<Slot, std::string>> Index();
  // Names and Initial Dates of `uids` not cached yet (Get Attributes each).
  Status Learn(const std::vector<std::string>& uids);
  // The senior of several Active objects of one Name (known_ must hold them).
  std::string Pick(const std::vector<std::string>& uids);
  // The Active object holding `slot`, from the memo or by Locate; NOT_FOUND.
  StatusOr<std::string> Find(const Slot& slot, bool use_memo);
  // Get Attributes of the Active object holding `slot` (memo first, then a
  // fresh Locate when the memo's object is gone or no longer Active).
  StatusOr<std::pair<std::string, kmip::ObjectAttributes>> Resolve(const Slot& slot);
  std::string ObjectName(const Slot& slot) const;
  void Forget(const Slot& slot);

  using RegisterFn = std::function<StatusOr<std::string>(const std::string& attempt)>;
  // Registers through `register_object` and runs the create protocol.
  Status CreateOnly(const Slot& slot, const RegisterFn& register_object,
                    const std::function<Status(const std::string& uid)>& before_activate);
  // Revokes and destroys every object named like `slot` (any state).
  Status RemoveAll(const Slot& slot, const std::string& why);

  std::shared_ptr<kmip::KmipClient> client_;
  const KmipStoreOptions options_;
  const kmip::KmipObjectLayout layout_;
  kmip::CreateAttempts attempts_;
  kmip::RacePolicy race_policy_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, KnownObject> known_;  // guarded by mu_: uid -> Name (never changes)
  std::map<Slot, std::string> memo_;                    // guarded by mu_: slot -> uid of its Active object

  std::atomic<uint64_t> creates_won_{0}, creates_lost_{0}, duplicate_names_{0};
};

}  // namespace keyring_locker
