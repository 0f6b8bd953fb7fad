#include "keyring_backend/auth/secret_source.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>


namespace keyring_locker::auth {
namespace {

void StripTrailingSpace(std::string* s) {
  size_t end = s->size();
  while (end > 0 && (std::strchr(" \t\r\n", (*s)[end - 1]) != nullptr)) --end;
  if (end < s->size()) OPENSSL_cleanse(s->data() + end, s->size() - end);
  s->resize(end);
}

}  // namespace

StatusOr<std::string> ReadSecretEnv(const std::string& name, const std::string& option) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || value[0] == '\0')
    return Unauthenticated(option + ": environment variable " + name +
                           " is not set or empty; export it in the server's environment");
  std::string secret(value);
  StripTrailingSpace(&secret);
  if (secret.empty())
    return Unauthenticated(option + ": environment variable " + name + " holds only whitespace");
  Status one_line = CheckSingleLineSecret(secret, option + ": environment variable " + name);
  if (!one_line.ok()) {
    Wipe(&secret);
    return one_line;
  }
  return secret;
}

}  // namespace keyring_locker::auth
