// Test support: moto's AWS stand-in (moto_server from PyPI's moto[server],
// installed by scripts/deps.sh into a venv in the cache folder) over HTTPS
// with a test CA, started and stopped through tests/aws/moto_server.py.
// Without moto those tests skip, unless KLK_REQUIRE_MOTO is set
// (scripts/test.sh sets it), in which case they fail.
//
// moto 5.1.18 binds the encryption context, but checks no signature and
// no key state (a disabled key still encrypts): the disabled-key case is
// played by a stand-in in aws_kms_test.cc, the signature by
// tests/unit/aws_sigv4_test.cc.
#pragma once

#include <memory>
#include <string>

#include "keyring_backend/aws/aws_kms_client.h"

namespace keyring_locker::testing {

class MotoServer {
 public:
  static bool Installed();
  static bool Required() { return std::getenv("KLK_REQUIRE_MOTO") != nullptr; }
  // nullptr and `error` when it does not start.
  static std::unique_ptr<MotoServer> Start(std::string* error);
  ~MotoServer();  // stops it and removes its folder

  const std::string& url() const { return url_; }
  const std::string& ca_file() const { return ca_; }

  // Client options for our client against this server (region us-east-1,
  // TLS verified against the test CA, credentials from the environment,
  // which this sets to moto's dummy ones).
  aws::KmsClientOptions ClientOptions() const;
  std::shared_ptr<aws::AwsKmsClient> NewClient() const;
  // CreateKey: a new symmetric key's ARN (empty + ADD_FAILURE on error).
  std::string CreateKey() const;

 private:
  std::string dir_, url_, ca_;
};

// One server for the test program, started on first use, stopped at exit.
// nullptr with `Unavailable()` saying why.
MotoServer* SharedMoto();
std::string MotoUnavailable();

}  // namespace keyring_locker::testing
