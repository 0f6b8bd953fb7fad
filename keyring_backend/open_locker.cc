#include "keyring_backend/open_locker.h"

#include "keyring_backend/aws/aws_kms_wrapper.h"
#include "keyring_backend/azure/key_vault_wrapper.h"
#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/kmip/kmip_key_store.h"
#include "keyring_backend/kmip/kmip_wrapper.h"
#include "keyring_backend/store/directory_backend.h"
#include "keyring_backend/store/document_key_store.h"
#include "keyring_backend/vault/transit_wrapper.h"
#include "keyring_backend/vault/vault_locker.h"
#include "keyring_backend/wrapper/no_wrapper.h"

namespace keyring_locker {

aws::KmsClientOptions AwsKmsClientOptions(const Config& config) {
  const AwsKmsOptions& a = config.aws_kms;
  aws::KmsClientOptions o;
  o.regions = a.regions;
  o.endpoints = a.endpoints;
  o.credentials = a.credentials;
  // The config's one set of timeouts, retries and limits; TLS of its own
  // (the tls group is Vault's).
  o.http.connect_timeout = config.http.connect_timeout;
  o.http.total_timeout = config.http.total_timeout;
  o.http.max_retries = config.http.max_retries;
  o.http.backoff_initial = config.http.backoff_initial;
  o.http.backoff_max = config.http.backoff_max;
  o.http.max_response_bytes = config.http.max_response_bytes;
  o.http.tls.verify = a.verify;
  o.http.tls.ca_file = a.ca_file;
  return o;
}

StatusOr<KeyLocker> OpenKeyLocker(const Config& config, HttpClient* http, Authenticator* auth,
                                  std::shared_ptr<kmip::KmipClient> kmip) {
  const LockerRoles& roles = config.roles;
  // One Vault session (HTTP client, token) serves both roles when both are Vault's.
  std::shared_ptr<VaultLocker> vault;
  if (roles.UsesVault()) {
    if (http == nullptr || auth == nullptr) return Internal("the Vault locker needs an HTTP client and a login");
    vault = std::make_shared<VaultLocker>(config.vault, http, auth);
  }
  // Likewise one KMIP client (one persistent TLS connection).
  if (roles.UsesKmip() && kmip == nullptr) {
    ASSIGN_OR_RETURN(std::unique_ptr<kmip::KmipClient> client, kmip::KmipClient::Open(config.kmip));
    kmip = std::move(client);
  }
  KeyLocker pair;
  if (roles.store == "vault") {
    pair.store = std::make_unique<DocumentKeyStore>(vault, config.keys.prefix, config.keys.scope);
  } else if (roles.store == "directory") {
    DirectoryBackendOptions options;
    options.root = roles.directory;
    ASSIGN_OR_RETURN(std::unique_ptr<DirectoryBackend> files, DirectoryBackend::Open(options));
    pair.store = std::make_unique<DocumentKeyStore>(std::shared_ptr<DocumentBackend>(std::move(files)),
                                                    config.keys.prefix, config.keys.scope);
  } else if (roles.store == "kmip") {
    KmipStoreOptions options;
    options.prefix = config.keys.prefix;
    options.scope = config.keys.scope;
    options.abandoned_after = config.kmip.abandoned_after;
    ASSIGN_OR_RETURN(pair.store, KmipKeyStore::Open(kmip, options));
  } else {
    return InvalidArgument("store.type \"" + roles.store + "\" is not available in this build; use \"vault\"");
  }
  if (roles.wrapper == "vault") {
    pair.wrapper = std::make_unique<TransitWrapper>(vault);
  } else if (roles.wrapper == "kmip") {
    ASSIGN_OR_RETURN(pair.wrapper, KmipWrapper::Open(kmip, config.kmip.wrapping_key));
  } else if (roles.wrapper == "azure_key_vault") {
    ASSIGN_OR_RETURN(pair.wrapper, AzureKeyVaultWrapper::Open(config.azure));
  } else if (roles.wrapper == "aws_kms") {
    ASSIGN_OR_RETURN(std::unique_ptr<aws::AwsKmsClient> client, aws::AwsKmsClient::Open(AwsKmsClientOptions(config)));
    AwsKmsWrapperOptions options;
    options.key_id = config.aws_kms.key_id;
    options.scope = config.keys.prefix + "/" + config.keys.scope;
    ASSIGN_OR_RETURN(pair.wrapper, AwsKmsWrapper::Open(std::move(client), std::move(options)));
  } else if (roles.wrapper == "none") {
    pair.wrapper = std::make_unique<NoWrapper>();
  } else {
    return InvalidArgument("wrapper.type \"" + roles.wrapper + "\" is not available in this build; use \"vault\"");
  }
  return pair;
}

}  // namespace keyring_locker
