// Reads page 0 / redo headers through klk_datafile and, with --check, asks the
// locker for key records, each checked by the envelope (scope_records.h), and ListLive: no key bytes are
// fetched, so nothing secret can reach the output.

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "datafile/inspect.h"
#include "keyring_backend/backend.h"
#include "tools/commands.h"
#include "tools/inspect_verify.h"
#include "tools/scope_records.h"

namespace keyring_locker {

namespace {

using datafile::KeyNeed;

// Everything the files need, per key name.
struct Needed {
  std::set<uint32_t> exact;
  uint32_t from = 0;  // 0: no "from version" need (datafile/ never asks for version 0)
  bool any = false;   // a MySQL master key: the name itself, unversioned
};

std::map<std::string, Needed> Merge(const std::vector<datafile::FileReport>& reports) {
  std::map<std::string, Needed> out;
  for (const auto& r : reports) {
    for (const KeyNeed& n : r.needs) {
      Needed& e = out[n.name];
      if (n.kind == KeyNeed::Kind::kExact) e.exact.insert(n.version);
      if (n.kind == KeyNeed::Kind::kAnyVersion) e.any = true;
      if (n.kind == KeyNeed::Kind::kFromVersion) e.from = e.from == 0 ? n.version : std::min(e.from, n.version);
    }
  }
  return out;
}

std::string Describe(const std::string& name, const Needed& n) {
  std::string s = n.any ? "keyring id " + name : "key " + name;
  std::string parts;
  for (uint32_t v : n.exact) parts += (parts.empty() ? "" : ", ") + std::string("v") + std::to_string(v);
  if (n.from != 0) parts += (parts.empty() ? "" : ", ") + std::string("v") + std::to_string(n.from) + "..latest";
  return parts.empty() ? s : s + ": " + parts;
}

// Returns the missing "key N version V" items; empty when all are present.
// A version counts as present only when its record passes the envelope's
// check; damaged records (needed or not) go to `damaged`.
StatusOr<std::vector<std::string>> Check(Backend& backend, const std::map<std::string, Needed>& needed,
                                         std::vector<DamagedRecord>* damaged) {
  std::map<std::string, std::set<uint32_t>> versions, broken;
  ASSIGN_OR_RETURN(ScopeRecords records, ReadScopeRecords(backend));
  for (const auto& k : records.valid) versions[k.name].insert(k.version);
  for (const auto& d : records.damaged) broken[d.name].insert(d.version);
  *damaged = std::move(records.damaged);
  std::set<std::string> live;
  bool live_read = false;
  std::vector<std::string> missing;
  for (const auto& [name, n] : needed) {
    const std::set<uint32_t>& have = versions[name];
    const std::set<uint32_t>& bad = broken[name];
    const std::string label = n.any ? "keyring id " + name : "key " + name;
    auto version_label = [&](uint32_t v) {
      return label + " version " + std::to_string(v) + (bad.count(v) ? " (its record is damaged)" : "");
    };
    if (n.any) {  // a MySQL master key: the name is the key
      if (!live_read) {
        ASSIGN_OR_RETURN(std::vector<std::string> l, backend.keys().ListLive(Sweep::kPerRequest));
        live.insert(l.begin(), l.end());
        live_read = true;
      }
      if (!live.count(name)) {
        missing.push_back(label + " (no live version: deleted or never stored)");
      } else if (have.empty() && !bad.empty()) {
        missing.push_back(label + " (every record of it is damaged)");
      }
      continue;
    }
    if (have.empty() && bad.empty()) {
      missing.push_back(label + " (no version at all)");
      continue;
    }
    for (uint32_t v : n.exact) {
      if (!have.count(v)) missing.push_back(version_label(v));
    }
    if (n.from != 0) {
      const uint32_t latest = std::max(have.empty() ? 0 : *have.rbegin(), bad.empty() ? 0 : *bad.rbegin());
      for (uint32_t v = n.from; v <= latest; ++v) {
        if (!have.count(v)) missing.push_back(version_label(v));
      }
      if (latest < n.from) missing.push_back(version_label(n.from));
    }
  }
  return missing;
}

struct InspectArgs {
  datafile::InspectOptions options;
  bool check = false;
  bool verify = false;  // tools/inspect_verify.h
  std::vector<std::string> paths;
};

// Text on stdout, or with --json one document at the end: {"files": [{path,
// summary | error}], "problems": [...], "needed": [{name, needs}], "check":
// {scope, missing: [...], damaged: [{name, version, why}]}}.
class InspectOutput {
 public:
  explicit InspectOutput(bool json) : json_(json) {}
  void Problem(const std::string& p) {
    if (!json_) std::printf("%s\n", p.c_str());
    doc_["problems"].push_back(p);
  }
  void File(const std::string& path, const datafile::FileReport& r) {
    if (r.error.ok()) {
      if (!json_) std::printf("%s: %s\n", path.c_str(), r.summary.c_str());
      doc_["files"].push_back({{"path", path}, {"summary", r.summary}});
    } else {
      if (!json_) std::printf("%s: cannot inspect: %s\n", path.c_str(), r.error.ToString().c_str());
      doc_["files"].push_back({{"path", path}, {"error", r.error.ToString()}});
    }
  }
  void Needed(const std::map<std::string, Needed>& needed) {
    doc_["needed"] = nlohmann::json::array();
    if (needed.empty() && !json_) std::printf("needed keys: none\n");
    for (const auto& [name, n] : needed) {
      if (!json_) std::printf("needed: %s\n", Describe(name, n).c_str());
      doc_["needed"].push_back({{"name", name}, {"needs", Describe(name, n)}});
    }
  }
  void Check(const std::string& scope, const std::vector<std::string>& missing,
             const std::vector<DamagedRecord>& damaged) {
    nlohmann::json d = nlohmann::json::array();
    for (const auto& r : damaged) d.push_back({{"name", r.name}, {"version", r.version}, {"why", r.why}});
    doc_["check"] = {{"scope", scope}, {"missing", missing}, {"damaged", d}};
    if (json_) return;
    if (missing.empty()) {
      std::printf("check: every needed key version is in the locker (scope %s)%s\n", scope.c_str(),
                  damaged.empty() ? "" : ", but other records are damaged");
    }
    for (const auto& m : missing) std::printf("check: MISSING %s\n", m.c_str());
    ReportDamaged(damaged, "inspect --check");
  }
  void Finish() {
    if (json_) PrintJson(doc_);
  }

 private:
  bool json_;
  nlohmann::json doc_ = {{"files", nlohmann::json::array()}, {"problems", nlohmann::json::array()}};
};

int RunInspect(const Cli& cli, const InspectArgs& args) {
  if (args.verify) return RunInspectVerify(cli, VerifyArgs{args.options, args.paths});
  if (args.check && cli.config_path.empty()) {
    std::fprintf(stderr, "keyring-locker inspect: --check needs --config FILE (the locker to ask)\n");
    return kExitUsage;
  }
  InspectOutput out(cli.json);
  std::vector<std::string> problems;
  const std::vector<std::string> files = datafile::CollectInnodbFiles(args.paths, problems);
  int status = 0;
  for (const auto& p : problems) {
    out.Problem(p);
    status = 2;
  }
  if (files.empty() && problems.empty()) {
    out.Problem("no InnoDB files found under the given paths (ibdata*, undo*, *.ibd, ib_logfile*, #ib_redo*)");
    status = 2;
  }
  std::vector<datafile::FileReport> reports;
  for (const auto& f : files) {
    datafile::FileReport r = datafile::InspectFile(f, args.options);
    out.File(f, r);
    if (!r.error.ok()) status = 2;
    reports.push_back(std::move(r));
  }
  const auto needed = Merge(reports);
  out.Needed(needed);
  if (!args.check) {
    out.Finish();
    return status;
  }

  auto config = LoadConfigFile(cli.config_path);
  if (!config.ok()) return Fail(cli, config.status());
  auto backend = Backend::Open(*config);
  if (!backend.ok()) return Fail(cli, backend.status());
  for (const auto& w : (*backend)->warnings()) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  std::vector<DamagedRecord> damaged;
  auto missing = Check(**backend, needed, &damaged);
  if (!missing.ok()) {
    return Fail(cli, missing.status().Annotate("inspect --check: asking the locker failed"));
  }
  out.Check(config->keys.scope, *missing, damaged);
  out.Finish();
  if (missing->empty()) return damaged.empty() ? status : kExitFailed;
  std::fflush(stdout);  // the per-file lines first, also when both streams go to one file
  std::fprintf(stderr,
               "keyring-locker: inspect --check: %zu needed key version(s) missing from scope %s (first: %s); "
               "restore them from a locker backup (or undelete them with 'keyring-locker undelete NAME VERSION') "
               "before starting the server on these files, and do not purge them\n",
               missing->size(), config->keys.scope.c_str(), missing->front().c_str());
  return kExitFailed;
}

}  // namespace

void AddInspectCommand(Cli& cli) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* sub = cli.AddCommand("inspect",
                                 "which keys InnoDB files need (files, or a datadir); with --check, whether\n"
                                 "the locker holds them all",
                                 [&cli, args] { return RunInspect(cli, *args); });
  sub->add_flag("--pages", args->options.scan_pages, "read every page for the key versions in use");
  sub->add_flag("--check", args->check, "ask the locker (--config) whether every needed key version exists");
  sub->add_flag("--verify", args->verify,
                "fetch each needed key from the locker (--config) and prove it opens the file (MySQL: unwrap the\n"
                "tablespace key, check its CRC-32C); PASS/FAIL per file, then the key versions safe to retire");
  sub->add_option("PATH", args->paths, "InnoDB files or a datadir")->required();
  sub->footer(
      "Exit status: 0 all files read (and with --check every needed key version is in the locker;\n"
      "with --verify every file PASSed), 1 a needed key is missing, wrong or damaged, or the locker\n"
      "could not be asked, 2 some file could not be read, 64 usage. docs/inspect.md.");
}

}  // namespace keyring_locker
