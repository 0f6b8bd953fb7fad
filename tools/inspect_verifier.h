// The per-file half of `inspect --verify` (tools/inspect_verify.h): given
// what inspect read from a file, fetch the keys it needs from the locker and
// prove they open it. Records what the file needs in a KeepSet for the "safe
// to retire" list (tools/inspect_retire.h).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "datafile/inspect.h"
#include "keyring_backend/key_service.h"
#include "plugin/mysql/mysql_key_model.h"
#include "tools/inspect_retire.h"

namespace keyring_locker {

struct KeyResult {
  std::string name;
  uint32_t version = 0;  // 0: a MySQL keyring id (its live generation)
  bool ok = false;
  std::string detail;
};

struct Verdict {
  std::string path;
  std::string summary;
  bool readable = false;  // page 0 / the log header could be read
  bool pass = false;
  std::string reason;
  std::vector<KeyResult> keys;
};

// Asks the locker at most once per key (version), and not at all once it
// stopped answering: 1,000 files under one master key cost one fetch, and a
// locker that is down costs one timeout, not one per file.
class Verifier {
 public:
  explicit Verifier(KeyService& keys) : keys_(keys), mysql_(keys) {}

  // Fills `v` (PASS/FAIL and why) for the file `r` describes.
  void Verify(const datafile::FileReport& r, Verdict& v, KeepSet& keep);

 private:
  void VerifyMySql(const datafile::MySqlEncryptionInfo& info, Verdict& v, KeepSet& keep);
  // One MariaDB key: the `exact` versions and, when `from` is not 0, every
  // version from it to the latest. Returns its part of the reason.
  std::string VerifyMaria(const std::string& name, const std::set<uint32_t>& exact, uint32_t from, Verdict& v,
                          KeepSet& keep);
  static void Finish(Verdict& v, KeyResult k);

  const StatusOr<KeyHandle>& Live(const std::string& name);
  const StatusOr<KeyHandle>& Version(const std::string& name, uint32_t version);
  const StatusOr<uint32_t>& Latest(const std::string& name);
  template <typename T, typename F>
  StatusOr<T> Ask(F ask);

  KeyService& keys_;
  mysql::KeyringOps mysql_;
  Status down_;  // set when the locker stopped answering
  std::map<std::string, StatusOr<KeyHandle>> live_;
  std::map<std::pair<std::string, uint32_t>, StatusOr<KeyHandle>> versions_;
  std::map<std::string, StatusOr<uint32_t>> latest_;
};

}  // namespace keyring_locker
