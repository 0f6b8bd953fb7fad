// Every key record of the configured scope, each one read and put through
// the envelope's record check (Envelope::CheckRecord) before the CLI shows it
// or counts it as present: a record someone overwrote (e.g. with {"x":"y"})
// is reported as damaged, never listed as a key with empty metadata, and
// never lets `inspect --check` say a needed version is in the locker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/backend.h"

namespace keyring_locker {

struct DamagedRecord {
  std::string name;
  uint32_t version = 0;
  std::string why;  // the check's message: names the record and the problem
};

struct ScopeRecords {
  std::vector<KeyVersionInfo> valid;  // sorted by name, then version
  std::vector<DamagedRecord> damaged;
};

// Reads every record of the scope (one listing of names, one per name, one
// read per version). A record that cannot be parsed or fails the check goes
// to `damaged`; one that vanished since the listing is left out; a locker
// that stops answering fails the call (a partial list would pass for a
// whole one).
StatusOr<ScopeRecords> ReadScopeRecords(Backend& backend);

// "damaged: <name> v<version>: <why>" on stdout, one line each, then (when
// any) a summary with the fix on stderr. Returns damaged.size().
size_t ReportDamaged(const std::vector<DamagedRecord>& damaged, const std::string& command);

}  // namespace keyring_locker
