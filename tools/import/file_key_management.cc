#include "tools/import/file_key_management.h"

#include <cstring>

#include "common/safe_file.h"
#include "tools/import/openssl_salted.h"

namespace keyring_locker::import {
namespace {

constexpr char kFilePrefix[] = "FILE:";
constexpr size_t kMaxSecret = 256;
constexpr uint64_t kMaxKeyId = 0xFFFFFFFFull;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A decryption with a wrong key passes the padding check about once in 256
// tries; its "text" then holds bytes no key file has.
bool LooksLikeText(const crypto::SecureBuffer& b) {
  for (size_t i = 0; i < b.size(); ++i) {
    const uint8_t c = b.data()[i];
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\v' && c != '\f') || c >= 0x7f) {
      return false;
    }
  }
  return true;
}

// One line (without its '\n'). Returns false for a comment or blank line.
bool ParseLine(const char* p, const char* end, size_t line_no, ImportItem* item) {
  const char* start = p;
  auto column = [&](const char* at) { return std::to_string(at - start + 1); };
  item->origin = "line " + std::to_string(line_no);
  while (p < end && IsSpace(*p)) ++p;
  if (p == end || *p == '#') return false;
  if (!IsDigit(*p)) {
    item->name = "line " + std::to_string(line_no);
    item->error = "syntax error at column " + column(p) + ": a key line is <id>;<hex key>, a comment starts with #";
    return true;
  }
  uint64_t id = 0;
  while (p < end && IsDigit(*p)) {
    id = id * 10 + static_cast<uint64_t>(*p - '0');
    if (id > kMaxKeyId) {
      item->name = "line " + std::to_string(line_no);
      item->error = "invalid key id at column " + column(p) + ": ids are 1..4294967295";
      return true;
    }
    ++p;
  }
  item->name = std::to_string(id);
  item->version = 1;
  if (id == 0) {
    item->error = "invalid key id 0 at column " + column(p) + ": ids are 1..4294967295";
    return true;
  }
  if (p == end || *p != ';') {
    item->error = "syntax error at column " + column(p) + ": expected ';' after the key id";
    return true;
  }
  ++p;
  const char* hex = p;
  while (p < end && IsHex(*p)) ++p;
  const size_t digits = static_cast<size_t>(p - hex);
  if (digits % 2 != 0) {
    item->error = "the key has an odd number of hex digits (" + std::to_string(digits) +
                  "): a digit is missing or one too many";
    return true;
  }
  if (digits != 32 && digits != 48 && digits != 64) {
    item->error = "the key has " + std::to_string(digits / 2) +
                  " bytes; file_key_management (and MariaDB) use AES keys of 16, 24 or 32 bytes (32, 48 or 64 hex "
                  "digits)";
    return true;
  }
  auto bytes = DecodeHexKey(std::string(hex, digits));
  if (!bytes.ok()) {
    item->error = bytes.status().message();
    return true;
  }
  item->bytes = std::move(bytes).value();
  return true;
}

}  // namespace

StatusOr<std::string> ResolveFileKey(const std::string& filekey) {
  if (filekey.compare(0, std::strlen(kFilePrefix), kFilePrefix) != 0) return filekey;
  const std::string path = filekey.substr(std::strlen(kFilePrefix));
  ReadFileOptions o;
  o.open.what = "--filekey FILE:";
  o.max_bytes = 64 * 1024;
  o.wipe = true;
  ASSIGN_OR_RETURN(std::string secret, ReadRegularFile(path, o));
  // The plugin reads 257 bytes and strips trailing CR/LF.
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() > kMaxSecret) {
    WipeString(secret);
    return InvalidArgument("the file key in '" + path + "' is longer than 256 bytes, which file_key_management "
                           "refuses; it cannot be the file key the server used");
  }
  if (secret.empty()) return InvalidArgument("the file key file '" + path + "' is empty");
  return secret;
}

StatusOr<ImportSource> ParseFileKeyManagement(const std::string& content, const FileKeyManagementOptions& options) {
  if (content.size() > kFileKeyManagementMaxBytes) {
    return InvalidArgument("the key file is " + std::to_string(content.size()) +
                           " bytes; file_key_management reads at most 1 MiB, so this is not the file the server read");
  }
  ImportSource source;
  source.server = KeyServer::kMariaDb;
  source.model = KeyModel::kVersioned;
  crypto::SecureBuffer text;
  if (LooksSalted(content)) {
    std::string secret;
    if (!options.filekey.empty()) {
      ASSIGN_OR_RETURN(secret, ResolveFileKey(options.filekey));
    }
    auto plain = DecryptSalted(content, secret, options.kdf, &LooksLikeText);
    WipeString(secret);
    if (!plain.ok()) return plain.status();
    text = std::move(plain).value();
  } else {
    if (!options.filekey.empty()) {
      source.warnings.push_back("the key file is not encrypted (no \"Salted__\" header): --filekey is not used");
    }
    text = crypto::SecureBuffer::CopyOf(content);
  }
  const char* p = reinterpret_cast<const char*>(text.data());
  const char* end = p + text.size();
  size_t line_no = 0;
  bool have_key_1 = false;
  while (p < end) {
    ++line_no;
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    ImportItem item;
    if (ParseLine(p, eol, line_no, &item)) {
      have_key_1 = have_key_1 || (item.name == "1" && item.error.empty());
      source.items.push_back(std::move(item));
    }
    p = eol == end ? end : eol + 1;
  }
  if (source.items.empty()) {
    source.warnings.push_back("the key file holds no keys");
  } else if (!have_key_1) {
    source.warnings.push_back("the key file has no key id 1, which file_key_management requires to start; was it "
                              "the file the server used?");
  }
  CheckItems(source);
  return source;
}

}  // namespace keyring_locker::import
