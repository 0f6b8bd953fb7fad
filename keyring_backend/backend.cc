#include "keyring_backend/backend.h"

#include "keyring_backend/azure/key_vault_wrapper.h"
#include "keyring_backend/http/curl_resources.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/open_locker.h"
#include "keyring_backend/vault/vault_leader_routing.h"
#include "keyring_backend/vault/vault_namespace.h"

namespace keyring_locker {

StatusOr<std::unique_ptr<Backend>> Backend::Open(const Config& config, bool require_locker, bool read_versions) {
  std::unique_ptr<Backend> b(new Backend());
  b->config_ = config;
  if (config.roles.UsesVault()) {  // the Vault session: one HTTP client, one login
    ASSIGN_OR_RETURN(b->http_, HttpClient::Create(
        WithVaultLeaderRedirects(WithVaultNamespace(config.http, config.vault.ns))));
    if (std::string w = http::CurlMemoryWarning(); !w.empty()) b->warnings_.push_back(std::move(w));
    ASSIGN_OR_RETURN(b->auth_, Authenticator::Create(config.auth, b->http_.get()));
  }

  std::unique_ptr<AuditLog> audit;
  const std::string actor = config.audit.actor.empty() ? DefaultAuditActor() : config.audit.actor;
  if (!config.audit.path.empty()) {
    AuditOptions opts = config.audit;
    opts.actor = actor;
    ASSIGN_OR_RETURN(audit, AuditLog::Open(opts));
  }
  if (config.roles.UsesKmip()) {  // one KMIP client (one TLS connection) for both roles
    ASSIGN_OR_RETURN(std::unique_ptr<kmip::KmipClient> client, kmip::KmipClient::Open(config.kmip));
    b->kmip_ = std::move(client);
  }
  ASSIGN_OR_RETURN(KeyLocker locker, OpenKeyLocker(config, b->http_.get(), b->auth_.get(), b->kmip_));
  if (config.roles.UsesAzure() && !config.roles.UsesVault()) {  // libcurl came up with the Azure wrapper
    if (std::string w = http::CurlMemoryWarning(); !w.empty()) b->warnings_.push_back(std::move(w));
  }
  b->keys_ = std::make_unique<KeyService>(std::move(locker), config.keys, config.cache, std::move(audit), actor,
                                          config.call_budget());

  // Reaching the locker: login, mount checks, the scope's versions. A
  // permission or mount problem is always fatal (it would not fix itself);
  // an unreachable locker is fatal only when the caller requires it. Each
  // step bounds its own requests; an adapter that opens the backend on a
  // server thread puts the whole start under one budget (OperationDeadline).
  Status s = b->auth_ ? b->auth_->Login() : Status::Ok();
  if (s.ok()) s = b->keys_->store().Connect();
  if (s.ok()) s = b->keys_->wrapper().Connect();
  bool versions_cut = false;
  if (s.ok() && read_versions) {
    s = b->keys_->RefreshVersions(Sweep::kPerRequest);
    // Under the caller's one budget (a server start, a component reload) a
    // read of a large scope may not fit although the locker answers: login
    // and mount checks passed, so it is not fatal; the background refresh
    // reads the rest at once.
    if (s.code() == Code::kDeadlineExceeded && OperationDeadline::Current().has_value()) {
      b->warnings_.push_back("the latest versions of this scope's keys were not all read within timeouts.total_ms=" +
                             std::to_string(config.http.total_timeout.count()) +
                             " ms; the background refresh reads them now, and a key not read yet is asked for "
                             "on first use. Nothing to fix unless key requests time out too. Cause: " +
                             s.ToString());
      versions_cut = true;
      s = Status::Ok();
    }
  }
  const bool transient = s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
  if (!s.ok() && (require_locker || !transient)) return s;
  if (b->auth_) b->auth_->StartRenewal();
  b->keys_->StartBackgroundRefresh();
  if (versions_cut) b->keys_->RefreshSoon();
  return b;
}

Backend::~Backend() {
  if (keys_) keys_->StopBackgroundRefresh();
  if (auth_) auth_->StopRenewal();
}

BackendStatus Backend::status() const {
  BackendStatus s;
  s.keys = keys_->stats();
  if (http_) s.http = http_->stats();
  if (kmip_ && (config_.roles.store == "kmip" || !http_)) {
    const kmip::KmipClientStats k = kmip_->stats();
    s.http.requests = k.transport.requests;
    s.http.retries = k.retries;
    s.http.failovers = k.transport.failovers;
    s.http.errors = k.transport.errors;
    s.http.active_endpoint = k.transport.active_server;
  }
  if (config_.roles.UsesAzure() && !http_) {  // the directory store: Key Vault is the one locker reached
    if (const auto* azure = dynamic_cast<const AzureKeyVaultWrapper*>(&keys_->wrapper())) s.http = azure->http_stats();
  }
  if (auth_) s.auth = auth_->info();
  s.tls_verify = !(config_.roles.UsesVault() && !config_.http.tls.verify) &&
                 !(config_.roles.UsesKmip() && !config_.kmip.transport.verify_peer) &&
                 !(config_.roles.UsesAwsKms() && !config_.aws_kms.verify) &&
                 !(config_.roles.UsesAzure() && !config_.azure.http.tls.verify);
  s.locker = keys_->Describe();
  return s;
}

}  // namespace keyring_locker
