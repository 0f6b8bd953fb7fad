// check: the files the config names. Secrets (token, secret ID, private
// keys) must be readable by their owner only, as the plugin itself demands
// (it refuses a group- or world-readable secret file); CA files must be
// readable; TLS verification off is said loudly.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "tools/check_report.h"

namespace keyring_locker {
namespace {

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string OwnerName(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);  // the CLI is single-threaded here
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

// A secret file: present, a regular file, mode 0400 or 0600 (no bits for
// group or others), readable by whoever runs the check.
void CheckSecretFile(const std::string& check, const std::string& setting, const std::string& path,
                     CheckReport& report) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    report.Fail(check, setting + " " + path + " does not exist or cannot be reached",
                "create it (docs/locker-setup.md, step 4) or fix " + setting);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    report.Fail(check, setting + " " + path + " is not a regular file", "point " + setting + " at the file itself");
    return;
  }
  const std::string what = setting + " " + path + " (mode " + Octal(st.st_mode) + ", owner " + OwnerName(st.st_uid) + ")";
  const std::string fix = "chmod 0400 " + path + " && chown <the database's OS user> " + path;
  if (st.st_mode & S_IROTH) {
    report.Fail(check, what + " is world-readable: every local user can read the secret", fix);
    return;
  }
  if (st.st_mode & (S_IRWXG | S_IWOTH | S_IXOTH)) {
    report.Fail(check, what + " grants its group or others access; the plugin refuses such a file", fix);
    return;
  }
  if (::access(path.c_str(), R_OK) != 0) {
    report.Fail(check, what + " is not readable by the user running this check (" + OwnerName(::geteuid()) + ")",
                "run the check as the database's OS user (runuser -u mysql -- keyring-locker ...), or " + fix);
    return;
  }
  if (st.st_uid != ::geteuid()) {
    report.Warn(check, what + " is owned by another user than the one running this check (" +
                           OwnerName(::geteuid()) + ")",
                "the server reads it as its own OS user: make that user the owner (" + fix + ")");
    return;
  }
  report.Pass(check, what);
}

void CheckReadable(const std::string& check, const std::string& setting, const std::string& path,
                   CheckReport& report) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), R_OK) != 0) {
    report.Fail(check, setting + " " + path + " is missing, not a file, or not readable by " + OwnerName(::geteuid()),
                "install the locker's CA certificate there (mode 0444) or fix " + setting);
    return;
  }
  report.Pass(check, setting + " " + path + " readable");
}

void VerifyOff(const std::string& check, const std::string& setting, const std::string& service, CheckReport& report) {
  report.Warn(check,
              "TLS VERIFICATION IS OFF (" + setting + " = false): anything on the network path to " + service +
                  " can pose as it and be handed the credentials and the keys",
              "set " + setting + " to true and name the CA that signed the server's certificate");
}

}  // namespace

void CheckConfigFiles(const Config& config, CheckReport& report) {
  for (const auto& w : config.warnings) report.Warn("config.warning", w, "see docs/configuration.md");
  if (config.roles.UsesVault()) {
    const AuthOptions& a = config.auth;
    if (a.method == AuthOptions::Method::kToken) {
      if (!a.token_file.empty()) {
        CheckSecretFile("files.token_file", "auth.token_file", a.token_file, report);
      } else {
        report.Warn("files.token_file", "the token comes from the environment variable " + a.token_env,
                    "prefer auth.token_file (mode 0400) or AppRole: a server's environment is easy to leak "
                    "(/proc/PID/environ, crash reports)");
      }
    }
    if (a.method == AuthOptions::Method::kAppRole && !a.secret_id_file.empty()) {
      CheckSecretFile("files.secret_id_file", "auth.approle.secret_id_file", a.secret_id_file, report);
    }
    const TlsOptions& t = config.http.tls;
    if (!t.ca_file.empty()) CheckReadable("files.ca_file", "tls.ca_file", t.ca_file, report);
    if (!t.client_key.empty()) CheckSecretFile("files.client_key", "tls.client_key", t.client_key, report);
    if (!t.verify) VerifyOff("tls.verify", "tls.verify", "the locker", report);
  }
  if (config.roles.UsesKmip()) {
    const auto& k = config.kmip.transport;
    if (!k.ca_file.empty()) CheckReadable("files.kmip_ca_file", "kmip.ca_file", k.ca_file, report);
    if (!k.key_file.empty()) CheckSecretFile("files.kmip_client_key", "kmip.client_key", k.key_file, report);
    if (!k.verify_peer) VerifyOff("kmip.verify", "kmip.verify", "the KMIP server", report);
  }
  if (config.roles.UsesAwsKms()) {
    if (!config.aws_kms.ca_file.empty())
      CheckReadable("files.aws_kms_ca_file", "aws_kms.ca_file", config.aws_kms.ca_file, report);
    if (!config.aws_kms.verify) VerifyOff("aws_kms.verify", "aws_kms.verify", "AWS KMS", report);
  }
  if (config.roles.UsesAzure()) {
    const azure::AzureOptions& z = config.azure;
    if (!z.secret_file.empty()) CheckSecretFile("files.azure_secret", "azure_key_vault.secret_file", z.secret_file, report);
    if (!z.certificate_file.empty())
      CheckSecretFile("files.azure_certificate", "azure_key_vault.certificate_file", z.certificate_file, report);
    if (!z.http.tls.verify) VerifyOff("azure_key_vault.verify", "azure_key_vault.tls.verify", "Azure Key Vault", report);
  }
}

}  // namespace keyring_locker
