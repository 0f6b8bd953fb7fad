// "Safe to retire" for `inspect --verify`: the key versions of the scope that
// none of the inspected files needs. Only a report, computed from the files
// given: backups, binary logs and other datadirs are not seen, so the caller
// prints the warning with the list, and nothing is ever retired from here.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/backend.h"

namespace keyring_locker {

// What the inspected files need, as `inspect --verify` resolved it.
struct KeepSet {
  // MariaDB keys: exact versions (pages, redo logs, and min..latest ranges
  // the verification resolved against the locker).
  std::map<std::string, std::set<uint32_t>> versions;
  // MariaDB keys whose latest version could not be read: every version from
  // this one on is kept.
  std::map<std::string, uint32_t> from;
  // MySQL keyring ids whose live generation opens every file naming them:
  // that generation is kept, older ones are not needed by these files.
  std::set<std::string> mysql_live;
  // MySQL keyring ids some file names but no generation was proven to open
  // (it failed, or was not checked): every generation is kept.
  std::set<std::string> mysql_all;
  // Master key ids of "lCA" (MySQL 5.7.11) files, which do not record the
  // server's id: every INNODBKey-*-<id> is kept.
  std::set<uint32_t> mysql_v1_ids;
};

struct RetireCandidate {
  std::string name;
  uint32_t version = 0;
  std::string why;
};

struct RetireReport {
  std::vector<RetireCandidate> candidates;
  // Names that are neither MariaDB key ids nor InnoDB master keys (binlog
  // keys, keyring functions' keys): no data file tells who uses them.
  std::vector<std::string> not_judged;
  size_t damaged = 0;  // records that failed the envelope check: never candidates
};

// Reads every record of the scope (tools/scope_records.h) and the deletion
// markers, then applies `keep`. The latest version of each MariaDB key is
// always kept: the server encrypts new pages with it.
StatusOr<RetireReport> FindRetirable(Backend& backend, const KeepSet& keep);

}  // namespace keyring_locker
