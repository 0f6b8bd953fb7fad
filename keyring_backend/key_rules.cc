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

Status KeyRules::Check(const std::string& type, size_t length, const std::string& what) const {
  const std::string got = what + " is a \"" + Printable(type, 64) + "\" key of " + std::to_string(length) + " bytes";
  if (server == KeyServer::kMariaDb) {
    if (type != "AES" || !OneOf(length, {16, 24, 32})) {
      return InvalidArgument(got + "; MariaDB can use only AES keys of 16, 24 or 32 bytes");
    }
    return Status::Ok();
  }
  bool ok = false;
  if (type == "AES") {
    ok = OneOf(length, {16, 24, 32});
  } else if (type == "RSA") {
    ok = OneOf(length, {128, 256, 512});
  } else if (type == "DSA") {
    ok = OneOf(length, {128, 256, 384});
  } else if (type == "SECRET") {
    ok = length >= 1 && length <= 16384;
  } else {
    return InvalidArgument(got + "; MySQL keyrings accept only the types AES, RSA, DSA and SECRET");
  }
  if (!ok) {
    return InvalidArgument(got + "; MySQL allows AES keys of 16, 24 or 32 bytes, RSA of 128, 256 or 512, "
                           "DSA of 128, 256 or 384, SECRET of 1 to 16384");
  }
  return Status::Ok();
}

}  // namespace keyring_locker
