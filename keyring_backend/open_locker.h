// OpenKeyLocker: the one place where a configuration picks where keys live
// (a KeyStore) and who wraps them (a KeyWrapper). Adding a locker means a
// store and/or a wrapper in their own folder, a config section, and a case
// here; nothing above KeyService changes (docs/architecture.md).
#pragma once

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/aws/aws_kms_client.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/key_service.h"
#include "keyring_backend/kmip/kmip_client.h"

namespace keyring_locker {

// `http` and `auth` are the Vault session's (they must outlive the pair);
// null for a configuration without one. `kmip`: the KMIP client both roles
// share, when the caller opened it (Backend does, for its status); null
// opens one here when a role uses KMIP.
// The AWS KMS client's options from the config (aws_kms group, timeouts,
// retries, limits); exposed so tests can open a client like the server's.
aws::KmsClientOptions AwsKmsClientOptions(const Config& config);

StatusOr<KeyLocker> OpenKeyLocker(const Config& config, HttpClient* http, Authenticator* auth,
                                  std::shared_ptr<kmip::KmipClient> kmip = nullptr);

}  // namespace keyring_locker
