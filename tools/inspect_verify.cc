#include "tools/inspect_verify.h"

#include <cstdio>

#include "common/printable.h"
#include "keyring_backend/backend.h"
#include "tools/inspect_retire.h"
#include "tools/inspect_verifier.h"
#include "tools/progress.h"

namespace keyring_locker {

namespace {

using nlohmann::json;

constexpr char kRetireWarning[] =
    "only the files given were inspected: backups, binary and relay logs, redo logs and other datadirs may still "
    "need these keys. Inspect every datadir and every backup you may restore before retiring any of them; nothing "
    "was retired (this command only reports)";

json VerdictJson(const Verdict& v) {
  json keys = json::array();
  for (const auto& k : v.keys) {
    json e = {{"name", k.name}, {"result", k.ok ? "PASS" : "FAIL"}, {"detail", k.detail}};
    if (k.version != 0) e["version"] = k.version;
    keys.push_back(std::move(e));
  }
  return {{"path", v.path},     {"result", v.pass ? "PASS" : "FAIL"}, {"readable", v.readable},
          {"summary", v.summary}, {"reason", v.reason},                  {"keys", std::move(keys)}};
}

}  // namespace

int RunInspectVerify(const Cli& cli, const VerifyArgs& args) {
  if (cli.config_path.empty()) {
    std::fprintf(stderr, "keyring-locker inspect: --verify needs --config FILE (the locker to fetch keys from)\n");
    return kExitUsage;
  }
  auto backend = OpenBackend(cli, "inspect --verify");
  if (!backend.ok()) return Fail(cli, backend.status());
  const std::string scope = (*backend)->config().keys.scope;

  std::vector<std::string> problems;
  const std::vector<std::string> files = datafile::CollectInnodbFiles(args.paths, problems);
  if (files.empty() && problems.empty()) {
    problems.push_back("no InnoDB files found under the given paths (ibdata*, undo*, *.ibd, ib_logfile*, #ib_redo*)");
  }
  std::vector<Verdict> verdicts;
  KeepSet keep;
  {
    Verifier verifier((*backend)->keys());
    Progress progress("files", files.size(), Progress::Wanted(cli.json));
    for (const auto& f : files) {
      Verdict v;
      verifier.Verify(datafile::InspectFile(f, args.inspect), v, keep);
      verdicts.push_back(std::move(v));
      progress.Step();
    }
  }
  size_t passed = 0, failed = 0, unreadable = 0;
  for (const auto& v : verdicts) {
    passed += v.pass;
    failed += !v.pass && v.readable;
    unreadable += !v.readable;
  }
  // A file that could not be read may need any key: no list then.
  std::string retire_skipped;
  StatusOr<RetireReport> retire = Internal("not computed");
  if (unreadable != 0 || !problems.empty()) {
    retire_skipped = "not computed: " + std::to_string(unreadable + problems.size()) +
                     " file(s) or path(s) could not be read, and a key only they need would be listed";
  } else {
    retire = FindRetirable(**backend, keep);
    if (!retire.ok()) retire_skipped = "not computed: reading the scope failed: " + retire.status().ToString();
  }

  if (cli.json) {
    json doc = {{"scope", scope},
                {"problems", problems},
                {"summary", {{"files", verdicts.size()}, {"passed", passed}, {"failed", failed}, {"unreadable", unreadable}}}};
    json& list = doc["files"] = json::array();
    for (const auto& v : verdicts) list.push_back(VerdictJson(v));
    json r = {{"computed", retire_skipped.empty()}, {"warning", kRetireWarning}};
    if (!retire_skipped.empty()) r["why_not"] = retire_skipped;
    if (retire.ok()) {
      json c = json::array();
      for (const auto& e : retire->candidates) c.push_back({{"name", e.name}, {"version", e.version}, {"why", e.why}});
      r["versions"] = std::move(c);
      r["not_judged"] = retire->not_judged;
      r["damaged_records"] = retire->damaged;
    }
    doc["safe_to_retire"] = std::move(r);
    PrintJson(doc);
  } else {
    for (const auto& p : problems) std::printf("FAIL %s\n", Printable(p, 2000).c_str());
    for (const auto& v : verdicts) {
      std::printf("%s %s: %s\n", v.pass ? "PASS" : "FAIL", Printable(v.path, 1000).c_str(),
                  Printable(v.reason, 4000).c_str());
    }
    std::printf("verify: %zu file(s): %zu PASS, %zu FAIL (%zu unreadable) against scope %s\n", verdicts.size(), passed,
                failed + unreadable, unreadable, scope.c_str());
    if (!retire_skipped.empty()) {
      std::printf("safe to retire: %s\n", retire_skipped.c_str());
    } else {
      if (retire->candidates.empty()) std::printf("safe to retire: none\n");
      for (const auto& e : retire->candidates) {
        std::printf("safe to retire: %s version %u: %s\n", Printable(e.name, 200).c_str(), e.version, e.why.c_str());
      }
      if (!retire->not_judged.empty()) {
        std::printf("not judged: %zu key(s) that are neither MariaDB key ids nor InnoDB master keys (first: %s); "
                    "no data file tells who uses them\n",
                    retire->not_judged.size(), Printable(retire->not_judged.front(), 200).c_str());
      }
      std::printf("WARNING: %s\n", kRetireWarning);
    }
  }
  const bool retire_failed = unreadable == 0 && problems.empty() && !retire.ok();  // the locker's fault
  if (failed != 0 || retire_failed) return kExitFailed;
  if (unreadable != 0 || !problems.empty()) return 2;
  return kExitOk;
}

}  // namespace keyring_locker
