// Key binding: every key version keyring_locker wraps carries, inside the
// wrapped plaintext, the identity it belongs to (scope, name, version).
//
// Why inside the plaintext: whoever can write the KV mount but holds no
// Transit right can still copy a document to another key's path, or replace
// a document, and a `name` field in the document proves nothing. The identity
// under the locker's key-encryption key can only be changed by someone who
// can wrap. It works with every wrapper (Transit, KMIP Encrypt, a cloud
// RSA wrapKey that has no associated data) and needs no locker feature
// (Transit's associated_data exists only from Vault 1.13 on, and older
// servers silently ignore unknown fields).
//
// Wrapped plaintext ("keyring_locker/2" documents):
//   "KLKB" | 0x01 | u16 big-endian identity length | identity | key bytes
//   identity = scope '\n' name '\n' decimal version
// Names never hold '\n' (KeyService refuses them); the length prefix makes
// the split unambiguous anyway.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker {

struct KeyBinding {
  std::string scope;  // "<prefix>/<scope>"
  std::string name;
  uint32_t version = 0;

  std::string Identity() const;
  // "key 18 version 1 of scope keyring_locker/prod", for messages.
  std::string Describe() const;
};

// The plaintext to wrap for `key` bound to `binding`.
StatusOr<crypto::SecureBuffer> BindKey(const KeyBinding& binding, const crypto::SecureBuffer& key);

// The key bytes of an unwrapped plaintext, if it is bound to exactly
// `expected`; DATA_LOSS naming both identities otherwise (a copied or
// altered document).
StatusOr<crypto::SecureBuffer> UnbindKey(const KeyBinding& expected, const crypto::SecureBuffer& plaintext);

}  // namespace keyring_locker
