// What every import format's reader produces: the keys a source holds, each
// already named and versioned the way the keyring_locker adapter for that
// server will ask for it, or the reason it cannot be imported. Readers never
// write anything; import_run.h decides what goes into the locker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/key_rules.h"

namespace keyring_locker::import {

// How the server addresses a key's versions, and so how it is written.
enum class KeyModel {
  // MariaDB: (key id, version) pairs; each imported version keeps its number.
  kVersioned,
  // MySQL: one live key per (key id, user); written as a new generation
  // (KeyService::CreateGeneration), the number the locker gives it.
  kGenerations,
};

struct ImportItem {
  std::string name;      // the KeyService name the adapter uses
  uint32_t version = 0;  // kVersioned: the source's version; kGenerations: 0 (the locker numbers it)
  std::string type = "AES";
  crypto::SecureBuffer bytes;
  std::string origin;    // where in the source: "line 3", "key #2 at byte 24", "KV version 2 of secret 7"
  std::string error;     // set: refused while reading (bytes empty or not to be used)
};

struct ImportSource {
  KeyServer server = KeyServer::kMariaDb;  // whose key rules apply
  KeyModel model = KeyModel::kVersioned;
  std::vector<ImportItem> items;
  std::vector<std::string> warnings;  // about the whole source; never key bytes
};

// Hex digits (either case) to bytes; an odd count or a non-hex character is
// an error naming its position, never the text.
StatusOr<crypto::SecureBuffer> DecodeHexKey(const std::string& hex);

// Marks, in place, the items the server could not use (KeyRules of
// `source.server`) and every item whose (name, version) appears more than
// once: the import cannot know which of them the server used. kGenerations
// items are compared by name.
void CheckItems(ImportSource& source);

// Wipes a string that held secret text (a key file's content).
void WipeString(std::string& s);

}  // namespace keyring_locker::import
