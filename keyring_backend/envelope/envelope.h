// Envelope: the one place that turns a key into a stored record and back,
// between KeyService and the two locker roles (store/key_store.h,
// wrapper/key_wrapper.h). It decides where a new key's bytes come from,
// seals them (bound to scope, name and version: key_binding.h), checks that
// a record read back is exactly the key asked for and one this server can
// use (before anything is unwrapped), and recognises a retried write as its
// own. Caching, budgets and audit stay in KeyService.
//
// Record formats:
//   keyring_locker/2                 wrapped bound plaintext (every wrapper)
//   keyring_locker/1                 wrapped bare key, written before binding;
//                                    read while keys.unbound_documents = read
//   keyring_locker/store-protected/1 the key itself, held by a store that
//                                    protects plaintext (KMIP objects), with
//                                    the wrapper "none"
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/envelope/key_binding.h"
#include "keyring_backend/key_rules.h"
#include "keyring_backend/store/key_store.h"
#include "keyring_backend/wrapper/key_wrapper.h"

namespace keyring_locker {

struct EnvelopeOptions {
  std::string scope;  // "<prefix>/<scope>": bound into every key
  bool read_unbound = true;
  KeyRules rules;
};

// What a record says about its key besides the bytes (a record never
// changes once written, so KeyService keeps this and never reads a record
// twice for it: SHOW STATUS rows, the CLI's listing).
struct RecordMeta {
  std::string format;
  std::string type;
  uint64_t length = 0;
  std::string created;
  std::string creator;
  std::string origin;
};

struct NewKey {
  crypto::SecureBuffer bytes;
  std::string origin;  // "server", "locker", "local-random"
  RecordMeta meta;     // of the record written
};

struct OpenedKey {
  crypto::SecureBuffer bytes;
  std::string type;
  bool bound = false;  // false: a keyring_locker/1 record (audit says "unbound")
  RecordMeta meta;     // of the record read
};

// One key of Envelope::OpenMany.
struct KeyToOpen {
  std::string name;
  uint32_t version = 0;
};

struct KeyMeta {
  std::string type;
  std::string creator;
};

class Envelope {
 public:
  static constexpr const char* kBoundFormat = "keyring_locker/2";
  static constexpr const char* kUnboundFormat = "keyring_locker/1";
  static constexpr const char* kStoreProtectedFormat = "keyring_locker/store-protected/1";

  // `store` and `wrapper` must outlive the envelope.
  Envelope(KeyStore* store, KeyWrapper* wrapper, EnvelopeOptions options);

  // Makes a new key of `length` bytes for (name, version), seals it and
  // stores it create-only; returns its bytes. The bytes are the server's own
  // (`bytes`), else made by the wrapper where it can make that length, else
  // by a store that keeps plaintext and can make keys (KMIP Create), else
  // local random. OK also when the record there is the one an earlier
  // attempt of this call wrote; kAlreadyExists when another key is there.
  StatusOr<NewKey> Create(const std::string& name, uint32_t version, const KeyMeta& meta, size_t length,
                          const crypto::SecureBuffer* bytes);
  // Reads (name, version) and returns its bytes if the record is exactly
  // that key, of a type and length the server can use. `failed_step` says
  // where it failed ("binding"), for the audit log.
  StatusOr<OpenedKey> Open(const std::string& name, uint32_t version, std::string* failed_step);
  // Open for many keys: the records are read with up to `in_flight`
  // requests at once, then unwrapped in batches (KeyWrapper::UnwrapBatch:
  // one Transit request per batch). One result per key, in order; each
  // checked exactly as Open checks it.
  std::vector<StatusOr<OpenedKey>> OpenMany(const std::vector<KeyToOpen>& keys, size_t in_flight);
  static RecordMeta MetaOf(const KeyRecord& r);
  // Open's checks of a record read for (name, version), before anything is
  // unwrapped: a known format, exactly the key it was read as, of a type and
  // length the server can use (kDataLoss naming the record and the problem),
  // sealed by the configured wrapper (kFailedPrecondition). No locker call:
  // the CLI's listings run it on every record, so a damaged one is named,
  // never shown as a key.
  Status CheckRecord(const KeyRecord& r, const std::string& name, uint32_t version) const;

  KeyStore& store() { return *store_; }
  KeyWrapper& wrapper() { return *wrapper_; }
  KeyBinding Binding(const std::string& name, uint32_t version) const {
    return KeyBinding{options_.scope, name, version};
  }

 private:
  bool StoreKeepsPlaintext() const;
  KeyRecord NewRecord(const std::string& name, uint32_t version, const KeyMeta& meta, size_t length,
                      const std::string& origin) const;
  // The record at (name, version) is the one `attempt` wrote (a retry).
  bool IsOurs(const KeyRecord& attempt);
  // Open after the unwrap (or for a store-protected record, without one).
  StatusOr<OpenedKey> Finish(KeyRecord& r, const std::string& name, uint32_t version,
                             StatusOr<crypto::SecureBuffer> unwrapped, std::string* failed_step);

  KeyStore* store_;
  KeyWrapper* wrapper_;
  EnvelopeOptions options_;
};

}  // namespace keyring_locker
