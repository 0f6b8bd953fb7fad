// Reading a secret (token, AppRole secret_id) from a file or an environment
// variable, with the checks that keep it secret: the file must not be
// readable by group or others, and it must not be empty.
#pragma once

#include <string>

#include "common/status.h"
#include "crypto/secure_buffer.h"
#include "crypto/secure_buffer.h"

namespace keyring_locker::auth {

// Contents without trailing whitespace/newlines. `option` names the config
// field ("auth.token_file") in errors. Refuses mode & 077 with
// kPermissionDenied ("chmod 600 <file>").
StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& option);

// getenv(name) without trailing whitespace; unset or empty -> kUnauthenticated.
StatusOr<std::string> ReadSecretEnv(const std::string& name, const std::string& option);

// Tokens and secret IDs never linger in freed memory.
inline void Wipe(std::string* secret) { crypto::WipeString(secret); }

}  // namespace keyring_locker::auth
