#include "keyring_backend/key_service.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/crash_point.h"
#include "crypto/crypto.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/key_service_internal.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using key_service_internal::kFormat;
using key_service_internal::kUnboundFormat;
using key_service_internal::NowRfc3339;
using key_service_internal::ParseVersion;
using key_service_internal::StringField;

}  // namespace

KeyService::KeyService(std::unique_ptr<Locker> locker, KeyScopeOptions scope, CacheOptions cache,
                       std::unique_ptr<AuditLog> audit, std::string actor, std::chrono::milliseconds call_budget)
    : locker_(std::move(locker)),
      call_budget_(call_budget),
      scope_(std::move(scope)),
      cache_options_(cache),
      audit_(std::move(audit)),
      actor_(std::move(actor)),
      cache_(cache.max_keys) {}

KeyService::~KeyService() { StopBackgroundRefresh(); }

std::string KeyService::EncodeName(const std::string& name) {
  static const char* hex = "0123456789ABCDEF";
  const bool all_dots = !name.empty() && name.find_first_not_of('.') == std::string::npos;
  std::string out;
  for (unsigned char c : name) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '-' || (c == '.' && !all_dots);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

StatusOr<std::string> KeyService::DecodeName(const std::string& segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) return InvalidArgument("truncated escape in key name segment " + segment);
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(segment[i + 1]), lo = nibble(segment[i + 2]);
    if (hi < 0 || lo < 0) return InvalidArgument("bad escape in key name segment " + segment);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string KeyService::KeysRoot() const { return scope_.prefix + "/" + scope_.scope + "/keys"; }

std::string KeyService::DocumentPath(const std::string& name, uint32_t version) const {
  return KeysRoot() + "/" + EncodeName(name) + "/" + std::to_string(version);
}

KeyBinding KeyService::Binding(const std::string& name, uint32_t version) const {
  return KeyBinding{scope_.prefix + "/" + scope_.scope, name, version};
}

void KeyService::NoteError(const Status& s) {
  locker_errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(state_mu_);
  last_error_ = s.ToString();
}

void KeyService::Audit(const char* op, const std::string& name, int64_t version, const Status& result,
                       std::chrono::steady_clock::time_point started, const std::string& detail) {
  if (!audit_) return;
  AuditEvent e;
  e.op = op;
  e.key_id = name;
  e.version = version;
  e.locker = locker_->Describe();
  e.result = result.ok() ? "ok" : CodeName(result.code());
  e.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  e.detail = detail;
  audit_->Record(e);
}

StatusOr<KeyHandle> KeyService::Load(const std::string& name, uint32_t version) {
  const auto started = std::chrono::steady_clock::now();
  const std::string path = DocumentPath(name, version);
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto doc = locker_->Fetch(path);
  if (!doc.ok()) {
    if (doc.status().code() != Code::kNotFound) NoteError(doc.status());
    Audit("fetch", name, version, doc.status(), started);
    return doc.status();
  }
  const json& d = *doc;
  // The document must describe exactly the key asked for: a document copied
  // to another path by someone with KV write access is refused.
  auto bad = [&](const std::string& why) {
    Status s = DataLoss("key document " + path + " is invalid: " + why +
                        "; it was not written by keyring_locker or was altered");
    NoteError(s);
    Audit("fetch", name, version, s, started);
    return s;
  };
  const std::string format = StringField(d, "format");
  const bool bound = format == kFormat;
  if (!d.is_object() || (!bound && format != kUnboundFormat)) {
    return bad("format is not " + std::string(kFormat) + " (or " + kUnboundFormat + ")");
  }
  if (!d.contains("name") || !d["name"].is_string() || d["name"].get<std::string>() != name) return bad("name differs");
  if (!d.contains("version") || !d["version"].is_number_unsigned() || d["version"].get<uint64_t>() != version)
    return bad("version differs");
  if (!d.contains("wrapped") || !d["wrapped"].is_string()) return bad("no wrapped key");
  if (!d.contains("length") || !d["length"].is_number_unsigned()) return bad("no length");
  if (d.contains("type") && !d["type"].is_string()) return bad("type is not a string");
  if (!bound && !scope_.read_unbound_documents) {
    return bad("it is of format " + std::string(kUnboundFormat) +
               " (written before key binding) and keys.unbound_documents is \"refuse\"; set it to \"read\" "
               "while this version is still needed");
  }
  const uint64_t length = d["length"].get<uint64_t>();
  const std::string type = StringField(d, "type", "AES");
  // Refused before unwrapping: a key this server cannot use is never served
  // (a wrong-length key aborts InnoDB at its next flush).
  Status usable = scope_.rules.Check(type, static_cast<size_t>(length), "it");
  if (!usable.ok()) return bad(usable.message());
  auto unwrapped = locker_->Unwrap(d["wrapped"].get<std::string>(), "");
  if (!unwrapped.ok()) {
    NoteError(unwrapped.status());
    Audit("fetch", name, version, unwrapped.status(), started);
    return unwrapped.status().Annotate("unwrapping key " + name + " version " + std::to_string(version));
  }
  // A bound key must name exactly (scope, name, version): a document copied
  // to this path, or replaced, by someone who can write KV but not wrap.
  StatusOr<crypto::SecureBuffer> bytes = bound ? UnbindKey(Binding(name, version), *unwrapped) : std::move(unwrapped);
  if (!bytes.ok()) {
    NoteError(bytes.status());
    Audit("fetch", name, version, bytes.status(), started, "binding");
    return bytes.status();
  }
  if (bytes->size() != length) return bad("unwrapped length " + std::to_string(bytes->size()) + " != " + std::to_string(length));
  auto material = std::make_shared<KeyMaterial>();
  material->bytes = std::move(bytes).value();
  material->type = type;
  Audit("fetch", name, version, Status::Ok(), started, bound ? "" : "unbound");
  return KeyHandle(std::move(material));
}

StatusOr<KeyHandle> KeyService::Get(const std::string& name, uint32_t version) {
  return cache_.GetOrLoad(name, version, [&] {
    OperationDeadline budget(call_budget_);  // only a miss reaches the locker
    return Load(name, version);
  });
}

StatusOr<uint32_t> KeyService::LatestVersionFromLocker(const std::string& name) {
  OperationDeadline budget(call_budget_);
  locker_requests_.fetch_add(1, std::memory_order_relaxed);
  auto entries = locker_->List(KeysRoot() + "/" + EncodeName(name));
  if (!entries.ok()) {
    NoteError(entries.status());
    return entries.status();
  }
  uint32_t latest = 0;
  for (const auto& e : *entries) {
    uint32_t v = 0;
    if (ParseVersion(e, &v)) latest = std::max(latest, v);
  }
  if (latest > 0) cache_.RaiseLatest(name, latest);
  Generation g = ScanGeneration(*entries);
  if (g.version > 0) NoteGeneration(name, g);
  return latest;
}

Status KeyService::Create(const std::string& name, uint32_t version, const std::string& type, size_t length,
                          const crypto::SecureBuffer* bytes) {
  OperationDeadline budget(call_budget_);
  const auto started = std::chrono::steady_clock::now();
  if (name.empty() || name.size() > 256 || name.find('\n') != std::string::npos) {
    return InvalidArgument("key name must be 1..256 characters without newlines");
  }
  RETURN_IF_ERROR(scope_.rules.Check(type, length, "key " + name));
  if (bytes != nullptr && bytes->size() != length) return InvalidArgument("key length does not match the bytes given");
  locker_requests_.fetch_add(1, std::memory_order_relaxed);

  // The key: the server's own bytes, else a locker-generated data key where
  // Transit can make one of this size, else local random. Either way it is
  // then wrapped bound to (scope, name, version): Transit's data key
  // ciphertext cannot carry the binding, so it is dropped.
  crypto::SecureBuffer key;
  std::string origin;
  if (bytes != nullptr) {
    key = bytes->Clone();
    origin = "server";
  } else if (length == 16 || length == 32 || length == 64) {
    auto dk = locker_->GenerateDataKey(length, "");
    if (!dk.ok()) {
      NoteError(dk.status());
      Audit("create", name, version, dk.status(), started);
      return dk.status();
    }
    key = std::move(dk->plaintext);
    origin = "locker";
  } else {
    auto r = crypto::RandomKey(length);
    if (!r.ok()) return r.status();
    key = std::move(r).value();
    origin = "local-random";
  }
  ASSIGN_OR_RETURN(crypto::SecureBuffer bound, BindKey(Binding(name, version), key));
  auto w = locker_->Wrap(bound, "");
  if (!w.ok()) {
    NoteError(w.status());
    Audit("create", name, version, w.status(), started);
    return w.status();
  }
  const std::string wrapped = std::move(w).value();
  json doc = {{"format", kFormat}, {"name", name},     {"version", version}, {"type", type},
              {"length", length},  {"wrapped", wrapped}, {"created", NowRfc3339()},
              {"creator", actor_}, {"origin", origin}};
  const std::string path = DocumentPath(name, version);
  CrashPoint("create.before_store");
  Status stored = locker_->Store(path, doc);
  if (stored.code() == Code::kAlreadyExists) {
    // Our own earlier attempt may have landed (a retried request): the same
    // wrapped bytes mean it is ours; anything else belongs to someone else.
    auto existing = locker_->Fetch(path);
    if (existing.ok() && existing->is_object() && StringField(*existing, "wrapped") == wrapped) stored = Status::Ok();
  }
  Audit("create", name, version, stored, started, origin);
  if (!stored.ok()) {
    if (stored.code() != Code::kAlreadyExists) NoteError(stored);
    return stored;
  }
  CrashPoint("create.after_store");
  keys_created_.fetch_add(1, std::memory_order_relaxed);
  auto material = std::make_shared<KeyMaterial>();
  material->bytes = std::move(key);
  material->type = type;
  cache_.Insert(name, version, std::move(material));
  cache_.RaiseLatest(name, version);
  return Status::Ok();
}

StatusOr<uint32_t> KeyService::EnsureKey(const std::string& name, size_t length, const std::string& type) {
  OperationDeadline budget(call_budget_);
  ASSIGN_OR_RETURN(uint32_t latest, LatestVersionFromLocker(name));
  if (latest > 0) return latest;
  Status s = Create(name, 1, type, length, nullptr);
  if (s.ok()) return 1u;
  if (s.code() != Code::kAlreadyExists) return s;
  return LatestVersionFromLocker(name);  // another server created it first
}

StatusOr<uint32_t> KeyService::Rotate(const std::string& name, size_t length, const std::string& type) {
  return RotateImpl(name, length, type, false);
}

StatusOr<uint32_t> KeyService::RotateExisting(const std::string& name, size_t length, const std::string& type) {
  return RotateImpl(name, length, type, true);
}

StatusOr<uint32_t> KeyService::RotateImpl(const std::string& name, size_t length, const std::string& type,
                                          bool must_exist) {
  OperationDeadline budget(call_budget_);
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(uint32_t latest, LatestVersionFromLocker(name));
  if (must_exist && latest == 0) return NotFound("key " + name + " does not exist in this scope");
  if (latest >= 0xFFFFFFFEu) return FailedPrecondition("key " + name + " has no version numbers left");
  Status s = Create(name, latest + 1, type, length, nullptr);
  Audit("rotate", name, latest + 1, s, started);
  if (s.ok()) return latest + 1;
  if (s.code() != Code::kAlreadyExists) return s;
  return LatestVersionFromLocker(name);  // a concurrent rotation won; use its version
}

KeyHomeIdentity KeyService::Identity() const {
  KeyHomeIdentity id = locker_->Identity();
  id.fields.emplace_back("prefix", scope_.prefix);
  id.fields.emplace_back("scope", scope_.scope);
  return id;
}

KeyServiceStats KeyService::stats() const {
  KeyServiceStats s;
  s.cache = cache_.stats();
  s.locker_requests = locker_requests_.load();
  s.locker_errors = locker_errors_.load();
  s.stale_serves = stale_serves_.load();
  s.keys_created = keys_created_.load();
  std::lock_guard<std::mutex> lock(state_mu_);
  s.last_error = last_error_;
  s.last_refresh = last_refresh_;
  return s;
}

}  // namespace keyring_locker
