// keyring-locker check: validates the config, then proves against the live
// locker every permission the plugin will use and nothing more, one line
// per check with the fix for each failure (docs/cli.md, "check"). The
// groups of checks are in tools/check_*.cc; this file runs them in order
// and prints the report. Exit 0 when nothing FAILed (WARN allowed), 1 else.
#include <cstdio>

#include "keyring_backend/backend.h"
#include "plugin/mariadb/datadir_marker.h"
#include "tools/check_report.h"
#include "tools/commands.h"

namespace keyring_locker {

const char* ResultName(CheckResult r) {
  switch (r) {
    case CheckResult::kPass: return "PASS";
    case CheckResult::kInfo: return "INFO";
    case CheckResult::kWarn: return "WARN";
    case CheckResult::kFail: return "FAIL";
  }
  return "?";
}

namespace {

// The MariaDB plugin binds a datadir to one scope with a marker file in the
// datadir (plugin/mariadb/datadir_marker.h); the locker itself keeps no
// record of datadirs, so only --datadir can be compared.
void CheckBinding(Backend& b, const std::string& datadir, CheckReport& report) {
  const mariadb::ScopeIdentity configured = mariadb::ScopeIdentity::From(b.keys().Identity());
  if (datadir.empty()) {
    report.Info("binding.datadir",
                "this config's keys are " + configured.Describe() + "; a datadir records the scope it is bound to "
                "in its " + mariadb::kMarkerFileName + " (the locker keeps no list of datadirs): add --datadir DIR "
                "to compare one");
    return;
  }
  const std::string marker = datadir + "/" + mariadb::kMarkerFileName;
  auto recorded = mariadb::ReadMarker(marker);
  if (!recorded.ok()) {
    if (recorded.status().code() == Code::kNotFound) {
      report.Info("binding.datadir", datadir + " is not bound yet: the server's first start with the plugin binds it "
                                               "to " + configured.Describe());
    } else {
      report.Fail("binding.datadir", recorded.status().message(), "restore the marker from a backup of this datadir");
    }
    return;
  }
  if (!recorded->SameKeys(configured)) {
    report.Fail("binding.datadir",
                datadir + " is bound to " + recorded->Describe() + " (locker " + recorded->urls +
                    ") but this config names " + configured.Describe() + "; the server would refuse to start",
                "fix keys.prefix / keys.scope / locker.kv_mount / locker.namespace to the recorded scope");
    return;
  }
  report.Pass("binding.datadir", datadir + " is bound to this scope: " + configured.Describe());
}

void Print(const Cli& cli, const CheckReport& report) {
  if (cli.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& l : report.lines()) {
      rows.push_back({{"check", l.check}, {"result", ResultName(l.result)}, {"detail", l.detail}, {"fix", l.fix}});
    }
    PrintJson(rows);
    return;
  }
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& l : report.lines()) {
    ++counts[static_cast<int>(l.result)];
    std::printf("%s %s: %s\n", ResultName(l.result), l.check.c_str(), l.detail.c_str());
    if (!l.fix.empty()) std::printf("     fix: %s\n", l.fix.c_str());
  }
  std::printf("check: %zu PASS, %zu INFO, %zu WARN, %zu FAIL\n", counts[0], counts[1], counts[2], counts[3]);
}

int RunCheck(const Cli& cli, const std::string& datadir) {
  if (cli.config_path.empty()) {
    std::fprintf(stderr, "keyring-locker: check needs --config FILE: the keyring_locker JSON config to check\n");
    return kExitUsage;
  }
  CheckReport report;
  auto config = LoadConfigFile(cli.config_path);
  if (!config.ok()) {
    report.Fail("config", config.status().message(), "fix the field named above (docs/configuration.md)");
    Print(cli, report);
    return kExitFailed;
  }
  report.Pass("config", cli.config_path + " is valid: store " + config->roles.store + ", wrapper " +
                            config->roles.wrapper + ", scope " + config->keys.prefix + "/" + config->keys.scope);
  CheckConfigFiles(*config, report);
  CheckTlsAndClock(*config, report);
  if (config->roles.UsesVault()) CheckVaultPermissions(*config, report);
  // The backend as the plugin opens it, but without reading the scope (the
  // listing is a check of its own) and without giving up on a locker that
  // is down (its own lines say so).
  auto backend = Backend::Open(*config, /*require_locker=*/false, /*read_versions=*/false);
  if (!backend.ok()) {
    report.Fail("locker.connect", "the plugin would refuse to start: " + backend.status().message(),
                "fix what the FAIL lines above name; the message says which step failed");
  } else {
    report.Pass("locker.connect", (*backend)->Describe() + ": login and start-up checks pass");
    for (const auto& w : (*backend)->warnings()) report.Warn("locker.warning", w, "see docs/security.md");
    CheckExercise(**backend, report);
    CheckBinding(**backend, datadir, report);
  }
  Print(cli, report);
  return report.failed() ? kExitFailed : kExitOk;
}

}  // namespace

void AddCheckCommand(Cli& cli) {
  auto datadir = std::make_shared<std::string>();
  CLI::App* sub = cli.AddCommand(
      "check",
      "pre-flight: validate the config and prove the locker grants every right the plugin needs\n"
      "and no more; one PASS/INFO/WARN/FAIL line per check with the fix; exit 1 on any FAIL",
      [&cli, datadir] { return RunCheck(cli, *datadir); });
  sub->add_option("--datadir", *datadir, "a MariaDB datadir: check it is bound to this config's scope")
      ->type_name("DIR");
}

}  // namespace keyring_locker
