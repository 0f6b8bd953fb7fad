#include "plugin/mysql/mysql_key_model.h"

#include <cstring>

namespace keyring_locker::mysql {
namespace {

bool Empty(const char* s) { return s == nullptr || *s == '\0'; }

Status CheckType(const char* key_type) {
  if (Empty(key_type) || std::strlen(key_type) > 64) {
    return InvalidArgument("a key type such as \"AES\" (at most 64 characters) is required");
  }
  return Status::Ok();
}

}  // namespace

Status CheckIds(const char* key_id, const char* user_id) {
  if (Empty(key_id)) return InvalidArgument("a key id is required; the server passed an empty one");
  if (std::strlen(key_id) > kMaxIdLength || (user_id != nullptr && std::strlen(user_id) > kMaxIdLength)) {
    return InvalidArgument("key ids and user ids must be at most 1024 bytes");
  }
  return Status::Ok();
}

std::string KeyName(const char* key_id, const char* user_id) {
  if (Empty(user_id)) return std::strchr(key_id, '/') == nullptr ? std::string(key_id) : "/" + std::string(key_id);
  std::string name;
  for (const char* p = user_id; *p; ++p) {
    if (*p == '%') {
      name += "%25";
    } else if (*p == '/') {
      name += "%2F";
    } else {
      name += *p;
    }
  }
  return name + "/" + key_id;
}

bool SplitKeyName(const std::string& name, KeyIdentity* out) {
  const size_t slash = name.find('/');
  if (slash == std::string::npos) {
    *out = KeyIdentity{name, ""};
    return !name.empty();
  }
  KeyIdentity id;
  id.key_id = name.substr(slash + 1);
  const std::string user = name.substr(0, slash);
  for (size_t i = 0; i < user.size(); ++i) {
    if (user[i] != '%') {
      id.user_id += user[i];
    } else if (user.compare(i, 3, "%25") == 0) {
      id.user_id += '%';
      i += 2;
    } else if (user.compare(i, 3, "%2F") == 0) {
      id.user_id += '/';
      i += 2;
    } else {
      return false;
    }
  }
  // "/<id>" is a server key whose id has a '/'; it must really contain one.
  if (id.key_id.empty() || (user.empty() && id.key_id.find('/') == std::string::npos)) return false;
  *out = std::move(id);
  return true;
}

Status KeyringOps::Store(const char* key_id, const char* key_type, const char* user_id, const void* key,
                         size_t len) {
  RETURN_IF_ERROR(CheckIds(key_id, user_id));
  RETURN_IF_ERROR(CheckType(key_type));
  if (key == nullptr || len == 0) return InvalidArgument("key_store needs key bytes; the server passed none");
  crypto::SecureBuffer bytes(len);
  std::memcpy(bytes.data(), key, len);
  return keys_.CreateGeneration(KeyName(key_id, user_id), key_type, len, &bytes);
}

Status KeyringOps::Generate(const char* key_id, const char* key_type, const char* user_id, size_t len) {
  RETURN_IF_ERROR(CheckIds(key_id, user_id));
  RETURN_IF_ERROR(CheckType(key_type));
  if (len == 0) return InvalidArgument("key_generate needs a key length above 0");
  return keys_.CreateGeneration(KeyName(key_id, user_id), key_type, len, nullptr);
}

StatusOr<KeyHandle> KeyringOps::Fetch(const char* key_id, const char* user_id) {
  RETURN_IF_ERROR(CheckIds(key_id, user_id));
  return keys_.GetLive(KeyName(key_id, user_id));
}

Status KeyringOps::Remove(const char* key_id, const char* user_id) {
  RETURN_IF_ERROR(CheckIds(key_id, user_id));
  return keys_.SoftRemove(KeyName(key_id, user_id));
}

StatusOr<std::vector<KeyIdentity>> KeyringOps::List() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, keys_.ListLive());
  std::vector<KeyIdentity> out;
  for (const auto& n : names) {
    KeyIdentity id;
    // Names not made by KeyName (another adapter's keys in the same scope)
    // are not MySQL keys; too-long ids would overflow the server's buffers.
    if (!SplitKeyName(n, &id) || id.key_id.size() > kMaxIdLength || id.user_id.size() > kMaxIdLength) continue;
    out.push_back(std::move(id));
  }
  return out;
}

}  // namespace keyring_locker::mysql
