// Reading a secret (token, AppRole secret_id) from an environment variable.
// Secret files are read by keyring_locker::ReadSecretFile (common/safe_file.h),
// shared with the config.
#pragma once

#include <string>

#include "common/safe_file.h"
#include "common/status.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::auth {

// getenv(name) without trailing whitespace; unset or empty -> kUnauthenticated;
// an inner CR/LF/control character -> kInvalidArgument.
StatusOr<std::string> ReadSecretEnv(const std::string& name, const std::string& option);

// Tokens and secret IDs never linger in freed memory.
inline void Wipe(std::string* secret) { crypto::WipeString(secret); }

}  // namespace keyring_locker::auth
