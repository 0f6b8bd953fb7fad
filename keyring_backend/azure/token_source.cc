#include "keyring_backend/azure/token_source.h"

#include <ctime>

#include "common/percent_escape.h"
#include "common/printable.h"
#include "common/safe_file.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/azure/client_assertion.h"
#include "keyring_backend/http/endpoint.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/json/json_fields.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker::azure {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}
std::string Escape(const std::string& s) { return PercentEscape(s, Unreserved); }

// IMDS must be reachable only on the host itself: a link-local or loopback
// address, never a name a DNS answer could point elsewhere.
bool LocalOnly(const std::string& host) {
  return host.rfind("169.254.", 0) == 0 || host.rfind("127.", 0) == 0 || host == "::1" ||
         host.rfind("fe80:", 0) == 0;
}

// The error an Entra ID / IMDS reply carries, printable and short; never
// the request (it held the secret).
std::string ReplyError(const HttpResponse& r) {
  StrictJson j = ParseStrictJson(r.body);
  std::string what = "HTTP " + std::to_string(r.status);
  if (j.ok()) {
    const std::string code = json_fields::String(j.value, "error");
    const std::string text = json_fields::String(j.value, "error_description");
    if (!code.empty()) what += " " + Printable(code, 60);
    if (!text.empty()) what += ": " + Printable(text.substr(0, text.find('\r')), 240);
    WipeJsonStrings(&j.value);
  }
  return what;
}

}  // namespace

std::string TokenSource::ResourceFor(const std::string& vault_url) {
  StatusOr<http::Endpoint> e = http::ParseOrigin(vault_url);
  if (e.ok()) {
    const std::string& host = e->host;
    const size_t dot = host.find('.');
    if (dot != std::string::npos) {
      const std::string rest = host.substr(dot + 1);
      if ((rest.rfind("vault.", 0) == 0 || rest.rfind("managedhsm.", 0) == 0) && rest.find('.') != rest.size() - 1) {
        return "https://" + rest;
      }
    }
  }
  return "https://vault.azure.net";
}

StatusOr<std::unique_ptr<TokenSource>> TokenSource::Open(const AzureOptions& options) {
  HttpOptions h = options.http;
  h.fixed_headers.clear();
  if (options.auth == AuthMethod::kManagedIdentity) {
    ASSIGN_OR_RETURN(http::Endpoint e, http::ParseEndpoint(options.imds_endpoint, true, "azure.imds_endpoint"));
    if (e.scheme == "http" && !LocalOnly(e.host)) {
      return InvalidArgument("azure.imds_endpoint \"" + options.imds_endpoint +
                             "\" is plain http to a host that is not link-local or loopback: a managed identity's "
                             "token would cross the network unencrypted. Leave it out (http://169.254.169.254)");
    }
    h.endpoints = {options.imds_endpoint};
    h.allow_plain_http = e.scheme == "http";
    // IMDS answers on the host: no CA, no client certificate.
    h.tls = TlsOptions{};
    h.tls.verify = options.http.tls.verify;
    h.tls.ca_file = options.http.tls.ca_file;
    h.naming = {"the instance metadata service (IMDS)", "azure.imds_endpoint", "azure"};
  } else {
    h.endpoints = {options.authority_host};
    h.allow_plain_http = false;
    h.naming = {"Microsoft Entra ID's token endpoint", "azure.authority_host", "azure"};
    if (options.auth == AuthMethod::kClientSecret) {
      RETURN_IF_ERROR(ReadSecretFile(options.secret_file, "azure.secret_file").status());
    } else {
      RETURN_IF_ERROR(CheckCertificateFile(options.certificate_file, "azure.certificate_file"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create(std::move(h)));
  return std::unique_ptr<TokenSource>(new TokenSource(options, std::move(http), ResourceFor(options.vault_url)));
}

TokenSource::TokenSource(AzureOptions options, std::unique_ptr<HttpClient> http, std::string resource)
    : options_(std::move(options)), http_(std::move(http)), resource_(std::move(resource)) {}

TokenSource::~TokenSource() { crypto::WipeString(&token_); }

std::string TokenSource::Describe() const {
  switch (options_.auth) {
    case AuthMethod::kClientSecret: return "client secret of " + options_.client_id;
    case AuthMethod::kClientCertificate: return "certificate of " + options_.client_id;
    case AuthMethod::kManagedIdentity:
      return "managed identity" + (options_.client_id.empty() ? std::string() : " " + options_.client_id);
  }
  return "";
}

StatusOr<std::string> TokenSource::Token(bool renew) {
  std::unique_lock<std::timed_mutex> lock = LockWithinDeadline(mu_);
  if (!lock.owns_lock()) {
    return DeadlineExceeded("waited for another thread's Azure token request until the call's budget "
                            "(timeouts.total_ms) ran out; check that " + http_->options().endpoints[0] + " answers");
  }
  const Clock::time_point now = Clock::now();
  if (!renew && !token_.empty() && now < refresh_at_) return token_;
  StatusOr<Fetched> f = Fetch();
  if (!f.ok()) {
    // A failed refresh (the login service down) must not fail calls while
    // the token in hand is still good; a refused token (renew) is not.
    if (!renew && !token_.empty() && now + std::chrono::seconds(5) < expires_at_) return token_;
    return f.status();
  }
  crypto::WipeString(&token_);
  token_ = std::move(f->token);
  expires_at_ = now + f->lifetime;
  refresh_at_ = now + f->lifetime * 2 / 3;
  fetches_.fetch_add(1);
  return token_;
}

StatusOr<TokenSource::Fetched> TokenSource::Fetch() {
  return options_.auth == AuthMethod::kManagedIdentity ? FetchFromImds() : FetchFromEntra();
}

StatusOr<TokenSource::Fetched> TokenSource::FetchFromEntra() {
  HttpRequest req;
  req.method = "POST";
  req.path = "/" + Escape(options_.tenant_id) + "/oauth2/v2.0/token";
  req.content_type = "application/x-www-form-urlencoded";
  req.body = "grant_type=client_credentials&client_id=" + Escape(options_.client_id) +
             "&scope=" + Escape(resource_ + "/.default");
  if (options_.auth == AuthMethod::kClientSecret) {
    ASSIGN_OR_RETURN(std::string secret, ReadSecretFile(options_.secret_file, "azure.secret_file"));
    std::string escaped = Escape(secret);
    req.body += "&client_secret=" + escaped;
    crypto::WipeString(&secret);
    crypto::WipeString(&escaped);
  } else {
    AssertionRequest a;
    a.certificate_file = options_.certificate_file;
    a.option = "azure.certificate_file";
    a.client_id = options_.client_id;
    a.audience = options_.authority_host + req.path;
    ASSIGN_OR_RETURN(std::string assertion, MakeClientAssertion(a));
    req.body += "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                "&client_assertion=" + assertion;  // base64url and dots: nothing to escape
    crypto::WipeString(&assertion);
  }
  StatusOr<HttpResponse> r = http_->Send(req);
  crypto::WipeString(&req.body);
  const std::string where = "the Entra ID token endpoint " + options_.authority_host + " (tenant " +
                            Printable(options_.tenant_id, 64) + ", client " + Printable(options_.client_id, 64) + ")";
  if (!r.ok()) return r.status().Annotate("getting an Azure token from " + where);
  if (r->status == 400 || r->status == 401) {
    const std::string error = ReplyError(*r);
    crypto::WipeString(&r->body);
    return Unauthenticated(where + " refused the " +
                           (options_.auth == AuthMethod::kClientSecret ? "client secret" : "client certificate") +
                           " (" + error + "); check azure.tenant_id, azure.client_id and that the " +
                           (options_.auth == AuthMethod::kClientSecret
                                ? "secret in azure.secret_file is current (secrets expire)"
                                : "certificate in azure.certificate_file is the one registered on the application") );
  }
  return ParseTokenReply(&*r, where);
}

StatusOr<TokenSource::Fetched> TokenSource::FetchFromImds() {
  HttpRequest req;
  req.path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + Escape(resource_);
  if (!options_.client_id.empty()) req.path += "&client_id=" + Escape(options_.client_id);
  req.headers.emplace_back("Metadata", "true");
  StatusOr<HttpResponse> r = http_->Send(req);
  const std::string where = "the instance metadata service (IMDS) at " + options_.imds_endpoint;
  if (!r.ok()) {
    return r.status().Annotate("getting a managed identity token from " + where +
                               " (is this an Azure VM or pod with a managed identity assigned?)");
  }
  if (r->status == 400 || r->status == 403 || r->status == 404) {
    const std::string error = ReplyError(*r);
    crypto::WipeString(&r->body);
    return Unauthenticated(where + " gave no token (" + error + "); assign a managed identity to this VM" +
                           (options_.client_id.empty() ? std::string(", or name a user-assigned one in azure.client_id")
                                                       : std::string(" and check azure.client_id")));
  }
  return ParseTokenReply(&*r, where);
}

StatusOr<TokenSource::Fetched> TokenSource::ParseTokenReply(HttpResponse* response, const std::string& from) {
  HttpResponse& r = *response;
  StrictJson j = ParseStrictJson(r.body);
  crypto::WipeString(&r.body);
  auto wipe = [&] { WipeJsonStrings(&j.value); };
  if (r.status != 200) {
    wipe();
    return Unavailable(from + " answered HTTP " + std::to_string(r.status));
  }
  if (!j.ok()) {
    wipe();
    return Unavailable(from + " answered with a body that is not one JSON object" +
                       (j.duplicate.empty() ? std::string() : " (field " + j.duplicate + " twice)"));
  }
  Fetched f;
  f.token = json_fields::String(j.value, "access_token");
  const std::string type = json_fields::String(j.value, "token_type");
  // expires_in: a number from Entra ID, a string from IMDS.
  int64_t lifetime = json_fields::Int(j.value, "expires_in", -1);
  if (lifetime < 0) {
    const std::string s = json_fields::String(j.value, "expires_in");
    if (!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos) lifetime = std::stoll(s);
  }
  wipe();
  const bool printable = !f.token.empty() && f.token.size() < 16384 &&
                         f.token.find_first_of("\r\n\t ") == std::string::npos;
  if (!printable || (!type.empty() && type != "Bearer" && type != "bearer") || lifetime <= 0) {
    crypto::WipeString(&f.token);
    return Unavailable(from + " answered without a usable bearer token (access_token, token_type Bearer, "
                       "expires_in > 0)");
  }
  f.lifetime = std::chrono::seconds(std::min<int64_t>(lifetime, 24 * 3600));
  return f;
}

}  // namespace keyring_locker::azure
