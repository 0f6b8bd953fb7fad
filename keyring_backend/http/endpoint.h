// Endpoint: one parsed locker base URL ("https://host:port"). Parsing goes
// through libcurl's URL API so that what we validate is exactly what libcurl
// will later connect to (no second, hand-written URL grammar to drift apart).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace keyring_locker::http {

struct Endpoint {
  std::string scheme;  // "https" (or "http" in unit tests)
  std::string host;    // lower-case, IPv6 without brackets
  int port = 0;        // explicit or the scheme default
  std::string base;    // "scheme://host:port", no trailing slash

  bool SameOrigin(const Endpoint& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
};

// Parses a configured endpoint. `option` names it in errors ("locker.urls[1]").
// Accepts only scheme://host[:port][/] -- a path, query, fragment or user
// info is refused because requests append "/v1/..." to the base.
StatusOr<Endpoint> ParseEndpoint(const std::string& url, bool allow_plain_http,
                                 const std::string& option);

// Parses an absolute URL (e.g. a redirect Location) down to its origin; any
// path is ignored. Fails for relative or unparsable URLs.
StatusOr<Endpoint> ParseOrigin(const std::string& url);

}  // namespace keyring_locker::http
