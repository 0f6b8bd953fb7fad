// Per-group parsers shared between config.cc and config_auth_tls.cc.
// Internal to keyring_backend/config.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/config/config_reader.h"

namespace keyring_locker::config_internal {

// https only; normalises away a trailing '/'; refuses paths, credentials and
// duplicates. `group` is the locker group (errors name locker.urls[i]).
Status CheckUrls(const GroupReader& group, std::vector<std::string>* urls);
// Reads tls.*, including client_key_password_file (read now, see config.md).
Status ParseTls(const GroupReader& root, Config* config);
// Reads auth.*; needs tls already parsed (cert auth needs a client cert).
Status ParseAuth(const GroupReader& root, Config* config);
// Reads store.* and wrapper.*, and refuses groups of lockers no role uses.
Status ParseRoles(const GroupReader& root, Config* config);
// Reads kmip.*; needs roles and timeouts already parsed.
Status ParseKmip(const GroupReader& root, Config* config);
// Reads azure.*; needs roles and timeouts already parsed (config_azure.cc).
Status ParseAzure(const GroupReader& root, Config* config);
// Reads aws_kms.*; needs roles already parsed.
Status ParseAwsKms(const GroupReader& root, Config* config);

}  // namespace keyring_locker::config_internal
