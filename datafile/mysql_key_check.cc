#include "datafile/mysql_key_check.h"

#include <cstring>

#include "crypto/crypto.h"

namespace keyring_locker::datafile {

crypto::SecureBuffer MySqlDefaultMasterKey() {
  static constexpr char kDefault[] = "DefaultMasterKey";
  crypto::SecureBuffer key(kMySqlMasterKeySize);
  std::memset(key.data(), 0, key.size());
  std::memcpy(key.data(), kDefault, sizeof kDefault - 1);
  return key;
}

StatusOr<MySqlKeyCheck> CheckMySqlMasterKey(const MySqlEncryptionInfo& info, const crypto::SecureBuffer& master_key) {
  if (master_key.size() != kMySqlMasterKeySize) {
    return InvalidArgument("the master key is " + std::to_string(master_key.size()) +
                           " bytes; InnoDB master keys are 32 (AES-256): this is not the key the file was written under");
  }
  ASSIGN_OR_RETURN(crypto::SecureBuffer plain,
                   crypto::Aes256EcbDecrypt(master_key, info.wrapped.data(), info.wrapped.size()));
  MySqlKeyCheck check;
  check.stored_crc = info.crc;
  check.computed_crc = crypto::Crc32c(plain.data(), plain.size());
  check.match = check.stored_crc == check.computed_crc;
  return check;
}

}  // namespace keyring_locker::datafile
