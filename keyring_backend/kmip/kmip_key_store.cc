// KmipKeyStore: writing, reading and removing records and markers. Finding
// the objects is in kmip_key_store_listing.cc.
#include "keyring_backend/kmip/kmip_key_store.h"

#include "common/printable.h"

namespace keyring_locker {

using kmip::ApplicationInfo;
using kmip::KmipObjectLayout;
using kmip::ObjectAttributes;

namespace {

namespace enums = kmip::enums;

// What a marker object holds: Secret Data may not be empty, and its
// metadata says everything.
constexpr char kMarkerBytes[] = "keyring_locker/deleted/1";

// The attempt id in an object's metadata (both kinds end with ";a=<attempt>").
std::string AttemptOf(const ObjectAttributes& a) {
  for (const ApplicationInfo& info : a.application_info) {
    if (info.application_namespace != kmip::kMetadataNamespace) continue;
    const size_t at = info.application_data.rfind(";a=");
    if (at == std::string::npos) continue;
    StatusOr<std::string> attempt = KmipObjectLayout::DecodeValue(info.application_data.substr(at + 3));
    if (attempt.ok()) return std::move(attempt).value();
  }
  return "";
}

// The one Application Specific Information entry in our namespace.
StatusOr<std::string> Metadata(const ObjectAttributes& a, const std::string& object) {
  const std::string* found = nullptr;
  for (const ApplicationInfo& info : a.application_info) {
    if (info.application_namespace != kmip::kMetadataNamespace) continue;
    if (found != nullptr) {
      return DataLoss(object + " carries keyring_locker metadata (Application Specific Information) twice; "
                               "it was altered");
    }
    found = &info.application_data;
  }
  if (found == nullptr) {
    return DataLoss(object + " carries no keyring_locker metadata (Application Specific Information, namespace " +
                    kmip::kMetadataNamespace + "); it was not written by keyring_locker or was altered");
  }
  return *found;
}

// Marks an attempt running for the length of one create call.
class AttemptScope {
 public:
  explicit AttemptScope(kmip::CreateAttempts* attempts) : attempts_(attempts), id_(attempts->Begin()) {}
  ~AttemptScope() { attempts_->End(id_); }
  AttemptScope(const AttemptScope&) = delete;
  AttemptScope& operator=(const AttemptScope&) = delete;
  const std::string& id() const { return id_; }

 private:
  kmip::CreateAttempts* attempts_;
  std::string id_;
};

Status CheckVersion(uint32_t version) {
  if (version == 0 || version > 0xFFFFFFFEu) {
    return InvalidArgument("key version " + std::to_string(version) + " is out of range (1..4294967294)");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<KmipKeyStore>> KmipKeyStore::Open(std::shared_ptr<kmip::KmipClient> client,
                                                           KmipStoreOptions options) {
  if (!client) return InvalidArgument("the KMIP key store needs a KMIP client");
  RETURN_IF_ERROR(KmipObjectLayout::CheckScope(options.prefix, options.scope));
  if (options.abandoned_after.count() < 1) {
    return InvalidArgument("the KMIP store's abandoned_after must be at least one second");
  }
  return std::make_unique<KmipKeyStore>(std::move(client), std::move(options));
}

KmipKeyStore::KmipKeyStore(std::shared_ptr<kmip::KmipClient> client, KmipStoreOptions options)
    : client_(std::move(client)), options_(std::move(options)), layout_(options_.prefix, options_.scope) {
  race_policy_.abandoned_after = options_.abandoned_after;
  race_policy_.finished_here = [this](const std::string& attempt) { return attempts_.FinishedHere(attempt); };
}

std::string KmipKeyStore::RecordName(const std::string& name, uint32_t version) const {
  return "KMIP object " + layout_.KeyName(name, version);
}

KeyHomeIdentity KmipKeyStore::Identity() const {
  // Which keys: the Object Group (prefix and scope). Which server holds
  // them, and which client certificate owns them, may change (failover, a
  // renewed certificate) without changing the keys, so neither is compared.
  KeyHomeIdentity id;
  id.fields.emplace_back("kmip_group", layout_.Group());
  id.endpoints = client_->endpoints();
  return id;
}

Status KmipKeyStore::Connect() {
  RETURN_IF_ERROR(client_->Connect());
  // Locate is what every start needs: a server or policy that refuses it
  // fails here, naming the group, rather than at the first key.
  kmip::LocateQuery query;
  query.object_type.reset();
  query.object_group = layout_.Group();
  query.state = enums::kStateActive;
  query.max_items = 1;
  return client_->Locate(query).status().Annotate("listing KMIP Object Group " + layout_.Group());
}

KmipStoreStats KmipKeyStore::stats() const {
  KmipStoreStats s;
  s.creates_won = creates_won_.load(std::memory_order_relaxed);
  s.creates_lost = creates_lost_.load(std::memory_order_relaxed);
  s.duplicate_names = duplicate_names_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  s.names_cached = known_.size();
  return s;
}

Status KmipKeyStore::CreateOnly(const Slot& slot, const RegisterFn& register_object,
                                const std::function<Status(const std::string& uid)>& before_activate) {
  const std::string object_name = ObjectName(slot);
  const AttemptScope attempt(&attempts_);
  StatusOr<std::string> uid = register_object(attempt.id());
  if (!uid.ok()) return uid.status().Annotate("registering KMIP object " + object_name);
  kmip::RaceRequest request;
  request.object_name = object_name;
  request.own_uid = *uid;
  request.attempt_of = AttemptOf;
  if (before_activate) request.before_activate = [&] { return before_activate(*uid); };
  std::string why;
  StatusOr<kmip::RaceOutcome> outcome = kmip::RunCreateRace(*client_, request, race_policy_, &why);
  if (!outcome.ok()) return outcome.status().Annotate("creating KMIP object " + object_name);
  if (*outcome == kmip::RaceOutcome::kLost) {
    creates_lost_.fetch_add(1, std::memory_order_relaxed);
    return AlreadyExists("KMIP object " + object_name + " exists already (" + why + ")");
  }
  creates_won_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  memo_[slot] = *uid;
  return Status::Ok();
}

Status KmipKeyStore::Create(const KeyRecord& r) {
  RETURN_IF_ERROR(CheckVersion(r.version));
  const bool bare = !r.plaintext.empty();
  if (bare == !r.wrapped.empty()) {
    return InvalidArgument(RecordName(r.name, r.version) +
                           ": a record holds either the key itself or a wrapped key, exactly one of them");
  }
  if (bare && r.plaintext.size() != r.length) {
    return InvalidArgument(RecordName(r.name, r.version) + ": the key holds " + std::to_string(r.plaintext.size()) +
                           " bytes, its length says " + std::to_string(r.length));
  }
  const Slot slot{r.name, r.version, false};
  kmip::RecordMetadata meta{r.format, r.type, r.wrapper, r.created, r.creator, r.origin, "", r.length, !bare};
  auto register_object = [&](const std::string& attempt) -> StatusOr<std::string> {
    meta.attempt = attempt;
    const ApplicationInfo info{kmip::kMetadataNamespace, KmipObjectLayout::EncodeRecord(meta)};
    if (bare && r.type == "AES") {
      // A key the server knows as an AES key (and could use itself).
      kmip::KeyAttributes key;
      key.length_bits = static_cast<int32_t>(r.plaintext.size() * 8);
      key.name = ObjectName(slot);
      key.object_group = layout_.Group();
      key.application_info = {info};
      return client_->Register(key, r.plaintext);
    }
    kmip::SecretDataAttributes secret;
    secret.name = ObjectName(slot);
    secret.object_group = layout_.Group();
    secret.application_info = {info};
    if (bare) return client_->RegisterSecretData(secret, r.plaintext);
    return client_->RegisterSecretData(secret, crypto::SecureBuffer::CopyOf(r.wrapped));
  };
  return CreateOnly(slot, register_object, nullptr);
}

StatusOr<crypto::SecureBuffer> KmipKeyStore::CreateGenerated(const KeyRecord& r) {
  if (!CanGenerate(r.length) || r.type != "AES") return KeyStore::CreateGenerated(r);
  RETURN_IF_ERROR(CheckVersion(r.version));
  const Slot slot{r.name, r.version, false};
  kmip::RecordMetadata meta{r.format, r.type, r.wrapper, r.created, r.creator, r.origin, "", r.length, false};
  auto create_object = [&](const std::string& attempt) -> StatusOr<std::string> {
    meta.attempt = attempt;
    kmip::KeyAttributes key;  // AES-256, Encrypt|Decrypt: made by the server
    key.name = ObjectName(slot);
    key.object_group = layout_.Group();
    key.application_info = {ApplicationInfo{kmip::kMetadataNamespace, KmipObjectLayout::EncodeRecord(meta)}};
    return client_->Create(key);
  };
  crypto::SecureBuffer bytes;
  // Read once we have won and before activating: a key whose bytes we
  // could not read is never made Active by us.
  auto read_key = [&](const std::string& uid) -> Status {
    ASSIGN_OR_RETURN(kmip::FetchedKey key, client_->Get(uid));
    if (key.key.size() != r.length) {
      return DataLoss("the KMIP server made a key of " + std::to_string(key.key.size()) + " bytes for " +
                      RecordName(r.name, r.version) + ", not the " + std::to_string(r.length) + " asked for");
    }
    bytes = std::move(key.key);
    return Status::Ok();
  };
  RETURN_IF_ERROR(CreateOnly(slot, create_object, read_key));
  return bytes;
}

StatusOr<KeyRecord> KmipKeyStore::Read(const std::string& name, uint32_t version) {
  const Slot slot{name, version, false};
  ASSIGN_OR_RETURN(auto found, Resolve(slot));
  const auto& [uid, attributes] = found;
  const std::string object = RecordName(name, version) + " (uid " + Printable(uid, 80) + ")";
  // The record says which key it is by its Name as stored: the envelope
  // checks it is the one asked for.
  std::optional<KmipObjectLayout::Parsed> stored;
  if (attributes.names.size() == 1) stored = layout_.Parse(attributes.names[0]);
  if (!stored || stored->marker) {
    return DataLoss(object + " is invalid: its Name is not one keyring_locker writes in this scope");
  }
  ASSIGN_OR_RETURN(std::string data, Metadata(attributes, object));
  ASSIGN_OR_RETURN(kmip::RecordMetadata meta, KmipObjectLayout::DecodeRecord(data, object));
  KeyRecord r;
  r.name = stored->name;
  r.version = stored->version;
  r.format = meta.format;
  r.type = meta.type;
  r.length = meta.length;
  r.wrapper = meta.wrapper;
  r.created = meta.created;
  r.creator = meta.creator;
  r.origin = meta.origin;
  const uint32_t type = attributes.object_type.value_or(0);
  if (type == enums::kObjectSymmetricKey && !meta.wrapped) {
    ASSIGN_OR_RETURN(kmip::FetchedKey key, client_->Get(uid));
    r.plaintext = std::move(key.key);
  } else if (type == enums::kObjectSecretData) {
    ASSIGN_OR_RETURN(kmip::FetchedSecretData secret, client_->GetSecretData(uid));
    if (meta.wrapped) {
      r.wrapped.assign(reinterpret_cast<const char*>(secret.data.data()), secret.data.size());
    } else {
      r.plaintext = std::move(secret.data);
    }
  } else {
    return DataLoss(object + " is invalid: Object Type " + std::to_string(type) + " holding " +
                    (meta.wrapped ? "a wrapped key" : "a key") + " is not one keyring_locker writes");
  }
  return r;
}

Status KmipKeyStore::MarkDeleted(const DeletionMarker& m) {
  RETURN_IF_ERROR(CheckVersion(m.version));
  const Slot slot{m.name, m.version, true};
  kmip::MarkerMetadata meta{m.deleted_at, m.deleted_by, "", m.deleted_unix};
  auto register_marker = [&](const std::string& attempt) -> StatusOr<std::string> {
    meta.attempt = attempt;
    kmip::SecretDataAttributes secret;
    secret.name = ObjectName(slot);
    secret.object_group = layout_.Group();
    secret.application_info = {ApplicationInfo{kmip::kMetadataNamespace, KmipObjectLayout::EncodeMarker(meta)}};
    return client_->RegisterSecretData(secret, crypto::SecureBuffer::CopyOf(std::string(kMarkerBytes)));
  };
  return CreateOnly(slot, register_marker, nullptr);
}

StatusOr<DeletionMarker> KmipKeyStore::ReadMarker(const std::string& name, uint32_t version) {
  const Slot slot{name, version, true};
  ASSIGN_OR_RETURN(auto found, Resolve(slot));
  const std::string object = "KMIP object " + ObjectName(slot) + " (uid " + Printable(found.first, 80) + ")";
  ASSIGN_OR_RETURN(std::string data, Metadata(found.second, object));
  ASSIGN_OR_RETURN(kmip::MarkerMetadata meta, KmipObjectLayout::DecodeMarker(data, object));
  DeletionMarker m;
  m.name = name;  // where it was found is what it marks
  m.version = version;
  m.deleted_at = meta.deleted_at;
  m.deleted_unix = meta.deleted_unix;
  m.deleted_by = meta.deleted_by;
  return m;
}

Status KmipKeyStore::Undelete(const std::string& name, uint32_t version) {
  return RemoveAll(Slot{name, version, true}, "undelete");
}

Status KmipKeyStore::Purge(const std::string& name, uint32_t version) {
  return RemoveAll(Slot{name, version, false}, "purge");
}

Status KmipKeyStore::RemoveAll(const Slot& slot, const std::string& why) {
  const std::string object_name = ObjectName(slot);
  kmip::LocateQuery query;
  query.object_type.reset();
  query.name = object_name;
  ASSIGN_OR_RETURN(std::vector<std::string> uids, client_->Locate(query));
  Forget(slot);
  for (const std::string& uid : uids) {
    const std::string object = "KMIP object " + object_name + " (uid " + Printable(uid, 80) + ")";
    StatusOr<ObjectAttributes> a = client_->GetAttributes(uid, {kmip::attr::kState});
    if (!a.ok() && a.status().code() == Code::kNotFound) continue;
    if (!a.ok()) return a.status().Annotate("reading the state of " + object);
    // Active objects are revoked first (Deactivated: no longer a record,
    // even if the Destroy below fails); the others can be destroyed as
    // they are.
    if (a->state == enums::kStateActive) {
      kmip::Revocation revocation;
      revocation.reason_code = enums::kRevocationCessationOfOperation;
      revocation.message = "keyring_locker " + why;
      Status revoked = client_->Revoke(uid, revocation);
      if (!revoked.ok() && revoked.code() != Code::kNotFound) return revoked.Annotate("revoking " + object);
    }
    Status destroyed = client_->Destroy(uid);
    if (!destroyed.ok() && destroyed.code() != Code::kNotFound) return destroyed.Annotate("destroying " + object);
  }
  return Status::Ok();
}

}  // namespace keyring_locker
