#include "tools/import/import_run.h"

#include "crypto/crypto.h"

namespace keyring_locker::import {
namespace {

// The key as the locker has it now: present (bytes), absent (null), or an error.
StatusOr<KeyHandle> Existing(KeyService& keys, KeyModel model, const ImportItem& item) {
  return model == KeyModel::kVersioned ? keys.Get(item.name, item.version) : keys.GetLive(item.name);
}

void Compare(const ImportItem& item, const KeyHandle& have, ItemResult* r) {
  if (have->bytes.Equals(item.bytes) && have->type == item.type) {
    r->outcome = Outcome::kPresent;
    return;
  }
  r->outcome = Outcome::kConflict;
  const std::string differs = have->bytes.Equals(item.bytes)
                                 ? "type (" + have->type + ")"
                                 : "bytes (fingerprint " + crypto::KeyFingerprint(have->bytes) + ")";
  r->detail = "the locker already has this key with different " + differs +
              "; nothing was overwritten. Tables encrypted under the source's key need the source's bytes: find "
              "out which one the server uses before changing either";
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kWouldWrite: return "would write";
    case Outcome::kWritten: return "written";
    case Outcome::kPresent: return "already present";
    case Outcome::kConflict: return "CONFLICT";
    case Outcome::kFailed: return "FAILED";
  }
  return "?";
}

bool IsFailure(Outcome o) { return o == Outcome::kConflict || o == Outcome::kFailed; }

std::vector<ItemResult> RunImport(KeyService& keys, const ImportSource& source, const ImportRunOptions& options) {
  std::vector<ItemResult> results;
  results.reserve(source.items.size());
  for (const ImportItem& item : source.items) {
    ItemResult r;
    r.name = item.name;
    r.version = item.version;
    r.type = item.type;
    r.length = item.bytes.size();
    r.origin = item.origin;
    if (!item.error.empty()) {
      r.detail = item.error;
      r.length = 0;
      results.push_back(std::move(r));
      if (options.on_item) options.on_item();
      continue;
    }
    r.fingerprint = crypto::KeyFingerprint(item.bytes);
    auto have = Existing(keys, source.model, item);
    if (have.ok()) {
      Compare(item, *have, &r);
      if (source.model == KeyModel::kGenerations) {
        auto latest = keys.LatestVersionFromLocker(item.name);
        if (latest.ok()) r.version = *latest;
      }
    } else if (have.status().code() != Code::kNotFound) {
      r.detail = have.status().Annotate("reading it from the locker").ToString();
    } else if (!options.apply) {
      r.outcome = Outcome::kWouldWrite;
    } else {
      Status s = source.model == KeyModel::kVersioned
                     ? keys.Create(item.name, item.version, item.type, item.bytes.size(), &item.bytes)
                     : keys.CreateGeneration(item.name, item.type, item.bytes.size(), &item.bytes);
      if (s.code() == Code::kAlreadyExists) {
        // Written by someone else between our read and our write: compare again.
        auto now = Existing(keys, source.model, item);
        if (now.ok()) {
          Compare(item, *now, &r);
        } else {
          r.detail = s.ToString();
        }
      } else if (!s.ok()) {
        r.detail = s.Annotate("writing it").ToString();
      } else {
        r.outcome = Outcome::kWritten;
        if (source.model == KeyModel::kGenerations) {
          auto latest = keys.LatestVersionFromLocker(item.name);
          if (latest.ok()) r.version = *latest;
        }
      }
    }
    results.push_back(std::move(r));
    if (options.on_item) options.on_item();
  }
  return results;
}

void VerifyWritten(KeyService& fresh, const ImportSource& source, std::vector<ItemResult>& results) {
  for (size_t i = 0; i < results.size() && i < source.items.size(); ++i) {
    ItemResult& r = results[i];
    if (r.outcome != Outcome::kWritten) continue;
    const ImportItem& item = source.items[i];
    auto got = source.model == KeyModel::kVersioned ? fresh.Get(item.name, item.version) : fresh.GetLive(item.name);
    if (!got.ok()) {
      r.outcome = Outcome::kFailed;
      r.detail = got.status().Annotate("written, but reading it back failed").ToString();
    } else if (crypto::KeyFingerprint((*got)->bytes) != r.fingerprint || (*got)->type != item.type) {
      r.outcome = Outcome::kFailed;
      r.detail =
          "written, but the locker returns fingerprint " + crypto::KeyFingerprint((*got)->bytes) + ": check the locker";
    }
  }
}

ImportSummary Summarize(const std::vector<ItemResult>& results) {
  ImportSummary s;
  for (const auto& r : results) {
    switch (r.outcome) {
      case Outcome::kWouldWrite: ++s.would_write; break;
      case Outcome::kWritten: ++s.written; break;
      case Outcome::kPresent: ++s.present; break;
      case Outcome::kConflict: ++s.conflict; break;
      case Outcome::kFailed: ++s.failed; break;
    }
  }
  return s;
}

}  // namespace keyring_locker::import
