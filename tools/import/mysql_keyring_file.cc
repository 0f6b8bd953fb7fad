#include "tools/import/mysql_keyring_file.h"

#include <cstring>

#include "crypto/crypto.h"
#include "plugin/mysql/mysql_key_model.h"

namespace keyring_locker::import {
namespace {

constexpr size_t kHeaderLen = 24, kTagLen = 3, kDigestLen = 32, kWord = 8, kFixed = 5 * kWord;
constexpr char kTag[] = "EOF";
// The keyring_file plugin's obfuscation pattern (a fact of its file format).
constexpr char kXorPattern[] = "*305=Ljt0*!@$Hnm(*-9-w;:";
constexpr size_t kXorLen = sizeof(kXorPattern) - 1;

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void AppendLe64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Xor(uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) data[i] ^= static_cast<uint8_t>(kXorPattern[i % kXorLen]);
}

size_t Pad8(size_t n) { return (kWord - n % kWord) % kWord; }

}  // namespace

StatusOr<ImportSource> ParseMysqlKeyringFile(const std::string& content) {
  ImportSource source;
  source.server = KeyServer::kMySql;
  source.model = KeyModel::kGenerations;
  if (content.empty()) {
    source.warnings.push_back("the keyring file is empty: MySQL's keyring_file held no keys");
    return source;
  }
  const bool v2 = content.compare(0, kHeaderLen, kKeyringFileV2) == 0;
  const bool v1 = content.compare(0, kHeaderLen, kKeyringFileV1) == 0;
  if (!v2 && !v1) {
    std::string hint;
    if (content[0] == '{') {
      hint = " (it looks like JSON: component_keyring_file's file? use mysql_component_keyring_file)";
    }
    return InvalidArgument("not a MySQL keyring_file data file: it does not start with \"Keyring file version:2.0\" "
                           "or \"...:1.0\"" + hint);
  }
  const size_t trailer = kTagLen + (v2 ? kDigestLen : 0);
  if (content.size() < kHeaderLen + trailer) {
    return InvalidArgument("the keyring file is truncated: " + std::to_string(content.size()) +
                           " bytes, too short for its header and end tag; restore it (keyring_file keeps a "
                           "'<file>.backup' while writing) or from a backup");
  }
  const size_t tag_at = content.size() - trailer;
  if (content.compare(tag_at, kTagLen, kTag) != 0) {
    return InvalidArgument("the keyring file is truncated or damaged: no \"EOF\" tag where the " +
                           std::string(v2 ? "2.0 format has it (35 bytes before the end)"
                                          : "1.0 format has it (at the end)") +
                           "; restore it from '<file>.backup' or a backup");
  }
  const auto* base = reinterpret_cast<const uint8_t*>(content.data());
  const uint8_t* body = base + kHeaderLen;
  const size_t body_len = tag_at - kHeaderLen;
  if (v2) {
    const crypto::Bytes digest = crypto::Sha256(body, body_len);
    if (std::memcmp(digest.data(), base + tag_at + kTagLen, kDigestLen) != 0) {
      return InvalidArgument("the keyring file's SHA-256 digest does not match its keys: the file is damaged or was "
                             "changed by hand; restore it from '<file>.backup' or a backup (MySQL refuses it too)");
    }
  } else {
    source.warnings.push_back("keyring file version 1.0 has no digest: damage inside a key cannot be detected");
  }
  if (body_len % kWord != 0) {
    return InvalidArgument("the keyring file's key area is " + std::to_string(body_len) +
                           " bytes, not a multiple of 8: written by a 32-bit server (not supported; open it once "
                           "with keyring_file on a 64-bit server) or damaged");
  }
  size_t pos = 0;
  for (size_t n = 1; pos < body_len; ++n) {
    const std::string origin = "key #" + std::to_string(n) + " at byte " + std::to_string(kHeaderLen + pos);
    auto fail = [&](const std::string& why) {
      ImportItem bad;
      bad.name = origin;
      bad.origin = origin;
      bad.error = why + "; the keys after it cannot be located either: restore the file from '<file>.backup' or a "
                        "backup";
      source.items.push_back(std::move(bad));
    };
    if (body_len - pos < kFixed) {
      fail("truncated: fewer than the 40 bytes of a key's lengths remain");
      break;
    }
    const uint8_t* k = body + pos;
    const uint64_t pod = ReadLe64(k), id_len = ReadLe64(k + 8), type_len = ReadLe64(k + 16),
                   user_len = ReadLe64(k + 24), key_len = ReadLe64(k + 32);
    const uint64_t limit = body_len - pos;
    if (pod > limit || id_len > limit || type_len > limit || user_len > limit || key_len > limit) {
      fail("its lengths run past the end of the file (truncated, or written by a big-endian server, which is not "
           "supported)");
      break;
    }
    const uint64_t used = kFixed + id_len + type_len + user_len + key_len;
    if (pod % kWord != 0 || used > pod || used + kWord <= pod) {
      fail("its lengths do not add up to its size (" + std::to_string(pod) + " bytes): damaged");
      break;
    }
    const char* f = reinterpret_cast<const char*>(k + kFixed);
    ImportItem item;
    item.origin = origin;
    const std::string key_id(f, id_len), key_type(f + id_len, type_len), user_id(f + id_len + type_len, user_len);
    item.type = key_type;
    item.bytes = crypto::SecureBuffer::CopyOf(f + id_len + type_len + user_len, key_len);
    Xor(item.bytes.data(), item.bytes.size());
    if (key_id.empty() || key_id.find('\0') != std::string::npos || user_id.find('\0') != std::string::npos) {
      item.name = origin;
      item.error = "the key id is empty or holds a NUL byte: not a key MySQL could ask for";
    } else if (key_id.size() > mysql::kMaxIdLength || user_id.size() > mysql::kMaxIdLength) {
      item.name = origin;
      item.error = "the key id or user id is longer than 1024 bytes, which the keyring_locker adapters refuse";
    } else {
      item.name = mysql::KeyName(key_id.c_str(), user_id.c_str());
    }
    source.items.push_back(std::move(item));
    pos += pod;
  }
  if (source.items.empty()) source.warnings.push_back("the keyring file holds no keys");
  CheckItems(source);
  return source;
}

std::string BuildMysqlKeyringFile(const std::vector<MysqlKeyringFileKey>& keys, bool v1) {
  std::string body;
  for (const auto& k : keys) {
    const size_t len = k.bytes ? k.bytes->size() : 0;
    const size_t used = kFixed + k.key_id.size() + k.key_type.size() + k.user_id.size() + len;
    AppendLe64(&body, used + Pad8(used));
    AppendLe64(&body, k.key_id.size());
    AppendLe64(&body, k.key_type.size());
    AppendLe64(&body, k.user_id.size());
    AppendLe64(&body, len);
    body += k.key_id + k.key_type + k.user_id;
    std::string data(len, '\0');
    if (len) std::memcpy(data.data(), k.bytes->data(), len);
    Xor(reinterpret_cast<uint8_t*>(data.data()), len);
    body += data;
    body.append(Pad8(used), '\0');
  }
  std::string out = v1 ? kKeyringFileV1 : kKeyringFileV2;
  out += body;
  out += kTag;
  if (!v1) {
    const crypto::Bytes d = crypto::Sha256(body);
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  return out;
}

}  // namespace keyring_locker::import
