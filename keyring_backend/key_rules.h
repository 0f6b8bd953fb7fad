// KeyRules: which key types and lengths the calling server can use. A key the
// server cannot use is refused, never served: InnoDB aborts the whole server
// on a key of the wrong length (MariaDB asserts rc == MY_AES_OK on the next
// flush), so a document altered by whoever can write the locker must become
// a clear error naming the key, not a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace keyring_locker {

enum class KeyServer {
  // MySQL's keyrings (plugin and component), and the CLI: AES 16/24/32, RSA
  // 128/256/512, DSA 128/256/384, SECRET 1..16384 bytes (the rules of
  // MySQL's own keyring_file); any other type is refused.
  kMySql,
  // MariaDB's encryption plugins: AES keys of 16, 24 or 32 bytes only.
  kMariaDb,
};

struct KeyRules {
  KeyServer server = KeyServer::kMySql;

  // OK when `type` with `length` bytes is a key this server can use.
  // `what` names the key in the error ("key 18 version 2").
  Status Check(const std::string& type, size_t length, const std::string& what) const;
  // The same decision without the error: what a hot path asks before it
  // builds any message (no allocation).
  bool Allows(const std::string& type, size_t length) const;
};

}  // namespace keyring_locker
