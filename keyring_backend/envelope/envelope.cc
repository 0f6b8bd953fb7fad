#include "keyring_backend/envelope/envelope.h"

#include <ctime>

#include "common/crash_point.h"
#include "common/rfc3339.h"
#include "crypto/crypto.h"
#include "keyring_backend/http/parallel_requests.h"
#include "keyring_backend/wrapper/no_wrapper.h"

namespace keyring_locker {

Envelope::Envelope(KeyStore* store, KeyWrapper* wrapper, EnvelopeOptions options)
    : store_(store), wrapper_(wrapper), options_(std::move(options)) {}

bool Envelope::StoreKeepsPlaintext() const {
  return wrapper_->Id() == NoWrapper::kId && store_->ProtectsPlaintext();
}

KeyRecord Envelope::NewRecord(const std::string& name, uint32_t version, const KeyMeta& meta, size_t length,
                              const std::string& origin) const {
  KeyRecord r;
  r.name = name;
  r.version = version;
  r.type = meta.type;
  r.length = length;
  r.wrapper = wrapper_->Id();
  r.created = Rfc3339(std::time(nullptr));
  r.creator = meta.creator;
  r.origin = origin;
  return r;
}

bool Envelope::IsOurs(const KeyRecord& attempt) {
  auto existing = store_->Read(attempt.name, attempt.version);
  if (!existing.ok() || existing->name != attempt.name || existing->version != attempt.version) return false;
  if (!attempt.plaintext.empty()) return existing->plaintext.Equals(attempt.plaintext);
  // Wrapping is randomised: the same ciphertext can only be our own write.
  return !attempt.wrapped.empty() && existing->wrapped == attempt.wrapped;
}

StatusOr<NewKey> Envelope::Create(const std::string& name, uint32_t version, const KeyMeta& meta, size_t length,
                                  const crypto::SecureBuffer* bytes) {
  const bool keeps_plaintext = StoreKeepsPlaintext();
  if (!keeps_plaintext && wrapper_->Id() == NoWrapper::kId) {
    return FailedPrecondition(store_->Describe() + " does not protect keys itself; configure a wrapper");
  }
  NewKey key;
  if (bytes != nullptr) {
    key.bytes = bytes->Clone();
    key.origin = "server";
  } else if (!keeps_plaintext && wrapper_->CanGenerate(length)) {
    ASSIGN_OR_RETURN(key.bytes, wrapper_->Generate(length));
    key.origin = "locker";
  } else if (keeps_plaintext && store_->CanGenerate(length)) {
    KeyRecord r = NewRecord(name, version, meta, length, "locker");
    r.format = kStoreProtectedFormat;
    CrashPoint("create.before_store");
    ASSIGN_OR_RETURN(key.bytes, store_->CreateGenerated(r));
    CrashPoint("create.after_store");
    key.origin = "locker";
    key.meta = MetaOf(r);
    return key;
  } else {
    ASSIGN_OR_RETURN(key.bytes, crypto::RandomKey(length));
    key.origin = "local-random";
  }

  KeyRecord r = NewRecord(name, version, meta, length, key.origin);
  const KeyBinding binding = Binding(name, version);
  if (keeps_plaintext) {
    // The store's own record names the key (a KMIP Name); the bytes stay
    // the key itself so the locker sees an AES key of the right length.
    r.format = kStoreProtectedFormat;
    r.plaintext = key.bytes.Clone();
  } else {
    ASSIGN_OR_RETURN(crypto::SecureBuffer bound, BindKey(binding, key.bytes));
    ASSIGN_OR_RETURN(r.wrapped, wrapper_->Wrap(bound, binding.Identity()));
    r.format = kBoundFormat;
  }
  CrashPoint("create.before_store");
  Status stored = store_->Create(r);
  // Our own earlier attempt may have landed (a retried request): the same
  // record means it is ours; anything else belongs to someone else.
  if (stored.code() == Code::kAlreadyExists && IsOurs(r)) stored = Status::Ok();
  RETURN_IF_ERROR(stored);
  CrashPoint("create.after_store");
  key.meta = MetaOf(r);
  return key;
}

RecordMeta Envelope::MetaOf(const KeyRecord& r) {
  return RecordMeta{r.format, r.type, r.length, r.created, r.creator, r.origin};
}

Status Envelope::CheckRecord(const KeyRecord& r, const std::string& name, uint32_t version) const {
  // The record must describe exactly the key asked for: one copied to
  // another place by someone with write access to the store is refused.
  auto bad = [&](const std::string& why) {
    return DataLoss(store_->RecordName(name, version) + " is invalid: " + why +
                    "; it was not written by keyring_locker or was altered");
  };
  const bool bound = r.format == kBoundFormat;
  const bool in_store = r.format == kStoreProtectedFormat;
  if (!bound && !in_store && r.format != kUnboundFormat) {
    return bad("format is not " + std::string(kBoundFormat) + " (or " + kUnboundFormat + ")");
  }
  if (r.name != name) return bad("name differs");
  if (r.version != version) return bad("version differs");
  if (r.format == kUnboundFormat && !options_.read_unbound) {
    return bad("it is of format " + std::string(kUnboundFormat) +
               " (written before key binding) and keys.unbound_documents is \"refuse\"; set it to \"read\" "
               "while this version is still needed");
  }
  // Refused before unwrapping: a key this server cannot use is never served
  // (a wrong-length key aborts InnoDB at its next flush).
  Status usable = options_.rules.Check(r.type, static_cast<size_t>(r.length), "it");
  if (!usable.ok()) return bad(usable.message());
  if (in_store) {
    if (!store_->ProtectsPlaintext()) return bad("it holds a bare key, which only a KMIP-like store may keep");
    if (r.plaintext.size() != r.length) {
      return bad("key length " + std::to_string(r.plaintext.size()) + " != " + std::to_string(r.length));
    }
    return Status::Ok();
  }
  if (!r.wrapper.empty() && r.wrapper != wrapper_->Id()) {
    return FailedPrecondition(store_->RecordName(name, version) + " was wrapped by \"" + r.wrapper +
                              "\", but the configured wrapper is \"" + wrapper_->Id() +
                              "\": configure the wrapper that holds its key-encryption key");
  }
  return Status::Ok();
}

StatusOr<OpenedKey> Envelope::Finish(KeyRecord& r, const std::string& name, uint32_t version,
                                     StatusOr<crypto::SecureBuffer> unwrapped, std::string* failed_step) {
  const bool bound = r.format == kBoundFormat;
  OpenedKey out;
  out.type = r.type;
  out.meta = MetaOf(r);
  if (r.format == kStoreProtectedFormat) {
    out.bound = true;
    out.bytes = std::move(r.plaintext);
    return out;
  }
  out.bound = bound;
  if (!unwrapped.ok()) {
    return unwrapped.status().Annotate("unwrapping key " + name + " version " + std::to_string(version));
  }
  // A bound key must name exactly (scope, name, version): a record copied
  // or replaced by someone who can write the store but not wrap.
  if (bound) {
    auto bytes = UnbindKey(Binding(name, version), *unwrapped);
    if (!bytes.ok()) {
      if (failed_step != nullptr) *failed_step = "binding";
      return bytes.status();
    }
    out.bytes = std::move(bytes).value();
  } else {
    out.bytes = std::move(unwrapped).value();
  }
  if (out.bytes.size() != r.length) {
    return DataLoss(store_->RecordName(name, version) + " is invalid: unwrapped length " +
                    std::to_string(out.bytes.size()) + " != " + std::to_string(r.length) +
                    "; it was not written by keyring_locker or was altered");
  }
  return out;
}

StatusOr<OpenedKey> Envelope::Open(const std::string& name, uint32_t version, std::string* failed_step) {
  ASSIGN_OR_RETURN(KeyRecord r, store_->Read(name, version));
  RETURN_IF_ERROR(CheckRecord(r, name, version));
  if (r.format == kStoreProtectedFormat) return Finish(r, name, version, crypto::SecureBuffer(), failed_step);
  const bool bound = r.format == kBoundFormat;
  auto unwrapped = wrapper_->Unwrap(r.wrapped, bound ? Binding(name, version).Identity() : std::string());
  return Finish(r, name, version, std::move(unwrapped), failed_step);
}

std::vector<StatusOr<OpenedKey>> Envelope::OpenMany(const std::vector<KeyToOpen>& keys, size_t in_flight) {
  std::vector<StatusOr<KeyRecord>> records;
  records.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) records.emplace_back(Internal("not read"));
  ForEachInParallel(keys.size(), in_flight, [&](size_t i) {
    auto r = store_->Read(keys[i].name, keys[i].version);
    if (r.ok()) {
      Status checked = CheckRecord(*r, keys[i].name, keys[i].version);
      if (!checked.ok()) r = checked;
    }
    records[i] = std::move(r);
  });
  // Everything that needs the wrapper, in one batch.
  std::vector<size_t> to_unwrap;
  std::vector<UnwrapItem> items;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!records[i].ok() || records[i]->format == kStoreProtectedFormat) continue;
    const bool bound = records[i]->format == kBoundFormat;
    to_unwrap.push_back(i);
    items.push_back(UnwrapItem{records[i]->wrapped,
                               bound ? Binding(keys[i].name, keys[i].version).Identity() : std::string()});
  }
  std::vector<StatusOr<crypto::SecureBuffer>> unwrapped = wrapper_->UnwrapBatch(items);
  std::vector<StatusOr<OpenedKey>> out;
  out.reserve(keys.size());
  size_t u = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!records[i].ok()) {
      out.emplace_back(records[i].status());
      continue;
    }
    StatusOr<crypto::SecureBuffer> bytes = crypto::SecureBuffer();
    if (records[i]->format != kStoreProtectedFormat) {
      bytes = u < unwrapped.size() && to_unwrap[u] == i ? std::move(unwrapped[u])
                                                         : StatusOr<crypto::SecureBuffer>(Internal("not unwrapped"));
      ++u;
    }
    out.push_back(Finish(*records[i], keys[i].name, keys[i].version, std::move(bytes), nullptr));
  }
  return out;
}

}  // namespace keyring_locker
