// "Which keys do these files need?": one report per InnoDB data file or redo
// log, from page 0 / the log header (and optionally every page), without any
// key. Used by `keyring-locker inspect`; never throws, never reads outside
// the file's bytes, and a file that is not InnoDB's gets a report that says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "datafile/mysql_encryption.h"

namespace keyring_locker::datafile {

// A key a file cannot be read without, named as the locker names it: "1" for
// MariaDB's ENCRYPTION_KEY_ID 1 (the plugin's key name), "INNODBKey-<uuid>-<id>"
// for a MySQL master key.
struct KeyNeed {
  enum class Kind {
    kExact,        // exactly `version` (a page or the redo log was written with it)
    kFromVersion,  // `version` and every later one up to the latest (MariaDB
                   // min_key_version without a page scan: pages may use any of them)
    kAnyVersion,   // MySQL master keys: the name itself
  };
  std::string name;
  Kind kind = Kind::kExact;
  uint32_t version = 0;
};

struct FileReport {
  std::string path;
  std::string summary;  // "MariaDB tablespace (full_crc32, 16K pages, space 5): encrypted, key 2 ..."
  std::vector<KeyNeed> needs;
  // MySQL files: the encryption information block (what `inspect --verify`
  // unwraps with the master key it names).
  std::optional<MySqlEncryptionInfo> mysql_info;
  Status error;         // not OK: the file could not be inspected (message names why)
};

struct InspectOptions {
  bool scan_pages = false;  // read every page for the key versions actually present
};

FileReport InspectFile(const std::string& path, const InspectOptions& options);

// Expands the command line: files stay as given; a directory contributes the
// InnoDB files a datadir holds (ibdata*, undo*, ib_logfile*, #innodb_redo/
// #ib_redo*, *.ibd, *.ibu; ibtmp1 is recreated at each start and skipped),
// searched two levels deep (datadir/db/table.ibd). Sorted, no duplicates.
// Paths that do not exist or cannot be listed land in `problems`.
std::vector<std::string> CollectInnodbFiles(const std::vector<std::string>& paths, std::vector<std::string>& problems);

// "key 1 version 3", "key 1 versions 2..latest", "keyring id INNODBKey-...".
std::string DescribeNeed(const KeyNeed& need);

}  // namespace keyring_locker::datafile
