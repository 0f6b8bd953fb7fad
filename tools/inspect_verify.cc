#include "tools/inspect_verify.h"

#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "common/printable.h"
#include "datafile/mysql_key_check.h"
#include "keyring_backend/backend.h"
#include "plugin/mysql/mysql_key_model.h"
#include "tools/inspect_retire.h"
#include "tools/progress.h"

namespace keyring_locker {

namespace {

using datafile::KeyNeed;
using nlohmann::json;

struct KeyResult {
  std::string name;
  uint32_t version = 0;  // 0: a MySQL keyring id (its live generation)
  bool ok = false;
  std::string detail;
};

struct Verdict {
  std::string path;
  std::string summary;
  bool readable = false;  // page 0 / the log header could be read
  bool pass = false;
  std::string reason;
  std::vector<KeyResult> keys;
};

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// "v1..v3" for a run, "v1, v4" otherwise.
std::string VersionList(const std::vector<uint32_t>& vs) {
  if (vs.empty()) return "";
  bool run = vs.size() > 2;
  for (size_t i = 1; i < vs.size(); ++i) run = run && vs[i] == vs[i - 1] + 1;
  if (run) return "v" + std::to_string(vs.front()) + "..v" + std::to_string(vs.back());
  std::string s;
  for (uint32_t v : vs) s += (s.empty() ? "v" : ", v") + std::to_string(v);
  return s;
}

bool LockerDown(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded ||
         s.code() == Code::kUnauthenticated || s.code() == Code::kPermissionDenied;
}

// Asks the locker at most once per key (version), and not at all once it
// stopped answering: 1,000 files under one master key cost one fetch, and a
// locker that is down costs one timeout, not one per file.
class Verifier {
 public:
  explicit Verifier(KeyService& keys) : keys_(keys), mysql_(keys) {}

  void Verify(const datafile::FileReport& r, Verdict& v, KeepSet& keep) {
    v.path = r.path;
    v.summary = r.summary;
    if (!r.error.ok()) {
      v.reason = "cannot inspect: " + r.error.ToString();
      return;
    }
    v.readable = true;
    if (r.mysql_info) return VerifyMySql(*r.mysql_info, v, keep);
    if (r.needs.empty()) {
      v.pass = true;
      v.reason = "not encrypted: needs no key";
      return;
    }
    v.pass = true;
    std::vector<std::string> parts;
    for (const KeyNeed& n : r.needs) parts.push_back(VerifyMaria(n, v, keep));
    for (const auto& p : parts) v.reason += (v.reason.empty() ? "" : "; ") + p;
    if (v.pass) v.reason += " (no page was decrypted)";
  }

 private:
  void VerifyMySql(const datafile::MySqlEncryptionInfo& info, Verdict& v, KeepSet& keep) {
    if (info.version == 1) {
      keep.mysql_v1_ids.insert(info.master_key_id);
      v.reason = "encryption information v1 (MySQL 5.7.11) names master key " + std::to_string(info.master_key_id) +
                 " by the server's server_id, which the file does not record: cannot tell which keyring id opens "
                 "it; rotate the master key on the server (ALTER INSTANCE ROTATE INNODB MASTER KEY) to rewrite it";
      return;
    }
    const std::string name = datafile::MySqlMasterKeyName(info);
    KeyResult k{name.empty() ? "(InnoDB default master key)" : name, 0, false, ""};
    const crypto::SecureBuffer default_key = name.empty() ? datafile::MySqlDefaultMasterKey() : crypto::SecureBuffer();
    const crypto::SecureBuffer* master = &default_key;
    if (!name.empty()) {
      const StatusOr<KeyHandle>& fetched = Live(name);
      if (!fetched.ok()) {
        keep.mysql_all.insert(name);
        k.detail = fetched.status().code() == Code::kNotFound
                       ? "keyring id " + name + " is not in the locker (no live generation: never stored here, "
                                                "deleted, or another scope)"
                       : "fetching keyring id " + name + " failed: " + fetched.status().ToString();
        return Finish(v, std::move(k));
      }
      master = &(*fetched)->bytes;
    }
    auto check = datafile::CheckMySqlMasterKey(info, *master);
    const std::string label = name.empty() ? "InnoDB's default master key (id 0)" : "keyring id " + name;
    if (!check.ok()) {
      k.detail = label + " cannot open this file: " + check.status().message();
    } else if (!check->match) {
      k.detail = label + " does not open this file: CRC-32C mismatch after unwrapping the tablespace key (stored " +
                 Hex32(check->stored_crc) + ", computed " + Hex32(check->computed_crc) +
                 "): the locker holds different bytes under this id than the file was written with (a key "
                 "restored from the wrong backup, or stored again after a removal), or the file's encryption "
                 "information is damaged";
    } else {
      k.ok = true;
      k.detail = label + " opens the tablespace key (CRC-32C " + Hex32(check->stored_crc) + " matches)" +
                 (name.empty() ? "; no keyring key needed" : "");
    }
    if (!name.empty()) (k.ok ? keep.mysql_live : keep.mysql_all).insert(name);
    Finish(v, std::move(k));
  }

  void Finish(Verdict& v, KeyResult k) {
    v.pass = k.ok;
    v.reason = k.detail;
    v.keys.push_back(std::move(k));
  }

  // Checks one need; returns the part of the reason it contributes.
  std::string VerifyMaria(const KeyNeed& n, Verdict& v, KeepSet& keep) {
    std::vector<uint32_t> wanted;
    if (n.kind == KeyNeed::Kind::kExact) {
      wanted.push_back(n.version);
    } else {
      const StatusOr<uint32_t>& latest = Latest(n.name);
      if (!latest.ok() || *latest < n.version) {
        keep.from[n.name] = std::min(keep.from.count(n.name) ? keep.from[n.name] : n.version, n.version);
        v.pass = false;
        const std::string why = !latest.ok() ? "reading its versions failed: " + latest.status().ToString()
                                : *latest == 0 ? "the locker has no version of it"
                                               : "the locker's latest version is v" + std::to_string(*latest);
        v.keys.push_back({n.name, n.version, false, why});
        return "FAIL key " + n.name + " v" + std::to_string(n.version) + "..latest: " + why;
      }
      for (uint32_t ver = n.version; ver <= *latest; ++ver) wanted.push_back(ver);
    }
    std::vector<uint32_t> good;
    std::string failed;
    for (uint32_t ver : wanted) {
      keep.versions[n.name].insert(ver);
      const StatusOr<KeyHandle>& key = Version(n.name, ver);
      KeyResult k{n.name, ver, key.ok(), ""};
      if (key.ok()) {
        good.push_back(ver);
      } else {
        k.detail = key.status().code() == Code::kNotFound ? "not in the locker" : key.status().ToString();
        failed += (failed.empty() ? "" : "; ") + std::string("key ") + n.name + " version " + std::to_string(ver) +
                  " " + (key.status().code() == Code::kNotFound ? "is " : "does not unwrap: ") + k.detail;
        v.pass = false;
      }
      v.keys.push_back(std::move(k));
    }
    if (!failed.empty()) return "FAIL " + failed;
    return "key " + n.name + " " + VersionList(good) + ": fetched and unwrapped";
  }

  const StatusOr<KeyHandle>& Live(const std::string& name) {
    auto it = live_.find(name);
    if (it == live_.end()) {
      it = live_.emplace(name, Ask<KeyHandle>([&] { return mysql_.Fetch(name.c_str(), nullptr); })).first;
    }
    return it->second;
  }
  const StatusOr<KeyHandle>& Version(const std::string& name, uint32_t version) {
    auto it = versions_.find({name, version});
    if (it == versions_.end()) {
      it = versions_.emplace(std::make_pair(name, version), Ask<KeyHandle>([&] { return keys_.Get(name, version); }))
               .first;
    }
    return it->second;
  }
  const StatusOr<uint32_t>& Latest(const std::string& name) {
    auto it = latest_.find(name);
    if (it == latest_.end()) {
      it = latest_.emplace(name, Ask<uint32_t>([&] { return keys_.LatestVersionFromLocker(name); })).first;
    }
    return it->second;
  }

  template <typename T, typename F>
  StatusOr<T> Ask(F ask) {
    if (!down_.ok()) return Unavailable("not asked: the locker stopped answering earlier (" + down_.message() + ")");
    StatusOr<T> r = ask();
    if (!r.ok() && LockerDown(r.status())) down_ = r.status();
    return r;
  }

  KeyService& keys_;
  mysql::KeyringOps mysql_;
  Status down_;
  std::map<std::string, StatusOr<KeyHandle>> live_;
  std::map<std::pair<std::string, uint32_t>, StatusOr<KeyHandle>> versions_;
  std::map<std::string, StatusOr<uint32_t>> latest_;
};

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
