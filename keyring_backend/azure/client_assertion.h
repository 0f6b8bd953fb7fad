// The client assertion a service principal with a certificate credential
// sends instead of a secret (Microsoft identity platform, "certificate
// credentials"; OpenID Connect private_key_jwt): a JWT signed PS256 with
// the certificate's RSA key, naming the certificate by its SHA-256
// thumbprint (header x5t#S256), for the token endpoint as audience.
//
// Written with OpenSSL directly: there is no JWT library in the Debian C++
// packages this project builds with, and the JWT needed here is one fixed
// shape (three claims sets, one algorithm).
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace keyring_locker::azure {

struct AssertionRequest {
  std::string certificate_file;  // PEM: the RSA private key and its certificate, unencrypted
  std::string option;            // "azure.certificate_file", for messages
  std::string client_id;         // iss and sub
  std::string audience;          // the token endpoint URL
  std::chrono::seconds lifetime{600};
};

// The signed JWT (a secret for as long as it is valid: the caller wipes it).
StatusOr<std::string> MakeClientAssertion(const AssertionRequest& request);

// Reads the file once to tell a bad one at start: an RSA key and a
// certificate whose public key it is.
Status CheckCertificateFile(const std::string& path, const std::string& option);

}  // namespace keyring_locker::azure
