// keyring_reader_with_status, keyring_writer, keyring_generator and
// keyring_keys_metadata_iterator on the shared MySQL key model.
#include <cstring>
#include <exception>

#include "plugin/mysql_component/component_services.h"
#include "plugin/mysql_component/component_state.h"

namespace keyring_locker::mysql_component {

int WithInstance(const char* what, const std::function<int(Instance&)>& f) {
  try {
    auto instance = Current();
    if (!instance) {
      Log(Severity::kError, std::string(what) + ": the component has no configuration loaded; check " + kConfigFileName +
                       " and run ALTER INSTANCE RELOAD KEYRING");
      return 1;
    }
    return f(*instance);
  } catch (const std::exception& e) {
    Log(Severity::kError, std::string(what) + ": internal error: " + e.what());
  } catch (...) {
    Log(Severity::kError, std::string(what) + ": internal error");
  }
  return 1;
}

namespace {

const char* User(const char* auth_id) { return auth_id; }  // NULL and "" both mean the server's own key

struct Reader {
  KeyHandle key;
};

int ReaderInit(const char* data_id, const char* auth_id, abi::Handle* out) {
  if (out == nullptr) return 1;
  *out = nullptr;
  return WithInstance("keyring_reader.init", [&](Instance& in) {
    auto k = in.ops->Fetch(data_id, User(auth_id));
    if (!k.ok()) {
      if (k.status().code() == Code::kNotFound) return 0;  // not found: success, no handle
      Log(Severity::kError, "fetching a key: " + k.status().ToString());
      return 1;
    }
    *out = new Reader{std::move(k).value()};
    return 0;
  });
}

int ReaderDeinit(abi::Handle h) {
  delete static_cast<Reader*>(h);
  return 0;
}

int ReaderFetchLength(abi::Handle h, size_t* data_size, size_t* type_size) {
  auto* r = static_cast<Reader*>(h);
  if (r == nullptr || data_size == nullptr || type_size == nullptr) return 1;
  *data_size = r->key->bytes.size();
  *type_size = r->key->type.size();
  return 0;
}

int ReaderFetch(abi::Handle h, unsigned char* data, size_t data_len, size_t* data_size, char* type, size_t type_len,
                size_t* type_size) {
  auto* r = static_cast<Reader*>(h);
  if (r == nullptr || data == nullptr || type == nullptr || data_size == nullptr || type_size == nullptr) return 1;
  const auto& bytes = r->key->bytes;
  const std::string& t = r->key->type;
  if (data_len < bytes.size() || type_len < t.size()) return 1;
  std::memcpy(data, bytes.data(), bytes.size());
  std::memcpy(type, t.data(), t.size());
  if (type_len > t.size()) type[t.size()] = '\0';
  *data_size = bytes.size();
  *type_size = t.size();
  return 0;
}

int WriterStore(const char* data_id, const char* auth_id, const unsigned char* data, size_t size, const char* type) {
  return WithInstance("keyring_writer.store", [&](Instance& in) {
    Status s = in.ops->Store(data_id, type, User(auth_id), data, size);
    if (!s.ok() && s.code() != Code::kAlreadyExists) Log(Severity::kError, "storing a key: " + s.ToString());
    return s.ok() ? 0 : 1;
  });
}

int WriterRemove(const char* data_id, const char* auth_id) {
  return WithInstance("keyring_writer.remove", [&](Instance& in) {
    Status s = in.ops->Remove(data_id, User(auth_id));
    if (s.code() == Code::kNotFound) return 0;  // the service defines an absent key as removed
    if (!s.ok()) Log(Severity::kError, "removing a key: " + s.ToString());
    return s.ok() ? 0 : 1;
  });
}

int Generate(const char* data_id, const char* auth_id, const char* type, size_t size) {
  return WithInstance("keyring_generator.generate", [&](Instance& in) {
    Status s = in.ops->Generate(data_id, type, User(auth_id), size);
    if (!s.ok() && s.code() != Code::kAlreadyExists) Log(Severity::kError, "generating a key: " + s.ToString());
    return s.ok() ? 0 : 1;
  });
}

struct KeyIterator {
  std::vector<mysql::KeyIdentity> keys;
  size_t pos = 0;
};

int IterInit(abi::Handle* out) {
  if (out == nullptr) return 1;
  *out = nullptr;
  return WithInstance("keyring_keys_metadata_iterator.init", [&](Instance& in) {
    auto list = in.ops->List();
    if (!list.ok()) {
      Log(Severity::kError, "listing keys: " + list.status().ToString());
      return 1;
    }
    *out = new KeyIterator{std::move(list).value(), 0};
    return 0;
  });
}
int IterDeinit(abi::Handle h) {
  delete static_cast<KeyIterator*>(h);
  return 0;
}
int IterIsValid(abi::Handle h) {
  auto* it = static_cast<KeyIterator*>(h);
  return it != nullptr && it->pos < it->keys.size() ? 1 : 0;
}
int IterNext(abi::Handle h) {
  auto* it = static_cast<KeyIterator*>(h);
  if (it == nullptr || it->pos >= it->keys.size()) return 1;
  ++it->pos;
  return it->pos < it->keys.size() ? 0 : 1;
}
int IterGetLength(abi::Handle h, size_t* id_len, size_t* auth_len) {
  if (IterIsValid(h) != 1 || id_len == nullptr || auth_len == nullptr) return 1;
  const auto& k = static_cast<KeyIterator*>(h)->keys[static_cast<KeyIterator*>(h)->pos];
  *id_len = k.key_id.size();
  *auth_len = k.user_id.size();
  return 0;
}
int IterGet(abi::Handle h, char* id, size_t id_len, char* auth, size_t auth_len) {
  if (IterIsValid(h) != 1 || id == nullptr || auth == nullptr) return 1;
  const auto& k = static_cast<KeyIterator*>(h)->keys[static_cast<KeyIterator*>(h)->pos];
  if (id_len <= k.key_id.size() || auth_len <= k.user_id.size()) return 1;  // room for the NUL too
  std::memcpy(id, k.key_id.c_str(), k.key_id.size() + 1);
  std::memcpy(auth, k.user_id.c_str(), k.user_id.size() + 1);
  return 0;
}

}  // namespace

abi::ReaderWithStatus kReaderService = {ReaderInit, ReaderDeinit, ReaderFetchLength, ReaderFetch};
abi::Writer kWriterService = {WriterStore, WriterRemove};
abi::Generator kGeneratorService = {Generate};
abi::KeysMetadataIterator kIteratorService = {IterInit, IterDeinit, IterIsValid, IterNext, IterGetLength, IterGet};

}  // namespace keyring_locker::mysql_component
