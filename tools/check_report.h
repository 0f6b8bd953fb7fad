// keyring-locker check: the pre-flight proof that a config and its locker
// give the plugin every right it will use and no more (docs/cli.md, "check").
// Each group of checks lives in its own tools/check_*.cc and adds lines to
// one CheckReport; tools/check_command.cc runs them and prints the report.
#pragma once

#include <string>
#include <vector>

#include "keyring_backend/config/config.h"

namespace keyring_locker {

class Backend;

enum class CheckResult { kPass, kInfo, kWarn, kFail };

struct CheckLine {
  std::string check;   // "vault.transit.decrypt", "tls.server_cert", ...
  CheckResult result;
  std::string detail;  // what was found; never a secret
  std::string fix;     // for WARN and FAIL: what to change (a policy stanza, a chmod ...)
};

class CheckReport {
 public:
  void Pass(const std::string& check, const std::string& detail) { Add({check, CheckResult::kPass, detail, ""}); }
  void Info(const std::string& check, const std::string& detail) { Add({check, CheckResult::kInfo, detail, ""}); }
  void Warn(const std::string& check, const std::string& detail, const std::string& fix) {
    Add({check, CheckResult::kWarn, detail, fix});
  }
  void Fail(const std::string& check, const std::string& detail, const std::string& fix) {
    Add({check, CheckResult::kFail, detail, fix});
  }
  void Add(CheckLine line) { lines_.push_back(std::move(line)); }
  const std::vector<CheckLine>& lines() const { return lines_; }
  bool failed() const {
    for (const auto& l : lines_)
      if (l.result == CheckResult::kFail) return true;
    return false;
  }

 private:
  std::vector<CheckLine> lines_;
};

const char* ResultName(CheckResult r);  // "PASS", "INFO", "WARN", "FAIL"

// Thresholds, named so docs/cli.md and the tests say the same.
inline constexpr long kCertWarnDays = 30;      // a certificate expiring sooner: WARN
inline constexpr long kSkewWarnSeconds = 60;   // clock skew over this: WARN
inline constexpr long kSkewFailSeconds = 300;  // over this: FAIL

// check_files.cc: the token / secret-id / key files' owner and mode, CA
// files readable, tls.verify.
void CheckConfigFiles(const Config& config, CheckReport& report);
// check_tls.cc: each locker endpoint's certificate (a separate TLS
// connection that verifies nothing and sends nothing secret), the client
// certificates named in the config, and the clock skew from the locker's
// HTTP Date header.
void CheckTlsAndClock(const Config& config, CheckReport& report);
// check_vault.cc: a Vault session of its own (so a token the backend cannot
// start with is still examined): login, token TTL and renewal, then
// sys/capabilities-self on every path the scope uses, against exactly what
// the plugin needs.
void CheckVaultPermissions(const Config& config, CheckReport& report);
// check_exercise.cc: what cannot be asked, done: a wrap + unwrap round trip
// of random bytes, a data key, a listing of the scope, the mount lookup,
// and the store's own checks (directory: owner, mode, a scratch file; KMIP:
// Query, Locate).
void CheckExercise(Backend& backend, CheckReport& report);

}  // namespace keyring_locker
