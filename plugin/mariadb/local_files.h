// The files on this host the plugin reads at start (token, AppRole secret
// ID, TLS CA / client certificate / key, KMIP's), checked before any locker
// is asked: a file mariadbd cannot read is a problem here, and the start
// failure must say so instead of sending the operator to the locker
// (issue #16: a secret-id file unreadable by the mysql user was reported as
// "cannot start without the locker ... wait until the locker is reachable
// and unsealed").
#pragma once

#include <string>

#include "keyring_backend/config/config.h"

namespace keyring_locker::mariadb {

// Empty when every local file the config names can be opened for reading
// as a regular file; otherwise "<setting> '<path>': <reason>; fix: <fix>"
// for the first one that cannot. Opens without blocking (a FIFO does not
// hang the start) and reads nothing.
std::string LocalFileProblem(const Config& config);

// The start-failure lines of InitEncryption. `retry` ends them: what to do
// once the problem is fixed (mariadb-backup loads the plugin too, and there
// "start the server again" would send the operator to the wrong program).
constexpr const char* kRetryServer = "start the server again";
constexpr const char* kRetryBackup = "run mariadb-backup again";
std::string LocalStartFailure(const std::string& problem, const std::string& retry = kRetryServer);
std::string LockerStartFailure(const Status& status, const std::string& retry = kRetryServer);

}  // namespace keyring_locker::mariadb
