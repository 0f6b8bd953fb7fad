#include "keyring_backend/aws/aws_credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/printable.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/json/strict_json.h"

namespace keyring_locker::aws {
namespace {

constexpr std::time_t kStaticRefreshSeconds = 60;
constexpr std::time_t kExpiryMarginSeconds = 300;
constexpr size_t kMaxFileBytes = 1 << 20;
constexpr size_t kMaxFieldBytes = 4096;
constexpr int kMaxFileLines = 10000;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// An access key id is printable, a secret too: anything else (a stray
// quote, a CR from a Windows editor) would sign wrong or break a header.
Status CheckPart(const std::string& value, const std::string& what, const std::string& where) {
  bool ok = !value.empty() && value.size() <= kMaxFieldBytes;
  for (unsigned char c : value) ok = ok && c > 0x20 && c < 0x7F;
  if (ok && what == "aws_access_key_id") ok = value.find(':') == std::string::npos;
  if (ok) return Status::Ok();
  return InvalidArgument(where + ": " + what + " is " + (value.empty() ? "empty" : "not a printable single word") +
                         "; copy the value again as AWS shows it (no quotes, spaces or line breaks)");
}

Status CheckCredentials(const AwsCredentials& c, const std::string& where, const char* id_name,
                        const char* secret_name, const char* token_name) {
  RETURN_IF_ERROR(CheckPart(c.access_key_id, id_name, where));
  RETURN_IF_ERROR(CheckPart(c.secret_access_key, secret_name, where));
  if (!c.session_token.empty()) RETURN_IF_ERROR(CheckPart(c.session_token, token_name, where));
  return Status::Ok();
}

}  // namespace

AwsCredentials::~AwsCredentials() {
  crypto::WipeString(&secret_access_key);
  crypto::WipeString(&session_token);
}

std::time_t ParseAwsTimestamp(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      static_cast<size_t>(consumed) != text.size()) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

StatusOr<AwsCredentials> CredentialsFromEnvironment() {
  AwsCredentials c;
  c.access_key_id = Env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  c.source = "env";
  if (c.access_key_id.empty() && c.secret_access_key.empty()) {
    return NotFound("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
  }
  RETURN_IF_ERROR(CheckCredentials(c, "the environment", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN"));
  return c;
}

StatusOr<AwsCredentials> CredentialsFromFile(const std::string& path, const std::string& profile) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("the shared credentials file " + path + " cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  if (all.size() > kMaxFileBytes) {
    crypto::WipeString(&all);
    return InvalidArgument("the shared credentials file " + path + " is over 1 MiB; point aws_kms.credentials_file "
                           "at the AWS credentials file");
  }
  AwsCredentials c;
  c.source = "file " + path + " [" + profile + "]";
  bool in_profile = false, found = false;
  std::istringstream lines(all);
  std::string line;
  for (int n = 0; n < kMaxFileLines && std::getline(lines, line); ++n) {
    const std::string t = Trim(line);
    crypto::WipeString(&line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = Trim(t.substr(1, t.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    const size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    else if (key == "aws_secret_access_key") c.secret_access_key = value;
    else if (key == "aws_session_token") c.session_token = value;
    crypto::WipeString(&value);
  }
  crypto::WipeString(&all);
  if (!found) return NotFound("the shared credentials file " + path + " has no profile [" + profile + "]");
  RETURN_IF_ERROR(CheckCredentials(c, path + " [" + profile + "]", "aws_access_key_id", "aws_secret_access_key",
                                   "aws_session_token"));
  return c;
}

StatusOr<std::unique_ptr<CredentialProvider>> CredentialProvider::Create(CredentialOptions options) {
  std::unique_ptr<HttpClient> imds;
  if (options.source == "chain" || options.source == "imds") {
    HttpOptions h;
    h.endpoints = {options.imds_endpoint};
    h.allow_plain_http = true;  // IMDS is plain http on a link-local address
    h.connect_timeout = options.imds_timeout;
    h.total_timeout = options.imds_timeout * 2;
    h.max_retries = 1;
    h.backoff_initial = std::chrono::milliseconds(50);
    h.backoff_max = std::chrono::milliseconds(200);
    h.max_response_bytes = 64 * 1024;
    h.naming = {"the instance metadata service (IMDS)", "aws_kms.imds_endpoint", "aws_kms"};
    auto client = HttpClient::Create(std::move(h));
    if (!client.ok()) return client.status().Annotate("aws_kms.imds_endpoint");
    imds = std::move(client).value();
  } else if (options.source != "env" && options.source != "file") {
    return InvalidArgument("aws_kms.credentials \"" + Printable(options.source, 20) +
                           "\" is not a source; use \"chain\", \"env\", \"file\" or \"imds\"");
  }
  return std::unique_ptr<CredentialProvider>(new CredentialProvider(std::move(options), std::move(imds)));
}

CredentialProvider::CredentialProvider(CredentialOptions options, std::unique_ptr<HttpClient> imds)
    : options_(std::move(options)), imds_(std::move(imds)) {}

std::string CredentialProvider::FilePath() const {
  if (!options_.file.empty()) return options_.file;
  if (std::string f = Env("AWS_SHARED_CREDENTIALS_FILE"); !f.empty()) return f;
  return Env("HOME") + "/.aws/credentials";
}

std::string CredentialProvider::Profile() const {
  if (!options_.profile.empty()) return options_.profile;
  if (std::string p = Env("AWS_PROFILE"); !p.empty()) return p;
  return "default";
}

std::string CredentialProvider::Describe() const {
  if (options_.source == "env") return "credentials=env";
  if (options_.source == "file") return "credentials=file:" + FilePath() + "[" + Profile() + "]";
  if (options_.source == "imds") return "credentials=imds:" + options_.imds_endpoint;
  return "credentials=chain(env,file:" + FilePath() + "[" + Profile() + "],imds:" + options_.imds_endpoint + ")";
}

StatusOr<AwsCredentials> CredentialProvider::FromImds() {
  const std::string where = "the instance metadata service at " + options_.imds_endpoint;
  HttpRequest token_req;
  token_req.method = "PUT";
  token_req.path = "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  auto token = imds_->Send(token_req);
  if (!token.ok()) return Unavailable("no credentials from " + where + ": " + token.status().message());
  if (token->status != 200 || token->body.empty()) {
    crypto::WipeString(&token->body);
    return Unavailable(where + " answered HTTP " + std::to_string(token->status) +
                       " to the IMDSv2 token request; on EC2, allow IMDSv2 (and a hop limit of 2 in a container)");
  }
  std::string session = Trim(token->body);
  crypto::WipeString(&token->body);
  HttpRequest role_req;
  role_req.path = "/latest/meta-data/iam/security-credentials/";
  role_req.headers = {{"X-aws-ec2-metadata-token", session}};
  auto role = imds_->Send(role_req);
  if (!role.ok() || role->status != 200) {
    crypto::WipeString(&session);
    if (!role.ok()) return Unavailable("no credentials from " + where + ": " + role.status().message());
    return Unauthenticated(where + " names no instance role (" +
                       "HTTP " + std::to_string(role->status) +
                       "); attach an IAM role to the instance, or give credentials in the environment or a file");
  }
  std::string name = Trim(role->body.substr(0, role->body.find('\n')));
  if (name.empty() || name.size() > 128 || name.find_first_of("/?#% ") != std::string::npos) {
    crypto::WipeString(&session);
    return DataLoss(where + " answered an instance role name that is not one (\"" + Printable(name, 40) + "\")");
  }
  HttpRequest creds_req;
  creds_req.path = "/latest/meta-data/iam/security-credentials/" + name;
  creds_req.headers = {{"X-aws-ec2-metadata-token", session}};
  auto creds = imds_->Send(creds_req);
  crypto::WipeString(&session);
  crypto::WipeString(&creds_req.headers[0].second);
  crypto::WipeString(&role_req.headers[0].second);
  if (!creds.ok()) return Unavailable("no credentials from " + where + ": " + creds.status().message());
  StrictJson j = ParseStrictJson(creds->body);
  crypto::WipeString(&creds->body);
  struct Wiper {
    nlohmann::json* j;
    ~Wiper() { WipeJsonStrings(j); }
  } wiper{&j.value};
  if (creds->status != 200 || !j.ok() || !j.value.is_object()) {
    return Unavailable(where + " answered HTTP " + std::to_string(creds->status) + " without credentials for role " +
                       name);
  }
  auto field = [&](const char* key) -> std::string {
    auto it = j.value.find(key);
    return it != j.value.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (field("Code") != "Success") {
    return Unavailable(where + " has no usable credentials for role " + name + " (Code \"" +
                       Printable(field("Code"), 40) + "\")");
  }
  AwsCredentials c;
  c.access_key_id = field("AccessKeyId");
  c.secret_access_key = field("SecretAccessKey");
  c.session_token = field("Token");
  c.source = "imds role " + name;
  RETURN_IF_ERROR(CheckCredentials(c, where, "AccessKeyId", "SecretAccessKey", "Token"));
  c.expiration = ParseAwsTimestamp(field("Expiration"));
  if (c.expiration <= 0) {
    return DataLoss(where + " answered an Expiration that is not a UTC timestamp (\"" +
                    Printable(field("Expiration"), 40) + "\")");
  }
  return c;
}

StatusOr<AwsCredentials> CredentialProvider::Lookup() {
  const std::string& s = options_.source;
  std::string tried;
  if (s == "env" || s == "chain") {
    auto c = CredentialsFromEnvironment();
    if (c.ok() || c.status().code() != Code::kNotFound || s == "env") return c;
    tried += c.status().message();
  }
  if (s == "file" || s == "chain") {
    auto c = CredentialsFromFile(FilePath(), Profile());
    if (c.ok() || c.status().code() != Code::kNotFound || s == "file") return c;
    tried += "; " + c.status().message();
  }
  auto c = FromImds();
  // An instance metadata service that does not answer may be restarting:
  // a transient failure, which the key cache rides out.
  if (c.ok() || s == "imds") return c;
  if (c.status().code() == Code::kUnavailable) {
    return Unavailable("no AWS credentials in the environment or the shared file (" + tried + "), and " +
                       c.status().message());
  }
  return Unauthenticated("no AWS credentials found: " + tried + "; " + c.status().message() +
                         ". Give them in the environment of the server, in the shared credentials file, or run on "
                         "an EC2 instance with an IAM role (docs/locker-setup.md, \"AWS KMS\")");
}

StatusOr<AwsCredentials> CredentialProvider::Get() {
  std::unique_lock<std::timed_mutex> lock = LockWithinDeadline(mu_);
  if (!lock.owns_lock()) return DeadlineExceeded("waited for another thread's AWS credentials lookup until the deadline");
  const std::time_t now = std::time(nullptr);
  if (have_ && now < refresh_at_) return current_;
  auto fresh = Lookup();
  if (!fresh.ok()) {
    // Still valid credentials outlive a failed refresh (IMDS restarting).
    if (have_ && (current_.expiration == 0 || now < current_.expiration)) return current_;
    return fresh.status();
  }
  current_ = std::move(fresh).value();
  have_ = true;
  refresh_at_ = current_.expiration == 0 ? now + kStaticRefreshSeconds
                                         : std::max(now + kStaticRefreshSeconds / 6, current_.expiration - kExpiryMarginSeconds);
  return current_;
}

void CredentialProvider::Invalidate() {
  std::unique_lock<std::timed_mutex> lock = LockWithinDeadline(mu_);
  if (lock.owns_lock()) refresh_at_ = 0;
}

}  // namespace keyring_locker::aws
