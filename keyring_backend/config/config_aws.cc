// The "aws_kms" group: AWS KMS as the key wrapper (wrapper.type "aws_kms").
#include <set>

#include "keyring_backend/config/config_groups.h"

namespace keyring_locker::config_internal {
namespace {

bool IsRegion(const std::string& r) {
  if (r.empty() || r.size() > 32 || r.front() == '-' || r.back() == '-') return false;
  for (char c : r) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// "https://host[:port]" (or "http://" for imds_endpoint): no user, path or
// whitespace. Returns the problem, empty when fine.
std::string UrlProblem(const std::string& url, const std::string& scheme) {
  if (url.rfind(scheme, 0) != 0) return "must start with " + scheme;
  const std::string host = url.substr(scheme.size());
  if (host.empty()) return "has no host name";
  if (host.find_first_of("@/?# \t") != std::string::npos) return "must be " + scheme + "host[:port] only";
  return "";
}

Status CheckAbsolutePath(const GroupReader& g, const char* key, const std::string& path) {
  if (path.empty() || path.front() == '/') return Status::Ok();
  return g.Error(key, "\"" + path + "\" is not an absolute path",
                 "give the full path; the server's working directory is its data directory");
}

}  // namespace

Status ParseAwsKms(const GroupReader& root, Config* config) {
  GroupReader g = root.Group("aws_kms");
  RETURN_IF_ERROR(g.Expect({"region", "regions", "endpoints", "key_id", "credentials", "profile",
                            "credentials_file", "imds_endpoint", "ca_file", "verify"}));
  AwsKmsOptions& a = config->aws_kms;
  if (g.Has("region") && g.Has("regions")) {
    return g.Error("region", "is set together with aws_kms.regions", "keep one: \"regions\" lists several in order");
  }
  if (g.Has("region")) {
    std::string region;
    RETURN_IF_ERROR(g.String("region", &region));
    a.regions = {region};
  } else if (g.Has("regions")) {
    RETURN_IF_ERROR(g.StringList("regions", &a.regions));
  } else {
    return g.Error("region", "is required", "name the KMS key's region, e.g. \"eu-west-1\"");
  }
  if (a.regions.empty()) return g.Error("regions", "is empty", "list the key's region first, e.g. [\"eu-west-1\"]");
  std::set<std::string> seen;
  for (const std::string& r : a.regions) {
    if (!IsRegion(r)) {
      return g.Error("regions", "\"" + r + "\" is not an AWS region name", "write it as AWS does, e.g. \"eu-west-1\"");
    }
    if (!seen.insert(r).second) return g.Error("regions", "\"" + r + "\" is listed twice", "list each region once");
  }
  RETURN_IF_ERROR(g.StringList("endpoints", &a.endpoints));
  if (g.Has("endpoints") && a.endpoints.size() != a.regions.size()) {
    return g.Error("endpoints", "lists " + std::to_string(a.endpoints.size()) + " URLs for " +
                                    std::to_string(a.regions.size()) + " regions",
                   "give one https:// URL per region, in the same order (or leave it out for AWS's own)");
  }
  for (std::string& url : a.endpoints) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    const std::string problem = UrlProblem(url, "https://");
    if (!problem.empty()) {
      return g.Error("endpoints", "\"" + url + "\" " + problem,
                     "write it as \"https://kms.eu-west-1.amazonaws.com\" (keys cross it: no plain http)");
    }
  }

  RETURN_IF_ERROR(g.String("key_id", &a.key_id));
  if (a.key_id.empty()) {
    return g.Error("key_id", "is required",
                   "name the symmetric KMS key that wraps new keys: its ARN, id or \"alias/NAME\"");
  }
  for (unsigned char c : a.key_id) {
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      return g.Error("key_id", "contains a space, quote or non-ASCII character", "copy the key's ARN again");
    }
  }
  if (a.key_id.rfind("arn:", 0) == 0) {
    // arn:aws:kms:<region>:<account>:key/<id>: an ARN names one region.
    std::vector<std::string> f;
    size_t start = 0;
    for (int i = 0; i < 5 && start != std::string::npos; ++i) {
      const size_t colon = a.key_id.find(':', start);
      f.push_back(a.key_id.substr(start, colon == std::string::npos ? colon : colon - start));
      start = colon == std::string::npos ? colon : colon + 1;
    }
    if (f.size() != 5 || start == std::string::npos || f[2] != "kms") {
      return g.Error("key_id", "\"" + a.key_id + "\" is not a KMS key ARN",
                     "write it as \"arn:aws:kms:eu-west-1:111122223333:key/<id>\", or give the key id");
    }
    if (a.regions.size() > 1) {
      return g.Error("key_id", "is an ARN, which names one region, but aws_kms.regions lists " +
                                   std::to_string(a.regions.size()),
                     "with several regions give a multi-region key's id (\"mrk-...\") or an alias that exists in "
                     "every listed region");
    }
    if (f[3] != a.regions[0]) {
      return g.Error("key_id", "names region \"" + f[3] + "\" but aws_kms.region is \"" + a.regions[0] + "\"",
                     "set the region to the key's own");
    }
  }

  aws::CredentialOptions& c = a.credentials;
  RETURN_IF_ERROR(g.String("credentials", &c.source));
  if (c.source != "chain" && c.source != "env" && c.source != "file" && c.source != "imds") {
    return g.Error("credentials", "\"" + c.source + "\" is not a credentials source",
                   "use \"chain\" (environment, then the shared file, then the instance role), \"env\", \"file\" "
                   "or \"imds\"");
  }
  const bool file_used = c.source == "chain" || c.source == "file";
  const bool imds_used = c.source == "chain" || c.source == "imds";
  for (const char* key : {"profile", "credentials_file"}) {
    if (!file_used && g.Has(key)) {
      return g.Error(key, "is set but aws_kms.credentials is \"" + c.source + "\"",
                     "remove it, or set credentials to \"file\" or \"chain\"");
    }
  }
  if (!imds_used && g.Has("imds_endpoint")) {
    return g.Error("imds_endpoint", "is set but aws_kms.credentials is \"" + c.source + "\"",
                   "remove it, or set credentials to \"imds\" or \"chain\"");
  }
  RETURN_IF_ERROR(g.String("profile", &c.profile));
  RETURN_IF_ERROR(g.String("credentials_file", &c.file));
  RETURN_IF_ERROR(CheckAbsolutePath(g, "credentials_file", c.file));
  RETURN_IF_ERROR(g.String("imds_endpoint", &c.imds_endpoint));
  while (!c.imds_endpoint.empty() && c.imds_endpoint.back() == '/') c.imds_endpoint.pop_back();
  if (const std::string problem = UrlProblem(c.imds_endpoint, "http://"); !problem.empty()) {
    return g.Error("imds_endpoint", "\"" + c.imds_endpoint + "\" " + problem,
                   "leave it out (http://169.254.169.254), or give the metadata service's http:// address");
  }
  RETURN_IF_ERROR(g.String("ca_file", &a.ca_file));
  RETURN_IF_ERROR(CheckAbsolutePath(g, "ca_file", a.ca_file));
  RETURN_IF_ERROR(g.Bool("verify", &a.verify));
  if (!a.verify) {
    config->warnings.push_back(
        "aws_kms.verify is false: the KMS endpoint's certificate and name are NOT checked, so anyone on the network "
        "path can pose as AWS KMS and receive every key. Set aws_kms.verify to true (and aws_kms.ca_file for a "
        "private endpoint's CA)");
  }
  return Status::Ok();
}

}  // namespace keyring_locker::config_internal
