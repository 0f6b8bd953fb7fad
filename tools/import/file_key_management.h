// MariaDB's file_key_management key file (plugin/file_key_management in the
// server), read by the rules of the plugin's parser:
//   - one key per line: "<id>;<hex>" with id 1..4294967295 and 16, 24 or 32
//     bytes of hex (either case); whitespace before the id is skipped,
//     anything after the hex on the line is ignored;
//   - lines starting with '#' (after whitespace) and empty lines are skipped;
//   - at most 1 MiB (the plugin reads no more);
//   - optionally encrypted with file_key_management_filekey (openssl_salted.h):
//     the secret itself, or "FILE:/path" whose content up to the trailing
//     newlines (at most 256 bytes) is the secret; the key derivation as
//     file_key_management_digest / _use_pbkdf2 say (sha1 / none by default).
// The plugin has one version per id; keyring_locker's MariaDB adapter names a
// key by its decimal id, so id N becomes key "N" version 1.
#pragma once

#include <string>

#include "tools/import/import_source.h"
#include "tools/import/openssl_salted.h"

namespace keyring_locker::import {

inline constexpr size_t kFileKeyManagementMaxBytes = 1024 * 1024;

struct FileKeyManagementOptions {
  // The file key as the plugin's option takes it: "SECRET" or "FILE:/path";
  // empty when the file is plain.
  std::string filekey;
  // file_key_management_digest / file_key_management_use_pbkdf2 (MariaDB 11):
  // how the file key became the AES key; sha1 / 0 before those options existed.
  SaltedKdf kdf;
};

// Resolves "FILE:/path" to the secret in that file (the plugin's rules);
// any other value is the secret itself.
StatusOr<std::string> ResolveFileKey(const std::string& filekey);

// `content` is the key file's bytes. Errors that concern the whole file (a
// wrong file key, a truncated encrypted file, too large) are returned;
// problems of single lines become items with `error` set.
StatusOr<ImportSource> ParseFileKeyManagement(const std::string& content, const FileKeyManagementOptions& options);

}  // namespace keyring_locker::import
