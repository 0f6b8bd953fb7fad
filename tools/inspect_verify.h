// `keyring-locker inspect --verify`: for each InnoDB file, proves that the key
// the locker holds really opens it, then lists the key versions no inspected
// file needs ("safe to retire", a report only).
//   MySQL (tablespaces, undo, ibdata, redo with an encryption information
//   block): fetches the master key the block names, the way the MySQL
//   adapters name it (plugin/mysql/mysql_key_model.h), unwraps the file's
//   tablespace key with it and checks the CRC-32C (datafile/mysql_key_check.h).
//   MariaDB: fetches every key version the file needs (page 0's
//   min_key_version..latest, or with --pages the versions the pages carry);
//   each fetch unwraps the key and runs the envelope's checks. No page is
//   decrypted: docs/inspect.md says what this does and does not prove.
#pragma once

#include <string>
#include <vector>

#include "datafile/inspect.h"
#include "tools/cli.h"

namespace keyring_locker {

struct VerifyArgs {
  datafile::InspectOptions inspect;
  std::vector<std::string> paths;
};

// Exit status: 0 every file PASS, 1 some file FAILs (a key missing, wrong or
// damaged, or the locker could not be asked), 2 some file could not be read
// and none failed otherwise, 64 usage.
int RunInspectVerify(const Cli& cli, const VerifyArgs& args);

}  // namespace keyring_locker
