#include "keyring_backend/auth/vault_auth_calls.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <vector>

#include "keyring_backend/auth/secret_source.h"
#include "keyring_backend/json/strict_json.h"
#include "keyring_backend/vault/vault_errors.h"
#include "keyring_backend/vault/vault_namespace.h"

namespace keyring_locker::auth {
namespace {

using nlohmann::json;

// Wipes the response body (it carries client_token) when the call returns.
struct BodyGuard {
  std::string* body;
  ~BodyGuard() { Wipe(body); }
};

// Vault's error texts for a message; they never hold token values.
std::string ErrorsOf(const json& body) {
  const std::string text = VaultErrorText(body);
  return text.empty() ? "no error text" : text;
}

// A credential refused with a namespace configured is as often a wrong
// locker.namespace as a bad credential: Vault answers 403 "permission
// denied" for both (the dev locker too). "in namespace \"x\"", or empty
// when no namespace is in play.
std::string NamespaceInPlay(const HttpClient* http, const json& body) {
  const std::string ns = VaultNamespaceOf(http->options());
  if (!ns.empty()) return "in namespace \"" + ns + "\"";
  if (ErrorsOf(body).find("namespace") != std::string::npos) return "outside a namespace";
  return "";
}

// Status for a non-2xx answer of an auth call. 400/401/403 mean the
// credential is bad (or, with a namespace, maybe the namespace); 5xx and
// 429 mean "try later".
Status HttpError(const HttpClient* http, long status, const json& body, const std::string& what,
                 const std::string& fix) {
  const std::string detail = what + " answered HTTP " + std::to_string(status) + " (" +
                             ErrorsOf(body) + ")";
  if (status == 400 || status == 401 || status == 403) {
    const std::string ns = NamespaceInPlay(http, body);
    if (!ns.empty())
      return Unauthenticated(detail + "; the credential may not be valid " + ns +
                             ": check locker.namespace, or " + fix);
    return Unauthenticated(detail + "; " + fix);
  }
  if (status == 404)
    return FailedPrecondition(detail + "; the auth method is not enabled at that path: check the "
                              "mount option or enable it on the locker");
  if (status == 429 || status >= 500)
    return Unavailable(detail + "; the locker is busy, sealed or failing: unseal it or check its health, then try again");
  return Internal(detail + "; unexpected answer to an auth call");
}

// A reply parsed once, whose strings are wiped before the tree frees them:
// login, renew and lookup replies carry the token (auth.client_token,
// data.id). A key given twice makes the reply unusable (CheckObject).
class ParsedReply {
 public:
  explicit ParsedReply(const std::string& body) {
    StrictJson parsed = ParseStrictJson(body);
    j_ = std::move(parsed.value);
    duplicate_ = std::move(parsed.duplicate);
  }
  ~ParsedReply() { WipeJsonStrings(&j_); }
  ParsedReply(const ParsedReply&) = delete;
  ParsedReply& operator=(const ParsedReply&) = delete;
  const json& get() const { return j_; }
  // The answer of a 2xx reply must be a JSON object.
  Status CheckObject(const std::string& what) const {
    if (j_.is_discarded() || !j_.is_object())
      return DataLoss(what + " returned a body that is not a JSON object; is locker.urls pointing "
                      "at a Vault/OpenBao server?");
    if (!duplicate_.empty())
      return DuplicateFieldError(what + " answered", duplicate_);
    return Status::Ok();
  }

 private:
  json j_;
  std::string duplicate_;
};

// auth{client_token, lease_duration, renewable} of login and renew answers.
StatusOr<TokenGrant> GrantFromAuth(const json& j, const std::string& what) {
  if (!j.contains("auth") || !j["auth"].is_object())
    return DataLoss(what + " answer has no \"auth\" object; is this a Vault/OpenBao server?");
  const json& a = j["auth"];
  if (!a.contains("client_token") || !a["client_token"].is_string() ||
      a["client_token"].get_ref<const std::string&>().empty())
    return DataLoss(what + " answer has no auth.client_token");
  // A token travels in an HTTP header: a control byte, space or non-ASCII
  // byte (a NUL would even cut it short) cannot be a real Vault token.
  const std::string& t = a["client_token"].get_ref<const std::string&>();
  if (std::any_of(t.begin(), t.end(), [](char c) { return c < 0x21 || c > 0x7e; }))
    return DataLoss(what + " answer holds a client_token with control, space or non-ASCII characters; "
                    "Vault never issues such a token: check what answers at locker.urls");
  TokenGrant g;
  g.token = t;
  if (a.contains("lease_duration") && a["lease_duration"].is_number_integer())
    g.ttl = std::chrono::seconds(std::max<int64_t>(0, a["lease_duration"].get<int64_t>()));
  g.renewable = a.contains("renewable") && a["renewable"].is_boolean() && a["renewable"].get<bool>();
  return g;
}

StatusOr<HttpResponse> Post(HttpClient* http, const std::string& path, std::string body,
                            const std::string& token, bool idempotent = true) {
  HttpRequest req;
  req.idempotent = idempotent;
  req.method = "POST";
  req.path = path;
  req.body = std::move(body);
  if (!token.empty()) req.headers.emplace_back("X-Vault-Token", token);
  StatusOr<HttpResponse> r = http->Send(req);
  Wipe(&req.body);  // may hold a secret_id
  for (auto& h : req.headers) Wipe(&h.second);
  return r;
}

StatusOr<TokenGrant> LoginCall(HttpClient* http, const std::string& path, std::string body,
                               const std::string& what, const std::string& fix,
                               bool idempotent) {
  ASSIGN_OR_RETURN(HttpResponse r, Post(http, path, std::move(body), "", idempotent));
  BodyGuard guard{&r.body};
  ParsedReply reply(r.body);
  if (r.status < 200 || r.status > 299) return HttpError(http, r.status, reply.get(), what, fix);
  RETURN_IF_ERROR(reply.CheckObject(what));
  return GrantFromAuth(reply.get(), what);
}

}  // namespace

TokenGrant::~TokenGrant() { Wipe(&token); }

StatusOr<TokenGrant> LookupSelf(HttpClient* http, const std::string& token,
                                const std::string& source, const std::string& fix) {
  HttpRequest req;
  req.path = "/v1/auth/token/lookup-self";
  req.headers.emplace_back("X-Vault-Token", token);
  StatusOr<HttpResponse> sent = http->Send(req);
  Wipe(&req.headers.back().second);
  if (!sent.ok()) return sent.status().Annotate("looking up the token from " + source);
  HttpResponse& r = *sent;
  BodyGuard guard{&r.body};
  const std::string what = "auth/token/lookup-self";
  ParsedReply reply(r.body);
  if (r.status == 403 && RefusedByPolicy(reply.get())) {
    return PermissionDenied("token from " + source + " is valid, but its policies refuse " + what +
                            ": keep Vault's default policy on it (no no_default_policy / "
                            "token_no_default_policy), or add path \"auth/token/lookup-self\" { capabilities = "
                            "[\"read\"] } and path \"auth/token/renew-self\" { capabilities = [\"update\"] } "
                            "to its policy (docs/locker-setup.md, \"The policy\")");
  }
  if (r.status == 403 || r.status == 401) {
    const std::string ns = NamespaceInPlay(http, reply.get());
    return Unauthenticated("token from " + source + " was rejected by the locker: " +
                           (ns.empty() ? "expired or revoked"
                                       : "the token is not valid " + ns +
                                             ": check locker.namespace, or the token expired or "
                                             "was revoked") +
                           "; " + fix);
  }
  if (r.status < 200 || r.status > 299) return HttpError(http, r.status, reply.get(), what, fix);
  RETURN_IF_ERROR(reply.CheckObject(what));
  const json& ok = reply.get();
  if (!ok.contains("data") || !ok["data"].is_object())
    return DataLoss(what + " answer has no \"data\" object; is this a Vault/OpenBao server?");
  const json& d = ok["data"];
  TokenGrant g;
  g.token = token;
  if (d.contains("ttl") && d["ttl"].is_number_integer())
    g.ttl = std::chrono::seconds(std::max<int64_t>(0, d["ttl"].get<int64_t>()));
  g.renewable = d.contains("renewable") && d["renewable"].is_boolean() && d["renewable"].get<bool>();
  return g;
}

StatusOr<TokenGrant> RenewSelf(HttpClient* http, const std::string& token,
                               std::chrono::seconds increment) {
  json body = json::object();
  if (increment.count() > 0) body["increment"] = std::to_string(increment.count()) + "s";
  ASSIGN_OR_RETURN(HttpResponse r, Post(http, "/v1/auth/token/renew-self", body.dump(), token));
  BodyGuard guard{&r.body};
  const std::string what = "auth/token/renew-self";
  ParsedReply reply(r.body);
  if (r.status < 200 || r.status > 299)
    return HttpError(http, r.status, reply.get(), what, "the token can no longer be renewed; logging in again");
  RETURN_IF_ERROR(reply.CheckObject(what));
  return GrantFromAuth(reply.get(), what);
}

StatusOr<TokenGrant> LoginAppRole(HttpClient* http, const std::string& mount,
                                  const std::string& role_id, const std::string& secret_id,
                                  const std::string& secret_source) {
  json body = json::object();
  body["role_id"] = role_id;
  body["secret_id"] = secret_id;
  std::string text = body.dump();
  Wipe(&body["secret_id"].get_ref<std::string&>());  // Post() wipes `text`
  return LoginCall(http, "/v1/auth/" + mount + "/login", std::move(text),
                   "AppRole login at auth/" + mount,
                   "check auth.approle.role_id and the secret_id in " + secret_source +
                       " (secret IDs expire or run out of uses: generate a new one)",
                   // A secret ID may have limited uses: a blind re-send after a
                   // lost answer would burn one. The renewal loop retries later.
                   /*idempotent=*/false);
}

StatusOr<TokenGrant> LoginCert(HttpClient* http, const std::string& mount,
                               const std::string& role) {
  json body = json::object();
  if (!role.empty()) body["name"] = role;
  return LoginCall(http, "/v1/auth/" + mount + "/login", body.dump(),
                   "certificate login at auth/" + mount,
                   "register tls.client_cert with the locker's cert auth method" +
                       (role.empty() ? std::string() : " as role '" + role + "' (auth.cert.role)"),
                   /*idempotent=*/true);
}

}  // namespace keyring_locker::auth
