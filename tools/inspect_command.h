// `keyring-locker inspect`: which keys (and key versions) InnoDB files need.
#pragma once

#include <string>
#include <vector>

namespace keyring_locker {

extern const char* const kInspectUsage;

// args: everything after "inspect". Exit status: 0 all files read (and, with
// --check, every needed key version is in the locker), 1 a needed key is
// missing, a record of the scope is damaged ("damaged: NAME vN: why") or the
// locker could not be asked, 2 some file could not be read, 64 usage.
int RunInspect(const std::vector<std::string>& args);

}  // namespace keyring_locker
