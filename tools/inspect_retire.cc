#include "tools/inspect_retire.h"

#include <algorithm>

#include "tools/scope_records.h"

namespace keyring_locker {

namespace {

constexpr char kInnodbPrefix[] = "INNODBKey-";

// plugin/mariadb KeyGate::KeyName: ENCRYPTION_KEY_ID N is the name "N".
bool IsMariaKeyName(const std::string& name) {
  return !name.empty() && name.size() <= 10 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsInnodbMasterKey(const std::string& name) { return name.rfind(kInnodbPrefix, 0) == 0; }

// "INNODBKey-<anything>-<id>" for an id a 5.7.11 file names.
bool MatchesV1Id(const std::string& name, const std::set<uint32_t>& ids) {
  const size_t dash = name.rfind('-');
  if (dash == std::string::npos) return false;
  const std::string tail = name.substr(dash + 1);
  for (uint32_t id : ids) {
    if (tail == std::to_string(id)) return true;
  }
  return false;
}

}  // namespace

StatusOr<RetireReport> FindRetirable(Backend& backend, const KeepSet& keep) {
  ASSIGN_OR_RETURN(ScopeRecords records, ReadScopeRecords(backend));
  ASSIGN_OR_RETURN(std::vector<DeletedKeyInfo> deleted, backend.keys().ListDeleted(Sweep::kPerRequest));
  std::set<std::pair<std::string, uint32_t>> deleted_set;
  for (const auto& d : deleted) deleted_set.insert({d.name, d.version});

  std::map<std::string, std::vector<uint32_t>> by_name;  // versions ascending (records are sorted)
  for (const auto& k : records.valid) by_name[k.name].push_back(k.version);
  RetireReport out;
  out.damaged = records.damaged.size();
  // A damaged record's version still counts as the latest: never offer the
  // version below it as "the latest, kept" by mistake.
  std::map<std::string, uint32_t> damaged_latest;
  for (const auto& d : records.damaged) damaged_latest[d.name] = std::max(damaged_latest[d.name], d.version);

  for (const auto& [name, versions] : by_name) {
    const uint32_t latest = std::max(versions.back(), damaged_latest[name]);
    auto add = [&](uint32_t v, std::string why) {
      if (deleted_set.count({name, v})) why += " (already deleted: purge-deleted would remove it for good)";
      out.candidates.push_back({name, v, std::move(why)});
    };
    if (IsMariaKeyName(name)) {
      const auto exact = keep.versions.find(name);
      const auto from = keep.from.find(name);
      for (uint32_t v : versions) {
        if (v == latest) continue;  // the server writes new pages with it
        if (exact != keep.versions.end() && exact->second.count(v)) continue;
        if (from != keep.from.end() && v >= from->second) continue;
        add(v, exact == keep.versions.end() && from == keep.from.end() ? "no inspected file uses this key"
                                                                         : "no inspected file uses this version");
      }
    } else if (IsInnodbMasterKey(name)) {
      if (keep.mysql_all.count(name) || MatchesV1Id(name, keep.mysql_v1_ids)) continue;
      const bool live_needed = keep.mysql_live.count(name) != 0;
      for (uint32_t v : versions) {
        if (live_needed && v == latest) continue;
        add(v, live_needed ? "an older generation: every inspected file naming this id opens with the live one"
                           : "no inspected file names this master key");
      }
    } else {
      out.not_judged.push_back(name);
    }
  }
  return out;
}

}  // namespace keyring_locker
