#include "keyring_backend/aws/aws_kms_client.h"

#include "common/printable.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker::aws {
namespace {

bool Throttled(long status, const std::string& body) {
  if (status != 400 && status != 429) return false;
  StrictJson j = ParseStrictJson(body);
  if (!j.ok()) return false;
  const std::string type = KmsErrorType(j.value);
  return type == "ThrottlingException" || type == "LimitExceededException" || type == "TooManyRequestsException";
}

std::string Message(const nlohmann::json& body) {
  for (const char* key : {"message", "Message"}) {
    auto it = body.is_object() ? body.find(key) : body.end();
    if (it != body.end() && it->is_string()) return Printable(it->get<std::string>(), 200);
  }
  return "";
}

}  // namespace

KmsReply::~KmsReply() { WipeJsonStrings(&body); }

std::string KmsErrorType(const nlohmann::json& body) {
  auto it = body.is_object() ? body.find("__type") : body.end();
  if (it == body.end() || !it->is_string()) return "";
  std::string type = it->get<std::string>();
  const size_t hash = type.rfind('#');
  return hash == std::string::npos ? type : type.substr(hash + 1);
}

StatusOr<std::unique_ptr<AwsKmsClient>> AwsKmsClient::Open(KmsClientOptions o) {
  if (o.regions.empty()) return InvalidArgument("aws_kms.regions is empty; name the key's region, e.g. [\"eu-west-1\"]");
  if (!o.endpoints.empty() && o.endpoints.size() != o.regions.size()) {
    return InvalidArgument("aws_kms.endpoints lists " + std::to_string(o.endpoints.size()) + " URLs for " +
                           std::to_string(o.regions.size()) + " regions; give one per region, in the same order");
  }
  HttpOptions h = o.http;
  h.endpoints.clear();
  for (size_t i = 0; i < o.regions.size(); ++i) {
    h.endpoints.push_back(o.endpoints.empty() ? "https://kms." + o.regions[i] + ".amazonaws.com" : o.endpoints[i]);
  }
  h.aws_sigv4_service = "kms";
  h.aws_sigv4_regions = o.regions;
  h.naming = {"AWS KMS", o.endpoints.empty() ? "aws_kms.regions" : "aws_kms.endpoints", "aws_kms"};
  h.fixed_headers.clear();
  ASSIGN_OR_RETURN(std::unique_ptr<http::CurlHttpClient> http, http::CurlHttpClient::Create(std::move(h), o.hooks));
  ASSIGN_OR_RETURN(std::unique_ptr<CredentialProvider> credentials, CredentialProvider::Create(o.credentials));
  return std::unique_ptr<AwsKmsClient>(
      new AwsKmsClient(std::move(o.regions), std::move(http), std::move(credentials)));
}

AwsKmsClient::AwsKmsClient(std::vector<std::string> regions, std::unique_ptr<HttpClient> http,
                           std::unique_ptr<CredentialProvider> credentials)
    : regions_(std::move(regions)), http_(std::move(http)), credentials_(std::move(credentials)) {}

std::string AwsKmsClient::Describe() const {
  std::string out;
  const auto& endpoints = http_->options().endpoints;
  for (size_t i = 0; i < regions_.size(); ++i) {
    out += (i ? ", " : "") + regions_[i] + " " + endpoints[i];
  }
  return out;
}

Status AwsKmsClient::ErrorFor(const std::string& action, long status, const nlohmann::json& body,
                              const std::string& key, const std::string& endpoint) const {
  const std::string type = KmsErrorType(body);
  const std::string what = "AWS KMS " + action + " with key " + key + " at " + endpoint + " failed: " +
                           (type.empty() ? "HTTP " + std::to_string(status) : type) +
                           (Message(body).empty() ? "" : " (" + Message(body) + ")");
  if (type == "DisabledException" || type == "KMSInvalidStateException") {
    return FailedPrecondition(what + "; the key is disabled or pending deletion: enable it (aws kms enable-key, or "
                              "cancel-key-deletion) - keys already in the server's cache keep working meanwhile");
  }
  if (type == "AccessDeniedException") {
    return PermissionDenied(what + "; allow kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on this key for the "
                            "server's identity, with the encryption context of its scope (docs/locker-setup.md, "
                            "\"AWS KMS\")");
  }
  if (type == "UnrecognizedClientException" || type == "InvalidSignatureException" ||
      type == "ExpiredTokenException" || type == "InvalidClientTokenId" || type == "IncompleteSignature" ||
      type == "MissingAuthenticationTokenException") {
    return Unauthenticated(what + "; the AWS credentials (" + credentials_->Describe() +
                           ") are unknown, expired or do not match their secret: renew them");
  }
  if (type == "NotFoundException") {
    return NotFound(what + "; no such key in this account and region: set aws_kms.key_id to the key's ARN or "
                    "alias, and aws_kms.regions to its region");
  }
  if (type == "InvalidCiphertextException" || type == "IncorrectKeyException") {
    return DataLoss(what + "; the wrapped key was altered, belongs to another key's identity (encryption context) "
                    "or to another KMS key");
  }
  if (type == "ValidationException" || type == "InvalidKeyUsageException" || type == "InvalidGrantTokenException") {
    return InvalidArgument(what + "; the request does not suit this key (a symmetric ENCRYPT_DECRYPT key is "
                           "needed): check aws_kms.key_id");
  }
  if (status == 400 || status == 429 || status / 100 == 5 || type == "KMSInternalException" ||
      type == "DependencyTimeoutException" || type == "KeyUnavailableException" || type == "ThrottlingException") {
    return Unavailable(what + "; AWS KMS is throttling or unavailable: retried within timeouts.total_ms, keys "
                       "already in the cache keep working");
  }
  return Unavailable(what);
}

StatusOr<KmsReply> AwsKmsClient::Call(const std::string& action, std::string body, const std::string& key) {
  struct BodyWiper {
    std::string* s;
    ~BodyWiper() { crypto::WipeString(s); }
  } wipe_body{&body};
  // Once more with freshly looked-up credentials when AWS says they expired
  // (an instance role's are replaced every few hours).
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(AwsCredentials creds, credentials_->Get());
    HttpRequest request;
    request.method = "POST";
    request.path = "/";
    request.body = body;
    request.content_type = "application/x-amz-json-1.1";
    request.headers = {{"X-Amz-Target", "TrentService." + action}};
    if (!creds.session_token.empty()) request.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
    request.aws_credentials = creds.access_key_id + ":" + creds.secret_access_key;
    request.throttled = Throttled;
    auto sent = http_->Send(request);
    crypto::WipeString(&request.body);
    crypto::WipeString(&request.aws_credentials);
    for (auto& header : request.headers) crypto::WipeString(&header.second);
    if (!sent.ok()) return sent.status().Annotate("AWS KMS " + action + " with key " + key);
    StrictJson parsed = ParseStrictJson(sent->body);
    crypto::WipeString(&sent->body);
    KmsReply reply;
    reply.endpoint = sent->endpoint;
    reply.body = std::move(parsed.value);
    // Actions with nothing to say (EnableKeyRotation) answer an empty body.
    if (sent->status == 200 && parsed.duplicate.empty() && (reply.body.is_discarded() || reply.body.is_null())) {
      reply.body = nlohmann::json::object();
      return reply;
    }
    if (!parsed.ok() || !reply.body.is_object()) {
      return DataLoss("AWS KMS " + action + " at " + sent->endpoint + " answered HTTP " +
                      std::to_string(sent->status) + " with a body that is not one JSON object" +
                      (parsed.duplicate.empty() ? "" : " (field " + parsed.duplicate + " given twice)"));
    }
    if (sent->status == 200) return reply;
    Status error = ErrorFor(action, sent->status, reply.body, key, sent->endpoint);
    if (error.code() == Code::kUnauthenticated && attempt == 0) {
      credentials_->Invalidate();
      continue;
    }
    return error;
  }
  return Internal("unreachable");
}

}  // namespace keyring_locker::aws
