// DescribeConfig: what the server logs at startup. It names where each
// secret comes from so an operator can check the setup, and by construction
// never reads a secret field (token, SecretID, key password).
#include <sstream>

#include "keyring_backend/config/config.h"

namespace keyring_locker {
namespace {

std::string OrNone(const std::string& s) { return s.empty() ? "(none)" : s; }

std::string SecretSource(const std::string& file, const std::string& env) {
  if (!file.empty()) return "file " + file;
  if (!env.empty()) return "env $" + env;
  return "(not set)";
}

std::string AuthLine(const AuthOptions& a) {
  switch (a.method) {
    case AuthOptions::Method::kToken:
      return "token from " + SecretSource(a.token_file, a.token_env);
    case AuthOptions::Method::kAppRole:
      return "approle at auth/" + a.approle_mount + ", role_id " + a.role_id +
             ", secret_id from " + SecretSource(a.secret_id_file, a.secret_id_env);
    case AuthOptions::Method::kCert:
      return "cert at auth/" + a.cert_mount + ", role " + OrNone(a.cert_role);
  }
  return "unknown";
}

}  // namespace

std::string DescribeConfig(const Config& c) {
  try {
    std::ostringstream out;
    out << "roles:    keys in " << c.roles.store
        << (c.roles.store == "directory" ? " " + c.roles.directory : std::string()) << ", wrapped by "
        << c.roles.wrapper << "\n";
    if (c.roles.UsesVault()) {
      out << "locker:   " << c.locker_type << " at ";
      for (size_t i = 0; i < c.http.endpoints.size(); ++i) {
        out << (i ? ", " : "") << c.http.endpoints[i];
      }
      out << "; namespace " << OrNone(c.vault.ns) << "\n";
      out << "storage:  kv mount " << c.vault.kv_mount << " (version "
          << (c.vault.kv_version == 0 ? std::string("auto") : std::to_string(c.vault.kv_version))
          << "), transit " << c.vault.transit_mount << "/" << c.vault.transit_key << "\n";
    }
    if (c.roles.UsesKmip()) {
      const kmip::KmipTransportOptions& k = c.kmip.transport;
      out << "kmip:     ";
      for (size_t i = 0; i < k.servers.size(); ++i) out << (i ? ", " : "") << k.servers[i];
      out << "; KMIP up to " << c.kmip.max_version << "; verify " << (k.verify_peer ? "on" : "OFF") << ", min TLS "
          << k.min_tls_version << ", ca_file " << OrNone(k.ca_file) << ", client_cert " << OrNone(k.cert_file)
          << ", client_key " << OrNone(k.key_file) << ", server_name " << OrNone(k.server_name)
          << ", wrapping key " << OrNone(c.kmip.wrapping_key) << "\n";
    }
    if (c.roles.UsesAzure()) {
      const azure::AzureOptions& a = c.azure;
      out << "azure:    " << a.vault_url << " key " << a.key_name
          << (a.key_version.empty() ? std::string(" (latest version)") : " version " + a.key_version) << ", "
          << a.algorithm << "; verify " << (a.http.tls.verify ? "on" : "OFF") << ", ca_file "
          << OrNone(a.http.tls.ca_file) << "\n";
    }
    if (c.roles.UsesAwsKms()) {
      const AwsKmsOptions& a = c.aws_kms;
      out << "aws_kms:  key " << a.key_id << "; regions";
      for (size_t i = 0; i < a.regions.size(); ++i) {
        out << (i ? ", " : " ") << a.regions[i]
            << (a.endpoints.empty() ? std::string() : " " + a.endpoints[i]);
      }
      // Where credentials come from, never what they are.
      out << "; credentials " << a.credentials.source
          << (a.credentials.profile.empty() ? std::string() : " profile " + a.credentials.profile)
          << (a.credentials.file.empty() ? std::string() : " file " + a.credentials.file) << "; verify "
          << (a.verify ? "on" : "OFF") << ", ca_file " << OrNone(a.ca_file) << "\n";
    }
    out << "keys:     " << c.keys.prefix << "/" << c.keys.scope << "\n";
    if (c.roles.UsesVault()) {
      out << "auth:     " << AuthLine(c.auth) << "; renew at " << c.auth.renew_fraction << " of TTL\n";
      const TlsOptions& t = c.http.tls;
      out << "tls:      verify " << (t.verify ? "on" : "OFF") << ", min " << t.min_version << ", ca_file "
          << OrNone(t.ca_file) << ", ca_dir " << OrNone(t.ca_dir) << ", client_cert " << OrNone(t.client_cert)
          << ", client_key " << OrNone(t.client_key) << (t.client_key_password.empty() ? "" : " (password from file)")
          << ", pin " << OrNone(t.pinned_public_key) << "\n";
    }
    out << "network:  connect " << c.http.connect_timeout.count() << " ms, total "
        << c.http.total_timeout.count() << " ms, " << c.http.max_retries << " retries (backoff "
        << c.http.backoff_initial.count() << ".." << c.http.backoff_max.count()
        << " ms), responses up to " << c.http.max_response_bytes << " bytes\n";
    out << "cache:    versions re-read every " << c.cache.version_refresh.count()
        << " s, up to " << c.cache.max_keys << " keys\n";
    out << "audit:    "
        << (c.audit.path.empty() ? std::string("off")
                                 : c.audit.path + " as " + OrNone(c.audit.actor))
        << "\n";
    for (const std::string& w : c.warnings) out << "WARNING:  " << w << "\n";
    return out.str();
  } catch (const std::exception&) {
    return "(configuration summary unavailable: out of memory)\n";
  }
}

}  // namespace keyring_locker
