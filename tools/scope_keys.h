// What export, restore and migrate share: every (name, version) of a scope
// as its store lists it (records, soft-deleted and purged ones alike), and
// the fingerprints of many keys, unwrapped in batches (one Transit request
// per 100 keys) with the same checks the server runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/envelope/envelope.h"

namespace keyring_locker {

struct ScopeVersion {
  std::string name;
  VersionEntry entry;  // has_record false: purged; deleted: a marker is there
};

// Every version of every name, sorted by name then version. A locker that
// stops answering fails the call: a partial list must never pass for a
// whole scope.
StatusOr<std::vector<ScopeVersion>> ListScopeVersions(KeyStore& store);

// "<keys.prefix>/<keys.scope>": what every bound record of the config names.
std::string ScopeOf(const Config& config);

// An envelope over the backend's store and wrapper with the config's scope
// and rules: reads that bypass KeyService's cache (a write is verified by
// reading it back from the locker, never from the cache it filled).
Envelope ScopeEnvelope(Backend& backend);

// How many writes to send at once. A KMIP client sends one request at a
// time over its connection (kmip_client.h), so parallel writes to a KMIP
// locker only queue for it, each using up its call budget while it waits
// (measured against PyKMIP on a loaded 2-core host: with 8 in flight 56
// of 102 creates ran out of timeouts.total_ms, one at a time none did);
// Vault and directory stores take them at once.
size_t WritesInFlight(const Backend& backend);

// Opens each key (a fresh read, the envelope's checks, the unwrap) and
// returns its fingerprint, in order; `step` is called once per key.
std::vector<StatusOr<std::string>> FingerprintKeys(Envelope& envelope, const std::vector<KeyToOpen>& keys,
                                                   const std::function<void()>& step);

// Each key's bytes, like FingerprintKeys; for copying keys between lockers.
std::vector<StatusOr<OpenedKey>> OpenKeys(Envelope& envelope, const std::vector<KeyToOpen>& keys,
                                          const std::function<void()>& step);

}  // namespace keyring_locker
