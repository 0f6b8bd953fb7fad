#include "keyring_backend/azure/key_vault_wrapper.h"

#include "common/printable.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/azure/base64url.h"
#include "keyring_backend/json/json_fields.h"
#include "keyring_backend/json/strict_json.h"
#include "keyring_backend/wrapper/wrapped_fields.h"

namespace keyring_locker {

namespace {

constexpr char kFormatPrefix[] = "azure-kv:v1:";
constexpr size_t kMaxValue = 1024;  // base64url of a 4096-bit RSA block is 683 characters

bool VersionChars(const std::string& v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool UrlChars(const std::string& v) {
  for (char c : v) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

bool KnownAlgorithm(const std::string& a) { return a == "RSA-OAEP-256" || a == "RSA-OAEP"; }

// The most plaintext one RSA-OAEP block holds (RFC 8017 7.1.1).
size_t OaepCapacity(size_t modulus_bytes, const std::string& alg) {
  const size_t hash = alg == "RSA-OAEP-256" ? 32 : 20;
  return modulus_bytes > 2 * hash + 2 ? modulus_bytes - 2 * hash - 2 : 0;
}

bool EqualsNoCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// The version a kid ("https://v.vault.azure.net/keys/NAME/VERSION") names,
// if it names the key `name`; empty otherwise.
std::string KidVersion(const std::string& kid, const std::string& name) {
  const size_t keys = kid.rfind("/keys/");
  if (keys == std::string::npos) return "";
  const std::string rest = kid.substr(keys + 6);
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || !EqualsNoCase(rest.substr(0, slash), name)) return "";
  const std::string version = rest.substr(slash + 1);
  return VersionChars(version) ? version : "";
}

// Key Vault's error object: {"error":{"code","message","innererror":{"code"}}}.
struct VaultError {
  std::string code, inner, message;
};
VaultError ReadError(const std::string& body) {
  VaultError e;
  StrictJson j = ParseStrictJson(body);
  if (!j.ok() || !j.value.is_object()) return e;
  auto it = j.value.find("error");
  if (it == j.value.end() || !it->is_object()) return e;
  e.code = Printable(json_fields::String(*it, "code"), 60);
  e.message = Printable(json_fields::String(*it, "message"), 240);
  for (const char* inner : {"innererror", "innerError"}) {
    auto in = it->find(inner);
    if (in != it->end() && in->is_object()) e.inner = Printable(json_fields::String(*in, "code"), 60);
  }
  return e;
}

}  // namespace

StatusOr<std::unique_ptr<AzureKeyVaultWrapper>> AzureKeyVaultWrapper::Open(const azure::AzureOptions& options) {
  if (!KnownAlgorithm(options.algorithm)) {
    return InvalidArgument("azure.algorithm \"" + Printable(options.algorithm, 40) +
                           "\" is not RSA-OAEP-256 or RSA-OAEP; leave it out (RSA-OAEP-256)");
  }
  HttpOptions h = options.http;
  h.endpoints = options.endpoints.empty() ? std::vector<std::string>{options.vault_url} : options.endpoints;
  h.allow_plain_http = false;
  h.naming = {"Azure Key Vault", options.endpoints.empty() ? "azure.vault_url" : "azure.endpoints", "azure"};
  ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create(std::move(h)));
  ASSIGN_OR_RETURN(std::unique_ptr<azure::TokenSource> tokens, azure::TokenSource::Open(options));
  return std::unique_ptr<AzureKeyVaultWrapper>(new AzureKeyVaultWrapper(options, std::move(http), std::move(tokens)));
}

AzureKeyVaultWrapper::AzureKeyVaultWrapper(azure::AzureOptions options, std::unique_ptr<HttpClient> http,
                                           std::unique_ptr<azure::TokenSource> tokens)
    : options_(std::move(options)), http_(std::move(http)), tokens_(std::move(tokens)) {}

std::string AzureKeyVaultWrapper::Id() const {
  std::string host = options_.vault_url;
  const size_t scheme = host.find("://");
  if (scheme != std::string::npos) host = host.substr(scheme + 3);
  return kIdPrefix + host + "/" + options_.key_name;
}

std::string AzureKeyVaultWrapper::Describe() const {
  return "wrapper=" + Id() + (options_.key_version.empty() ? "" : " version " + options_.key_version) + " (" +
         options_.algorithm + ", " + tokens_->Describe() + ")";
}

std::string AzureKeyVaultWrapper::KeyName(const std::string& version) const {
  return "Azure Key Vault key \"" + options_.key_name + "\"" + (version.empty() ? "" : " version " + version) +
         " in " + options_.vault_url;
}

std::string AzureKeyVaultWrapper::KeyPath(const std::string& version) const {
  return "/keys/" + options_.key_name + (version.empty() ? "" : "/" + version);
}

std::string AzureKeyVaultWrapper::Format(const Sealed& s) {
  return kFormatPrefix + s.version + ":" + s.algorithm + ":" + s.value;
}

StatusOr<AzureKeyVaultWrapper::Sealed> AzureKeyVaultWrapper::Parse(const std::string& wrapped) {
  auto bad = [](const std::string& why) {
    return InvalidArgument("not an Azure Key Vault-wrapped key (" + why +
                           "); expected azure-kv:v1:<key version>:<algorithm>:<base64url value>");
  };
  std::array<std::string, 3> f;
  if (auto why = SplitWrappedFields(wrapped, kFormatPrefix, 2 * kMaxValue, &f)) return bad(*why);
  Sealed s{f[0], f[1], f[2]};
  if (!VersionChars(s.version)) return bad("the key version is not 1-64 letters and digits");
  if (!KnownAlgorithm(s.algorithm)) return bad("the algorithm \"" + Printable(s.algorithm, 20) + "\" is unknown");
  if (s.value.empty() || s.value.size() > kMaxValue || !UrlChars(s.value) || s.value.size() % 4 == 1) {
    return bad("the value is not base64url of at most " + std::to_string(kMaxValue) + " characters");
  }
  return s;
}

StatusOr<HttpResponse> AzureKeyVaultWrapper::Call(HttpRequest req, const std::string& what) {
  req.path += std::string(req.path.find('?') == std::string::npos ? "?" : "&") + "api-version=" + kApiVersion;
  StatusOr<HttpResponse> r = Unavailable("no request was sent");
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::string> token = tokens_->Token(attempt > 0);
    if (!token.ok()) {
      crypto::WipeString(&req.body);
      return token.status().Annotate(what);
    }
    req.headers.clear();
    req.headers.emplace_back("Authorization", "Bearer " + *token);  // moved in: no copy left unwiped
    crypto::WipeString(&*token);
    r = http_->Send(req);
    crypto::WipeString(&req.headers[0].second);
    // A token Key Vault no longer takes (expired early, revoked): one new one.
    if (r.ok() && r->status == 401 && attempt == 0) continue;
    break;
  }
  crypto::WipeString(&req.body);
  if (!r.ok()) return r.status().Annotate(what + " at " + options_.vault_url);
  return r;
}

Status AzureKeyVaultWrapper::ErrorOf(const HttpResponse& r, const std::string& what) const {
  const VaultError e = ReadError(r.body);
  const std::string said = e.code.empty() ? "HTTP " + std::to_string(r.status)
                                          : "HTTP " + std::to_string(r.status) + " " + e.code +
                                                (e.inner.empty() ? "" : "/" + e.inner) +
                                                (e.message.empty() ? "" : ": " + e.message);
  const std::string access =
      "grant this identity (" + tokens_->Describe() + ") the role \"Key Vault Crypto Service Encryption User\" on "
      "the key, or an access policy with the key permissions get, wrapKey and unwrapKey (docs/locker-setup.md, "
      "\"Azure Key Vault\")";
  switch (r.status) {
    case 401:
      return Unauthenticated(what + ": Key Vault refused a fresh token too (" + said + "); check that " +
                             options_.vault_url + " belongs to tenant " +
                             (options_.tenant_id.empty() ? std::string("of this identity") : options_.tenant_id) +
                             " and that azure.vault_url is the vault's own URL");
    case 403:
      if (e.inner == "KeyDisabled" || e.code == "KeyDisabled" || e.message.find("disabled") != std::string::npos) {
        return FailedPrecondition(what + ": the key version is disabled (" + said +
                                  "); enable it (az keyvault key set-attributes --enabled true). Keys it wrapped "
                                  "cannot be unwrapped until then; keys already in the cache keep being served");
      }
      return PermissionDenied(what + ": Key Vault refused access (" + said + "). If the key's owner revoked access "
                              "on purpose, this is the key being made inaccessible (docs/security.md); otherwise " +
                              access);
    case 404:
      return NotFound(what + ": not found (" + said + "); check azure.vault_url, azure.key_name and azure.key_version "
                      "(a deleted key can be recovered while soft-deleted: az keyvault key recover)");
    case 429:
      return Unavailable(what + ": Key Vault kept throttling the requests (" + said + ") after " +
                         std::to_string(r.attempts) + " attempts; the cache serves known keys, and the next call tries "
                         "again. If it persists, other clients share this vault's request quota");
    case 400:
      return InvalidArgument(what + ": Key Vault refused the request (" + said + ")");
    default:
      return Unavailable(what + ": Key Vault answered " + said);
  }
}

StatusOr<AzureKeyVaultWrapper::KeyInfo> AzureKeyVaultWrapper::GetKey(const std::string& version) {
  const std::string what = "reading " + KeyName(version);
  HttpRequest req;
  req.path = KeyPath(version);
  ASSIGN_OR_RETURN(HttpResponse r, Call(std::move(req), what));
  if (r.status != 200) return ErrorOf(r, what);
  StrictJson j = ParseStrictJson(r.body);
  if (!j.ok() || !j.value.is_object()) return Unavailable(what + ": the answer is not one JSON object");
  auto key = j.value.find("key");
  auto attributes = j.value.find("attributes");
  if (key == j.value.end() || !key->is_object()) return Unavailable(what + ": the answer has no \"key\" object");
  KeyInfo info;
  info.version = KidVersion(json_fields::String(*key, "kid"), options_.key_name);
  if (info.version.empty() || (!version.empty() && info.version != version)) {
    return DataLoss(what + ": the answer names another key (kid \"" +
                    Printable(json_fields::String(*key, "kid"), 200) + "\")");
  }
  if (attributes != j.value.end() && attributes->is_object()) {
    auto enabled = attributes->find("enabled");
    info.enabled = enabled != attributes->end() && enabled->is_boolean() && enabled->get<bool>();
  }
  const std::string kty = json_fields::String(*key, "kty");
  if (kty != "RSA" && kty != "RSA-HSM") {
    return FailedPrecondition(KeyName(info.version) + " is a " + Printable(kty, 20) +
                              " key; wrapKey needs an RSA key (az keyvault key create --kty RSA --size 3072, or "
                              "RSA-HSM): point azure.key_name at one");
  }
  auto ops = key->find("key_ops");
  if (ops != key->end() && ops->is_array()) {
    bool wrap = false, unwrap = false;
    for (const auto& op : *ops) {
      wrap = wrap || (op.is_string() && op.get<std::string>() == "wrapKey");
      unwrap = unwrap || (op.is_string() && op.get<std::string>() == "unwrapKey");
    }
    if (!wrap || !unwrap) {
      return FailedPrecondition(KeyName(info.version) + " does not allow wrapKey and unwrapKey (its key_ops); "
                                "add them (az keyvault key set-attributes --ops wrapKey unwrapKey ...)");
    }
  }
  StatusOr<crypto::SecureBuffer> n = azure::Base64UrlDecodeSecret(json_fields::String(*key, "n"));
  if (n.ok()) {
    size_t skip = 0;  // a leading zero byte is not part of the modulus' length
    while (skip < n->size() && n->data()[skip] == 0) ++skip;
    info.modulus_bytes = n->size() - skip;
  }
  return info;
}

Status AzureKeyVaultWrapper::Connect() {
  ASSIGN_OR_RETURN(KeyInfo info, GetKey(options_.key_version));
  if (!info.enabled) {
    return FailedPrecondition(KeyName(info.version) + " is disabled: new keys cannot be wrapped. Enable it, or " +
                              (options_.key_version.empty() ? "rotate the key (a new, enabled version)"
                                                            : "pin an enabled version in azure.key_version"));
  }
  return Status::Ok();
}

StatusOr<std::string> AzureKeyVaultWrapper::Wrap(const crypto::SecureBuffer& plaintext, const std::string&) {
  if (plaintext.empty()) return InvalidArgument("the Azure Key Vault wrapper wraps at least one byte");
  // The latest version unless one is pinned: each wrap reads it, so a
  // rotation in Azure applies to the next key made.
  ASSIGN_OR_RETURN(KeyInfo info, GetKey(options_.key_version));
  if (!info.enabled) {
    return FailedPrecondition(KeyName(info.version) + " is disabled: new keys cannot be wrapped. Enable it, or " +
                              (options_.key_version.empty() ? "rotate the key (a new, enabled version)"
                                                            : "pin an enabled version in azure.key_version"));
  }
  const size_t capacity = OaepCapacity(info.modulus_bytes, options_.algorithm);
  if (info.modulus_bytes != 0 && plaintext.size() > capacity) {
    return InvalidArgument("a key of " + std::to_string(plaintext.size()) + " bytes with its identity does not fit "
                           "one " + options_.algorithm + " block of the " + std::to_string(info.modulus_bytes * 8) +
                           "-bit " + KeyName(info.version) + " (at most " + std::to_string(capacity) +
                           " bytes); use a larger RSA key (4096 bits) or another wrapper for keys this large");
  }
  const std::string what = "wrapping with " + KeyName(info.version);
  HttpRequest req;
  req.method = "POST";
  req.path = KeyPath(info.version) + "/wrapkey";
  std::string value = azure::Base64UrlEncodeSecret(plaintext);
  req.body = "{\"alg\":\"" + options_.algorithm + "\",\"value\":\"" + value + "\"}";
  crypto::WipeString(&value);
  ASSIGN_OR_RETURN(HttpResponse r, Call(std::move(req), what));
  if (r.status != 200) return ErrorOf(r, what);
  StrictJson j = ParseStrictJson(r.body);
  if (!j.ok() || !j.value.is_object()) return Unavailable(what + ": the answer is not one JSON object");
  Sealed s{KidVersion(json_fields::String(j.value, "kid"), options_.key_name), options_.algorithm,
           json_fields::String(j.value, "value")};
  if (s.version != info.version) {
    return DataLoss(what + ": the answer names another key version (kid \"" +
                    Printable(json_fields::String(j.value, "kid"), 200) + "\")");
  }
  const std::string sealed = Format(s);
  if (StatusOr<Sealed> check = Parse(sealed); !check.ok()) {
    return DataLoss(what + ": the answer's value is unusable: " + check.status().message());
  }
  return sealed;
}

StatusOr<crypto::SecureBuffer> AzureKeyVaultWrapper::Unwrap(const std::string& wrapped, const std::string&) {
  ASSIGN_OR_RETURN(Sealed s, Parse(wrapped));
  const std::string what = "unwrapping with " + KeyName(s.version);
  HttpRequest req;
  req.method = "POST";
  req.path = KeyPath(s.version) + "/unwrapkey";
  req.body = "{\"alg\":\"" + s.algorithm + "\",\"value\":\"" + s.value + "\"}";
  ASSIGN_OR_RETURN(HttpResponse r, Call(std::move(req), what));
  if (r.status != 200) {
    Status e = ErrorOf(r, what);
    crypto::WipeString(&r.body);
    return e;
  }
  StrictJson j = ParseStrictJson(r.body);
  crypto::WipeString(&r.body);
  if (!j.ok() || !j.value.is_object()) {
    WipeJsonStrings(&j.value);
    return Unavailable(what + ": the answer is not one JSON object");
  }
  const std::string version = KidVersion(json_fields::String(j.value, "kid"), options_.key_name);
  std::string value = json_fields::String(j.value, "value");
  WipeJsonStrings(&j.value);
  StatusOr<crypto::SecureBuffer> plaintext = azure::Base64UrlDecodeSecret(value);
  crypto::WipeString(&value);
  if (version != s.version) return DataLoss(what + ": the answer names another key version");
  if (!plaintext.ok() || plaintext->empty()) return DataLoss(what + ": the answer's value is not base64url key bytes");
  return plaintext;
}

StatusOr<crypto::SecureBuffer> AzureKeyVaultWrapper::Generate(size_t bytes) {
  return FailedPrecondition("Azure Key Vault makes no data keys for RSA keys (asked for " + std::to_string(bytes) +
                            " bytes); the envelope makes them with the local random source");
}

}  // namespace keyring_locker
