#include "keyring_backend/http/endpoint.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace keyring_locker::http {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlString {
  char* p = nullptr;
  ~CurlString() { curl_free(p); }
  std::string str() const { return p ? std::string(p) : std::string(); }
};

// Reads one URL part; "absent" is not an error for optional parts.
bool GetPart(CURLU* u, CURLUPart part, std::string* out, unsigned flags = 0) {
  CurlString s;
  if (curl_url_get(u, part, &s.p, flags) != CURLUE_OK) return false;
  *out = s.str();
  return true;
}

struct Parts {
  std::string scheme, host, port, path, query, fragment, user;
};

StatusOr<Parts> Split(const std::string& url, std::string* why) {
  UrlHandle u(curl_url());
  if (!u) return Internal("libcurl could not allocate a URL handle (out of memory?)");
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) {
    *why = curl_url_strerror(rc);
    return InvalidArgument(*why);
  }
  Parts p;
  GetPart(u.get(), CURLUPART_SCHEME, &p.scheme);
  GetPart(u.get(), CURLUPART_HOST, &p.host);
  GetPart(u.get(), CURLUPART_PORT, &p.port, CURLU_DEFAULT_PORT);
  GetPart(u.get(), CURLUPART_PATH, &p.path);
  GetPart(u.get(), CURLUPART_QUERY, &p.query);
  GetPart(u.get(), CURLUPART_FRAGMENT, &p.fragment);
  GetPart(u.get(), CURLUPART_USER, &p.user);
  std::transform(p.scheme.begin(), p.scheme.end(), p.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::transform(p.host.begin(), p.host.end(), p.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // libcurl keeps the brackets of an IPv6 literal; compare hosts without them.
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']')
    p.host = p.host.substr(1, p.host.size() - 2);
  return p;
}

Endpoint MakeEndpoint(const Parts& p) {
  Endpoint e;
  e.scheme = p.scheme;
  e.host = p.host;
  e.port = std::atoi(p.port.c_str());
  const bool v6 = e.host.find(':') != std::string::npos;
  e.base = e.scheme + "://" + (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
  return e;
}

}  // namespace

StatusOr<Endpoint> ParseEndpoint(const std::string& url, bool allow_plain_http,
                                 const std::string& option) {
  const std::string fix = "write it as https://host:port, e.g. https://vault.example.com:8200";
  if (url.empty()) return InvalidArgument(option + " is empty; " + fix);
  // Without "://" libcurl would guess a scheme; a locker URL must say it.
  if (url.find("://") == std::string::npos)
    return InvalidArgument(option + " ('" + url + "') has no scheme; " + fix);
  std::string why;
  StatusOr<Parts> parts = Split(url, &why);
  if (!parts.ok()) {
    if (parts.status().code() == Code::kInternal) return parts.status();
    return InvalidArgument(option + " ('" + url + "') is not a valid URL (" + why + "); " + fix);
  }
  const Parts& p = *parts;
  if (p.scheme != "https" && !(allow_plain_http && p.scheme == "http"))
    return InvalidArgument(option + " ('" + url + "') uses scheme '" + p.scheme +
                           "'; only https is allowed because tokens and keys cross this link; " + fix);
  if (p.host.empty()) return InvalidArgument(option + " ('" + url + "') has no host; " + fix);
  if (!p.user.empty())
    return InvalidArgument(option + " has user info in the URL; remove it (credentials belong in auth.*)");
  if ((!p.path.empty() && p.path != "/") || !p.query.empty() || !p.fragment.empty())
    return InvalidArgument(option + " ('" + url + "') has a path, query or fragment; give only "
                           "the base, e.g. https://vault.example.com:8200 (keyring_locker adds /v1/...)");
  return MakeEndpoint(p);
}

StatusOr<Endpoint> ParseOrigin(const std::string& url) {
  std::string why;
  StatusOr<Parts> parts = Split(url, &why);
  if (!parts.ok()) return parts.status();
  if (parts->host.empty()) return InvalidArgument("URL has no host");
  return MakeEndpoint(*parts);
}

}  // namespace keyring_locker::http
