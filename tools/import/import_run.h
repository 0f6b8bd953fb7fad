// Writes what a reader found into the locker, create-only and idempotent:
// a version already present with the same bytes is left alone, one present
// with other bytes is a per-item failure (never overwritten), a missing one
// is written (with Apply) or listed (dry run). Then, with Apply, every
// written key is fetched back through a second KeyService with an empty
// cache and its fingerprint compared.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "keyring_backend/key_service.h"
#include "tools/import/import_source.h"

namespace keyring_locker::import {

enum class Outcome {
  kWouldWrite,  // dry run: missing in the locker
  kWritten,     // written and read back identical
  kPresent,     // already there with the same bytes: nothing to do
  kConflict,    // already there with OTHER bytes: refused
  kFailed,      // unreadable in the source, unusable, or the locker refused
};
const char* OutcomeName(Outcome o);  // "would write", "written", ...
bool IsFailure(Outcome o);

struct ItemResult {
  std::string name;
  uint32_t version = 0;  // kGenerations: the locker's generation (0 when not written)
  std::string type;
  size_t length = 0;
  std::string fingerprint;  // first 8 bytes of SHA-256, hex; empty when unknown
  std::string origin;
  Outcome outcome = Outcome::kFailed;
  std::string detail;  // why, for failures; never key bytes
};

struct ImportRunOptions {
  bool apply = false;
  std::function<void()> on_item;  // after each item (progress bar)
};

struct ImportSummary {
  size_t would_write = 0, written = 0, present = 0, conflict = 0, failed = 0;
  bool ok() const { return conflict == 0 && failed == 0; }
};

std::vector<ItemResult> RunImport(KeyService& keys, const ImportSource& source, const ImportRunOptions& options);

// Fetches every kWritten item through `fresh` (a KeyService that has not
// cached them) and turns those that do not come back identical into
// kFailed.
void VerifyWritten(KeyService& fresh, const ImportSource& source, std::vector<ItemResult>& results);

ImportSummary Summarize(const std::vector<ItemResult>& results);

}  // namespace keyring_locker::import
