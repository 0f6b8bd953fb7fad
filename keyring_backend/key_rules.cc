#include "keyring_backend/key_rules.h"

#include "common/printable.h"

namespace keyring_locker {
namespace {

bool OneOf(size_t n, std::initializer_list<size_t> allowed) {
  for (size_t a : allowed) {
    if (n == a) return true;
  }
  return false;
}

}  // namespace

bool KeyRules::Allows(const std::string& type, size_t length) const {
  if (server == KeyServer::kMariaDb) return type == "AES" && OneOf(length, {16, 24, 32});
  if (type == "AES") return OneOf(length, {16, 24, 32});
  if (type == "RSA") return OneOf(length, {128, 256, 512});
  if (type == "DSA") return OneOf(length, {128, 256, 384});
  if (type == "SECRET") return length >= 1 && length <= 16384;
  return false;
}

Status KeyRules::Check(const std::string& type, size_t length, const std::string& what) const {
  if (Allows(type, length)) return Status::Ok();
  const std::string got = what + " is a \"" + Printable(type, 64) + "\" key of " + std::to_string(length) + " bytes";
  if (server == KeyServer::kMariaDb) {
    return InvalidArgument(got + "; MariaDB can use only AES keys of 16, 24 or 32 bytes");
  }
  if (type != "AES" && type != "RSA" && type != "DSA" && type != "SECRET") {
    return InvalidArgument(got + "; MySQL keyrings accept only the types AES, RSA, DSA and SECRET");
  }
  return InvalidArgument(got + "; MySQL allows AES keys of 16, 24 or 32 bytes, RSA of 128, 256 or 512, "
                         "DSA of 128, 256 or 384, SECRET of 1 to 16384");
}

}  // namespace keyring_locker
