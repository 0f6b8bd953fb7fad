// auth/cert: TLS client-certificate login. The certificate comes from the
// TLS session of this very request, never from the request body.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "devlocker/locker.h"

namespace devlocker {

namespace {

struct X509Free { void operator()(X509* p) const { X509_free(p); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ParsePem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// Equal certificates, or `registered` is the CA that signed `peer`.
bool Matches(X509* peer, X509* registered) {
  if (X509_cmp(peer, registered) == 0) return true;
  return X509_check_issued(registered, peer) == X509_V_OK &&
         X509_verify(peer, X509_get0_pubkey(registered)) == 1;
}

Reply Login(Ctx& ctx, json& certs) {
  X509Ptr peer(ctx.http.ssl ? SSL_get1_peer_certificate(ctx.http.ssl) : nullptr);
  if (!peer) return Error(400, "client certificate must be supplied");
  if (SSL_get_verify_result(ctx.http.ssl) != X509_V_OK)
    return Error(403, "client certificate was not verified by the devlocker CA");
  const std::string wanted = StringField(ctx.body, "name");
  for (auto it = certs.begin(); it != certs.end(); ++it) {
    if (!wanted.empty() && it.key() != wanted) continue;
    X509Ptr reg = ParsePem(it.value()["certificate"].get<std::string>());
    if (!reg || !Matches(peer.get(), reg.get())) continue;
    const json& c = it.value();
    int64_t ttl = c["token_ttl"].get<int64_t>();
    return OkAuth(IssueToken(ctx, c["token_policies"].get<std::vector<std::string>>(), ttl == 0 ? 768 * 3600 : ttl,
                             c["token_max_ttl"].get<int64_t>(), 0, true, "auth/cert/login",
                             json{{"cert_name", it.key()}}));
  }
  return Error(403, "invalid certificate or no client certificate supplied: register it with auth/cert/certs/<name>");
}

}  // namespace

Reply HandleCert(Ctx& ctx, json& mount, const std::string& rest) {
  json& certs = mount["data"]["certs"];
  if (rest == "login") return Login(ctx, certs);
  if (rest == "certs" || rest == "certs/") {
    std::vector<std::string> names;
    for (auto it = certs.begin(); it != certs.end(); ++it) names.push_back(it.key());
    return ListReply(names);
  }
  if (rest.compare(0, 6, "certs/") != 0) return Error(404, "unsupported cert auth path " + rest);
  const std::string name = rest.substr(6);
  if (ctx.method == "GET") {
    if (!certs.contains(name)) return NotFoundEmpty();
    const json& c = certs[name];
    return Ok(json{{"certificate", c["certificate"]}, {"token_policies", c["token_policies"]},
                   {"token_ttl", c["token_ttl"]}, {"token_max_ttl", c["token_max_ttl"]}});
  }
  if (ctx.method == "DELETE") {
    certs.erase(name);
    return NoContent();
  }
  const std::string pem = StringField(ctx.body, "certificate");
  if (!ParsePem(pem)) return Error(400, "certificate must be a PEM-encoded X.509 certificate");
  auto ttl = ParseDuration(ctx.body.value("token_ttl", json(nullptr)));
  auto max_ttl = ParseDuration(ctx.body.value("token_max_ttl", json(nullptr)));
  if (!ttl || !max_ttl) return Error(400, "invalid token_ttl or token_max_ttl: use e.g. 3600 or \"1h\"");
  std::vector<std::string> policies = StringListField(ctx.body, "token_policies");
  if (policies.empty()) policies = StringListField(ctx.body, "policies");
  certs[name] = json{{"certificate", pem}, {"token_policies", policies}, {"token_ttl", *ttl},
                     {"token_max_ttl", *max_ttl}};
  return NoContent();
}

}  // namespace devlocker
