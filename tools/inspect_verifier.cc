#include "tools/inspect_verifier.h"

#include <algorithm>
#include <cstdio>

#include "datafile/mysql_key_check.h"

namespace keyring_locker {

namespace {

using datafile::KeyNeed;

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

}  // namespace

void Verifier::Verify(const datafile::FileReport& r, Verdict& v, KeepSet& keep) {
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
  // Per key: the exact versions (pages, redo) and page 0's "from" version.
  std::map<std::string, std::pair<std::set<uint32_t>, uint32_t>> by_key;
  for (const KeyNeed& n : r.needs) {
    auto& [exact, from] = by_key[n.name];
    if (n.kind == KeyNeed::Kind::kFromVersion) from = from == 0 ? n.version : std::min(from, n.version);
    if (n.kind != KeyNeed::Kind::kFromVersion) exact.insert(n.version);
  }
  v.pass = true;
  for (const auto& [name, need] : by_key) {
    const std::string part = VerifyMaria(name, need.first, need.second, v, keep);
    v.reason += (v.reason.empty() ? "" : "; ") + part;
  }
  if (v.pass) v.reason += " (no page was decrypted)";
}

void Verifier::VerifyMySql(const datafile::MySqlEncryptionInfo& info, Verdict& v, KeepSet& keep) {
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

void Verifier::Finish(Verdict& v, KeyResult k) {
  v.pass = k.ok;
  v.reason = k.detail;
  v.keys.push_back(std::move(k));
}

std::string Verifier::VerifyMaria(const std::string& name, const std::set<uint32_t>& exact, uint32_t from, Verdict& v,
                        KeepSet& keep) {
  std::set<uint32_t> wanted = exact;
  std::string failed;
  if (from != 0) {
    const StatusOr<uint32_t>& latest = Latest(name);
    if (!latest.ok() || *latest < from) {
      keep.from[name] = keep.from.count(name) ? std::min(keep.from[name], from) : from;
      const std::string why = !latest.ok() ? "reading its versions failed: " + latest.status().ToString()
                              : *latest == 0 ? "the locker has no version of it"
                                             : "the locker's latest version is v" + std::to_string(*latest);
      v.keys.push_back({name, from, false, why});
      failed = "key " + name + " v" + std::to_string(from) + "..latest: " + why;
    } else {
      for (uint32_t ver = from; ver <= *latest; ++ver) wanted.insert(ver);
    }
  }
  std::vector<uint32_t> good;
  for (uint32_t ver : wanted) {
    keep.versions[name].insert(ver);
    const StatusOr<KeyHandle>& key = Version(name, ver);
    KeyResult k{name, ver, key.ok(), ""};
    if (key.ok()) {
      good.push_back(ver);
    } else {
      const bool missing = key.status().code() == Code::kNotFound;
      k.detail = missing ? "not in the locker" : key.status().ToString();
      failed += (failed.empty() ? "" : "; ") + std::string("key ") + name + " version " + std::to_string(ver) +
                (missing ? " is " : " does not unwrap: ") + k.detail;
    }
    v.keys.push_back(std::move(k));
  }
  if (!failed.empty()) {
    v.pass = false;
    return "FAIL " + failed;
  }
  return "key " + name + " " + VersionList(good) + ": fetched and unwrapped";
}

template <typename T, typename F>
StatusOr<T> Verifier::Ask(F ask) {
  if (!down_.ok()) return Unavailable("not asked: the locker stopped answering earlier (" + down_.message() + ")");
  StatusOr<T> r = ask();
  if (!r.ok() && LockerDown(r.status())) down_ = r.status();
  return r;
}

const StatusOr<KeyHandle>& Verifier::Live(const std::string& name) {
  auto it = live_.find(name);
  if (it == live_.end()) {
    it = live_.emplace(name, Ask<KeyHandle>([&] { return mysql_.Fetch(name.c_str(), nullptr); })).first;
  }
  return it->second;
}
const StatusOr<KeyHandle>& Verifier::Version(const std::string& name, uint32_t version) {
  auto it = versions_.find({name, version});
  if (it == versions_.end()) {
    it = versions_.emplace(std::make_pair(name, version), Ask<KeyHandle>([&] { return keys_.Get(name, version); }))
             .first;
  }
  return it->second;
}
const StatusOr<uint32_t>& Verifier::Latest(const std::string& name) {
  auto it = latest_.find(name);
  if (it == latest_.end()) {
    it = latest_.emplace(name, Ask<uint32_t>([&] { return keys_.LatestVersionFromLocker(name); })).first;
  }
  return it->second;
}

}  // namespace keyring_locker
