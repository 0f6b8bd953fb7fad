// KeyStore: where key versions live, as (name, version) records of one
// scope. It knows nothing of wrapping (envelope/envelope.h seals a record
// before it gets here) nor of caching (KeyService).
//
// How to add a store:
//  - Create is create-only: kAlreadyExists when (name, version) holds a
//    record already; a record once written is never changed. Say in your
//    header how a retried or racing Create is decided (the envelope reads
//    the record back and accepts it if it is the one it wrote).
//  - Read returns what the record says (its name and version as stored, so
//    the envelope can check they are the ones asked for), kNotFound when
//    there is none, kDataLoss naming the record when it cannot be parsed.
//  - Deletion is soft: a marker beside the record (MarkDeleted), removable
//    (Undelete); Purge removes the record itself and only an operator's
//    purge calls it. Numbers of purged versions stay taken (ListVersions
//    keeps reporting the marker).
//  - ProtectsPlaintext() is true only for a store that keeps key bytes in a
//    protected locker itself (KMIP managed objects): only then may the
//    configuration pair it with the wrapper "none".
//  - Every request stays within OperationDeadline::Current().
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/http/parallel_requests.h"

namespace keyring_locker {

// Which keys a scope's names refer to, for the datadir marker: `fields` are
// compared between starts (another value means other keys: a typo in a
// mount, namespace or scope); `endpoints` say where they were reached and
// are not compared (a failover or migrated locker holds the same keys).
struct KeyHomeIdentity {
  std::vector<std::pair<std::string, std::string>> fields;  // e.g. {"kv_mount", "secret"}
  std::string endpoints;
};

struct LockerHealth {
  bool reachable = false;
  bool sealed = false;
  bool standby = false;
  std::string endpoint;  // which endpoint answered
  std::string version;   // locker software version
  std::string detail;    // human-readable summary, no secrets
};

// One key version as stored. Strings that come from a store are untrusted:
// the envelope checks name, version, type and length before using them.
struct KeyRecord {
  std::string name;
  uint32_t version = 0;
  std::string format;   // the envelope's format (envelope.h)
  std::string type = "AES";
  uint64_t length = 0;  // bytes of the key itself
  std::string wrapper;  // KeyWrapper::Id() that sealed it; empty in records older than the field
  std::string wrapped;  // the wrapper's ciphertext; empty when the store holds `plaintext`
  crypto::SecureBuffer plaintext;  // only for a store that ProtectsPlaintext()
  std::string created;  // RFC 3339
  std::string creator;
  std::string origin;   // "locker", "local-random", "server"
};

// One version of a name as a listing sees it.
struct VersionEntry {
  uint32_t version = 0;
  bool has_record = false;  // false: purged (only the marker is left)
  bool deleted = false;     // a deletion marker exists
};

struct DeletionMarker {
  std::string name;
  uint32_t version = 0;
  std::string deleted_at;  // RFC 3339
  int64_t deleted_unix = 0;
  std::string deleted_by;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // "vault https://host:8200 kv=secret(v2)"; no secrets.
  virtual std::string Describe() const = 0;
  // How messages name one record: "key document <path>", "KMIP object <id>".
  virtual std::string RecordName(const std::string& name, uint32_t version) const = 0;
  // Where this scope's keys live (the store's part plus the scope).
  virtual KeyHomeIdentity Identity() const = 0;
  virtual bool ProtectsPlaintext() const { return false; }

  // Checks at start-up what would otherwise fail at the first key (mounts,
  // permissions). Called again on first use when it could not run then.
  virtual Status Connect() { return Status::Ok(); }

  virtual Status Create(const KeyRecord& record) = 0;
  // Only a store that ProtectsPlaintext() and makes keys itself (KMIP
  // Create): stores `record` (plaintext empty) with a key it makes of
  // record.length bytes, and returns the bytes.
  virtual bool CanGenerate(size_t /*bytes*/) const { return false; }
  virtual StatusOr<crypto::SecureBuffer> CreateGenerated(const KeyRecord& record) {
    return FailedPrecondition(Describe() + " cannot make keys for " + RecordName(record.name, record.version));
  }
  virtual StatusOr<KeyRecord> Read(const std::string& name, uint32_t version) = 0;
  // Every name with at least one version or marker; order unspecified.
  virtual StatusOr<std::vector<std::string>> ListNames() = 0;
  // One request where the store allows: every version of `name`, ascending.
  virtual StatusOr<std::vector<VersionEntry>> ListVersions(const std::string& name) = 0;
  // Every name with its versions, handed to `each` as they are read (so a
  // sweep cut short keeps what it read; `each` is called by one thread at a
  // time). A store that sees the whole scope in one request (KMIP: one
  // Locate) overrides it; by default one listing of the names, then one per
  // name, kDefaultRequestsInFlight at once (a start with many keys takes
  // N / 8 round trips, not N).
  using VersionsVisitor = std::function<void(const std::string& name, const std::vector<VersionEntry>& versions)>;
  virtual Status ListScope(const VersionsVisitor& each) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListNames());
    std::mutex mu;
    size_t done = 0;
    Status first_error;
    std::string failed_name;
    ForEachInParallel(names.size(), kDefaultRequestsInFlight, [&](size_t i) {
      auto versions = ListVersions(names[i]);
      std::lock_guard<std::mutex> lock(mu);
      if (!versions.ok()) {
        if (first_error.ok()) {
          first_error = versions.status();
          failed_name = names[i];
        }
        return;
      }
      ++done;
      each(names[i], *versions);
    });
    if (!first_error.ok()) {
      return first_error.Annotate("re-read the versions of " + std::to_string(done) + " of " +
                                  std::to_string(names.size()) + " keys, then key " + failed_name);
    }
    return Status::Ok();
  }
  // True when ListScope is one request whatever the scope's size: the
  // background refresh then re-reads the whole scope every tick. Otherwise
  // it reads the names every tick and the versions of new names plus a
  // bounded slice of the others (KeyService::RefreshChanges).
  virtual bool ListsScopeInOneRequest() const { return false; }

  // Create-only marker; kAlreadyExists when one is there.
  virtual Status MarkDeleted(const DeletionMarker& marker) = 0;
  virtual StatusOr<DeletionMarker> ReadMarker(const std::string& name, uint32_t version) = 0;
  virtual Status Undelete(const std::string& name, uint32_t version) = 0;
  virtual Status Purge(const std::string& name, uint32_t version) = 0;

  virtual StatusOr<LockerHealth> Health() = 0;
};

}  // namespace keyring_locker
