// Validation of HttpOptions before any connection is attempted, so a typo in
// the configuration fails at startup with the option's JSON name and the fix
// rather than at the first key fetch.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/http/endpoint.h"
#include "keyring_backend/http/http_client.h"

namespace keyring_locker::http {

// On success fills `endpoints` with the parsed locker.urls, in order.
Status ValidateHttpOptions(const HttpOptions& options, std::vector<Endpoint>* endpoints);

// One line for the server log: endpoints, TLS mode, timeouts. Never secrets
// (the key password is only reported as set/unset).
std::string DescribeHttpOptions(const HttpOptions& options);

// Non-empty when the options are dangerous (TLS verification off, plain
// http); the caller logs it as a warning.
std::string HttpOptionsWarning(const HttpOptions& options);

}  // namespace keyring_locker::http
