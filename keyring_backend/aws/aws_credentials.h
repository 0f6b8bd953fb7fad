// AWS credentials for signing KMS requests, found the way AWS's own tools
// look for them, each source tried in order unless one is configured:
//   env   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   file  the shared credentials file (aws_kms.credentials_file, else
//         AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials),
//         section aws_kms.profile (else AWS_PROFILE, else "default")
//   imds  the EC2 instance's role through IMDSv2: PUT /latest/api/token,
//         then GET /latest/meta-data/iam/security-credentials/<role>
// What was found is kept and looked up again before it expires (IMDS: five
// minutes before its Expiration; env and file: every minute, so a rotated
// file is picked up). A failed refresh keeps serving credentials that have
// not expired yet. Secrets never appear in messages.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::aws {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::time_t expiration = 0;  // 0: does not expire
  std::string source;          // "env", "file /path [profile]", "imds role NAME"

  AwsCredentials() = default;
  AwsCredentials(const AwsCredentials&) = default;
  AwsCredentials& operator=(const AwsCredentials&) = default;
  ~AwsCredentials();  // wipes the secret and the token
};

struct CredentialOptions {
  std::string source = "chain";  // "chain", "env", "file", "imds"
  std::string profile;           // empty: AWS_PROFILE, else "default"
  std::string file;              // empty: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials
  std::string imds_endpoint = "http://169.254.169.254";
  // IMDS answers on the instance within milliseconds; a long wait means
  // there is none (not on EC2), and the chain should say so quickly.
  std::chrono::milliseconds imds_timeout{1000};
};

// The pieces, exposed for tests. Each returns kNotFound when its source
// holds no credentials (the chain moves on), another error when it holds
// broken ones (the chain stops: a half-configured source is a mistake).
StatusOr<AwsCredentials> CredentialsFromEnvironment();
StatusOr<AwsCredentials> CredentialsFromFile(const std::string& path, const std::string& profile);
// "2026-12-05T08:00:00Z" -> time_t; -1 when it is not that form.
std::time_t ParseAwsTimestamp(const std::string& text);

class CredentialProvider {
 public:
  static StatusOr<std::unique_ptr<CredentialProvider>> Create(CredentialOptions options);

  // Credentials to sign with now; looked up again when due (see above).
  StatusOr<AwsCredentials> Get();
  // Drops what is kept: the next Get looks again (after AWS said the token
  // expired or the key is unknown).
  void Invalidate();
  std::string Describe() const;

 private:
  explicit CredentialProvider(CredentialOptions options, std::unique_ptr<HttpClient> imds);
  StatusOr<AwsCredentials> Lookup();
  StatusOr<AwsCredentials> FromImds();
  std::string FilePath() const;
  std::string Profile() const;

  const CredentialOptions options_;
  const std::unique_ptr<HttpClient> imds_;  // plain http to the instance; null when imds is not a source
  std::timed_mutex mu_;
  bool have_ = false;          // guarded by mu_
  AwsCredentials current_;     // guarded by mu_
  std::time_t refresh_at_ = 0; // guarded by mu_
};

}  // namespace keyring_locker::aws
