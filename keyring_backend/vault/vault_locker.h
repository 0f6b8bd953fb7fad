// VaultLocker: one session with HashiCorp Vault or OpenBao (HTTP client,
// login, mount checks), in both locker roles: the document backend of the KV
// store (DocumentKeyStore over its KV mount; v2 preferred: create-only writes
// with cas=0; v1 supported with check-then-write) and the Transit calls of
// TransitWrapper (a key-encryption key that never leaves the locker). A
// reader of the KV mount without Transit decrypt rights learns nothing
// (separation of duties).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "keyring_backend/auth/authenticator.h"
#include "keyring_backend/config/config.h"
#include "keyring_backend/http/http_client.h"
#include "keyring_backend/store/document_backend.h"

namespace keyring_locker {

struct WrappedKey {
  crypto::SecureBuffer plaintext;  // the key itself
  std::string ciphertext;          // the same key wrapped by the Transit key
};

class VaultLocker : public DocumentBackend {
 public:
  // `http` and `auth` must outlive the locker. Connect() must succeed before use.
  VaultLocker(VaultOptions options, HttpClient* http, Authenticator* auth);

  // Detects the KV version when options say "auto" (sys/internal/ui/mounts,
  // falling back to sys/mounts) and checks that both mounts exist, so
  // permission problems show at startup, not at the first rotation. All of
  // its requests share one timeouts.total_ms (or the caller's shorter one).
  Status Connect() override;
  // Connect() on first use when it could not run at startup (locker down).
  Status EnsureConnected();
  int kv_version() const { return kv_version_.load(); }

  std::string Describe() const override;
  Status Store(const std::string& path, const nlohmann::json& document) override;
  StatusOr<nlohmann::json> Fetch(const std::string& path) override;
  StatusOr<std::vector<std::string>> List(const std::string& prefix) override;
  Status Remove(const std::string& path) override;
  // Transit, with the configured key. `context` is bound where the Transit
  // key is a derived key (it is not by default: docs/locker-setup.md).
  StatusOr<std::string> Wrap(const crypto::SecureBuffer& plaintext, const std::string& context);
  StatusOr<crypto::SecureBuffer> Unwrap(const std::string& ciphertext, const std::string& context);
  // Unwrap for many ciphertexts: Transit's batch_input, kUnwrapBatchSize
  // items per request; one result per item, in order.
  static constexpr size_t kUnwrapBatchSize = 100;
  std::vector<StatusOr<crypto::SecureBuffer>> UnwrapBatch(const std::vector<std::pair<std::string, std::string>>& items);
  StatusOr<WrappedKey> GenerateDataKey(size_t bytes, const std::string& context);
  const VaultOptions& options() const { return options_; }
  StatusOr<LockerHealth> Health() override;
  KeyHomeIdentity Identity() const override;

 private:
  struct Reply {
    long status = 0;
    nlohmann::json body;  // null when the body was empty
    std::string endpoint;
    // A 403 after which getting a new token failed: why (an expired or
    // used-up AppRole secret ID, say), so the error says more than "403".
    std::string refresh_error;
  };
  // One authenticated call. On 403 asks the Authenticator for a fresh token
  // once and retries. `body` is wiped after sending (it may carry key bytes).
  StatusOr<Reply> Call(const std::string& method, const std::string& path, std::string body = "");
  // Turns a non-2xx reply into a Status naming the operation, path and fix.
  // `capability`: what a Vault policy must grant on `path` for this call
  // (named in the 403 message, with the page that lists the policy).
  Status ErrorFor(const Reply& reply, const std::string& what, const std::string& path,
                  const char* capability) const;
  StatusOr<int> DetectKvVersion();
  // Refuses a namespace on a Vault that has none (its community edition).
  Status CheckNamespacesExist(const std::string& ns);
  std::string KvDataPath(const std::string& path) const;
  std::string KvMetadataPath(const std::string& path) const;

  VaultOptions options_;
  HttpClient* http_;
  Authenticator* auth_;
  std::atomic<int> kv_version_{0};
  // Set only by a Connect() that got through every step (KV version and
  // Transit key); until then each call runs the whole connect again.
  std::atomic<bool> connected_{false};
  // Held for one connect, which ends within timeouts.total_ms whoever runs
  // it; a server call queues only until its own deadline (timed).
  std::timed_mutex connect_mu_;
  // Callers that queued behind a failed connect share its answer instead of
  // each trying again in turn (the Nth caller would otherwise wait N request
  // budgets while the locker hangs). Written under connect_mu_; the count is
  // atomic so it can be read before queueing.
  std::atomic<uint64_t> connect_attempts_{0};
  Status last_connect_error_;
};

}  // namespace keyring_locker
