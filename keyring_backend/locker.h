// Locker: the small interface every key locker backend implements (Vault /
// OpenBao first; KMIP and cloud KMS later). It stores opaque JSON documents at
// paths (create-only) and wraps/unwraps key bytes with a key-encryption key
// that never leaves the locker. Key naming, envelopes and caching live above
// it, in KeyService.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker {

struct WrappedKey {
  crypto::SecureBuffer plaintext;  // the key itself
  std::string ciphertext;          // the same key wrapped by the locker's KEK
};

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

class Locker {
 public:
  virtual ~Locker() = default;

  // "vault https://host:8200 ns=a/ kv=secret(v2) transit=transit/keyring_locker"
  virtual std::string Describe() const = 0;

  // Create-only write. kAlreadyExists when anything is at `path` already: a
  // document once written is never overwritten.
  virtual Status Store(const std::string& path, const nlohmann::json& document) = 0;
  // kNotFound when nothing is at `path`.
  virtual StatusOr<nlohmann::json> Fetch(const std::string& path) = 0;
  // Names directly below `prefix` (folders end in '/'); empty when none.
  virtual StatusOr<std::vector<std::string>> List(const std::string& prefix) = 0;
  // Removes a document. KeyService only calls this when the server asks for
  // a removal (MySQL key_remove), never on its own.
  virtual Status Remove(const std::string& path) = 0;

  // Envelope operations with the locker-held key-encryption key. `context` is
  // bound to the ciphertext where the backend supports it (Transit derived
  // keys); pass the same context to Unwrap.
  virtual StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& context) = 0;
  virtual StatusOr<crypto::SecureBuffer> Unwrap(const std::string& ciphertext, const std::string& context) = 0;
  // A fresh key generated inside the locker (Transit datakey/plaintext).
  virtual StatusOr<WrappedKey> GenerateDataKey(size_t bytes, const std::string& context) = 0;

  virtual StatusOr<LockerHealth> Health() = 0;

  // The locker's part of where keys live (Vault: namespace and KV mount);
  // KeyService adds prefix and scope.
  virtual KeyHomeIdentity Identity() const = 0;
};

}  // namespace keyring_locker
