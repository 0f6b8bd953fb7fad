// KmipKeyStore: finding objects. One Locate lists the scope's Active
// objects; their Names (which never change) are learnt once per object and
// cached; the memo maps each record and marker to the object that holds it,
// so a read usually needs no Locate.
#include <algorithm>
#include <set>

#include "common/printable.h"
#include "keyring_backend/kmip/kmip_key_store.h"

namespace keyring_locker {

using kmip::LocateQuery;
using kmip::ObjectAttributes;

namespace {
// Far more than a scope holds; past it the cache starts over (costs requests, never correctness).
constexpr size_t kMaxKnownObjects = 200000;
}  // namespace

std::string KmipKeyStore::ObjectName(const Slot& slot) const {
  const auto& [name, version, marker] = slot;
  return marker ? layout_.MarkerName(name, version) : layout_.KeyName(name, version);
}

void KmipKeyStore::Forget(const Slot& slot) {
  std::lock_guard<std::mutex> lock(mu_);
  memo_.erase(slot);
}

Status KmipKeyStore::Learn(const std::vector<std::string>& uids) {
  std::vector<std::string> unknown;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& uid : uids) {
      if (known_.count(uid) == 0) unknown.push_back(uid);
    }
  }
  for (const std::string& uid : unknown) {
    StatusOr<ObjectAttributes> a = client_->GetAttributes(uid, {kmip::attr::kName, kmip::attr::kInitialDate});
    if (!a.ok() && a.status().code() == Code::kNotFound) continue;  // destroyed since it was listed
    if (!a.ok()) return a.status().Annotate("reading the Name of KMIP object " + Printable(uid, 80));
    KnownObject k;
    if (a->names.size() == 1) k.name = a->names[0];
    k.initial_date = a->initial_date.value_or(0);
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.size() >= kMaxKnownObjects) known_.clear();
    known_[uid] = std::move(k);
  }
  return Status::Ok();
}

std::string KmipKeyStore::Pick(const std::vector<std::string>& uids) {
  if (uids.size() == 1) return uids[0];
  // Several Active objects of one Name (not written by this protocol): the
  // senior one, as every reader and every create protocol run sees it.
  duplicate_names_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  kmip::Contender best;
  for (const std::string& uid : uids) {
    kmip::Contender c;
    c.uid = uid;
    auto it = known_.find(uid);
    c.initial_date = it == known_.end() ? 0 : it->second.initial_date;
    if (best.uid.empty() || kmip::Senior(c, best)) best = c;
  }
  return best.uid;
}

StatusOr<std::map<KmipKeyStore::Slot, std::string>> KmipKeyStore::Index() {
  LocateQuery query;
  query.object_type.reset();  // keys, secret data and markers alike
  query.object_group = layout_.Group();
  query.state = kmip::enums::kStateActive;
  ASSIGN_OR_RETURN(std::vector<std::string> uids, client_->Locate(query));
  RETURN_IF_ERROR(Learn(uids));
  std::map<Slot, std::vector<std::string>> by_slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& uid : uids) {
      auto it = known_.find(uid);
      if (it == known_.end()) continue;
      auto parsed = layout_.Parse(it->second.name);
      if (!parsed) continue;  // in our group but not named by us: not a record
      by_slot[Slot{parsed->name, parsed->version, parsed->marker}].push_back(uid);
    }
  }
  std::map<Slot, std::string> index;
  for (auto& [slot, holders] : by_slot) index[slot] = Pick(holders);
  std::lock_guard<std::mutex> lock(mu_);
  memo_ = index;  // the whole scope as it is now
  return index;
}

StatusOr<std::vector<std::string>> KmipKeyStore::ListNames() {
  ASSIGN_OR_RETURN(auto index, Index());
  std::set<std::string> names;
  for (const auto& [slot, uid] : index) names.insert(std::get<0>(slot));
  return std::vector<std::string>(names.begin(), names.end());
}

namespace {

// The versions of `name` in an index (sorted by name, version, marker).
template <typename Index>
std::vector<VersionEntry> VersionsIn(const Index& index, typename Index::const_iterator it, const std::string& name) {
  std::map<uint32_t, VersionEntry> by_version;
  for (; it != index.end() && std::get<0>(it->first) == name; ++it) {
    const auto& [n, version, marker] = it->first;
    VersionEntry& e = by_version[version];
    e.version = version;
    (marker ? e.deleted : e.has_record) = true;
  }
  std::vector<VersionEntry> out;
  out.reserve(by_version.size());
  for (const auto& [v, e] : by_version) out.push_back(e);
  return out;
}

}  // namespace

StatusOr<std::vector<VersionEntry>> KmipKeyStore::ListVersions(const std::string& name) {
  ASSIGN_OR_RETURN(auto index, Index());
  return VersionsIn(index, index.lower_bound(Slot{name, 0, false}), name);
}

Status KmipKeyStore::ListScope(const VersionsVisitor& each) {
  ASSIGN_OR_RETURN(auto index, Index());
  for (auto it = index.begin(); it != index.end();) {
    const std::string name = std::get<0>(it->first);
    each(name, VersionsIn(index, it, name));
    while (it != index.end() && std::get<0>(it->first) == name) ++it;
  }
  return Status::Ok();
}

StatusOr<std::string> KmipKeyStore::Find(const Slot& slot, bool use_memo) {
  if (use_memo) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = memo_.find(slot);
    if (it != memo_.end()) return it->second;
  }
  LocateQuery query;
  query.object_type.reset();
  query.name = ObjectName(slot);
  query.state = kmip::enums::kStateActive;
  ASSIGN_OR_RETURN(std::vector<std::string> uids, client_->Locate(query));
  if (uids.empty()) return NotFound("no KMIP object " + query.name);
  if (uids.size() > 1) RETURN_IF_ERROR(Learn(uids));
  std::string uid = Pick(uids);
  std::lock_guard<std::mutex> lock(mu_);
  memo_[slot] = uid;
  return uid;
}

StatusOr<std::pair<std::string, ObjectAttributes>> KmipKeyStore::Resolve(const Slot& slot) {
  static const std::vector<std::string> kReadAttributes = {kmip::attr::kName, kmip::attr::kState,
                                                           kmip::attr::kObjectType,
                                                           kmip::attr::kApplicationSpecificInformation};
  // The memo may name an object purged, undeleted or replaced since: then
  // once more from a fresh Locate.
  for (bool use_memo : {true, false}) {
    ASSIGN_OR_RETURN(std::string uid, Find(slot, use_memo));
    StatusOr<ObjectAttributes> a = client_->GetAttributes(uid, kReadAttributes);
    const bool gone = (!a.ok() && a.status().code() == Code::kNotFound) ||
                      (a.ok() && a->state != kmip::enums::kStateActive);
    if (gone) {
      Forget(slot);
      continue;
    }
    if (!a.ok()) return a.status();
    return std::make_pair(std::move(uid), std::move(a).value());
  }
  return NotFound("no " + ObjectName(slot) + " (its object was removed while it was read)");
}

}  // namespace keyring_locker
