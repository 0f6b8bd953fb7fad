// File access for the config: the config file itself and the small secret
// files it points at, through the shared reader (common/safe_file.h:
// non-blocking open, regular files only, size cap). Internal to
// keyring_backend/config.
#pragma once

#include <string>

#include "common/status.h"

namespace keyring_locker::config_internal {

// keyring_locker::ReadSecretFile for a config field: the path must be
// absolute, errors are kInvalidArgument, name `field` and the path, never the
// content. Messages are not prefixed with a source; callers add it.
StatusOr<std::string> ReadSecretFile(const std::string& path, const std::string& field);

// Reads the config file; refuses a world-writable one. Errors carry the path
// and the errno text.
StatusOr<std::string> ReadConfigText(const std::string& path);

}  // namespace keyring_locker::config_internal
