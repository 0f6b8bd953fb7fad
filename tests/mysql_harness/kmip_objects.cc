#include "tests/mysql_harness/kmip_objects.h"

#include "keyring_backend/kmip/kmip_tags.h"

namespace mysqlh {

namespace kmip = keyring_locker::kmip;
namespace enums = keyring_locker::kmip::enums;

std::multimap<std::string, KmipObjectView> KmipObjectsOfScope(keyring_locker::testing::KmipWorld& world,
                                                              const std::string& prefix, const std::string& scope,
                                                              std::string* error) {
  std::multimap<std::string, KmipObjectView> out;
  auto client = world.NewClient();
  if (!client) {
    *error = "no KMIP client (see the failure above)";
    return out;
  }
  kmip::LocateQuery query;
  query.object_type.reset();  // keys, secret data and markers alike
  query.object_group = prefix + "/" + scope;
  auto uids = client->Locate(query);
  if (!uids.ok()) {
    *error = "Locate of group " + query.object_group + ": " + uids.status().ToString();
    return out;
  }
  const std::string group = query.object_group + "/";
  for (const std::string& uid : *uids) {
    auto a = client->GetAttributes(uid, {kmip::attr::kName, kmip::attr::kState, kmip::attr::kObjectType});
    if (!a.ok()) {
      if (a.status().code() == keyring_locker::Code::kNotFound) continue;  // destroyed since the Locate
      *error = "Get Attributes of " + uid + ": " + a.status().ToString();
      return {};
    }
    KmipObjectView v{uid, a->state.value_or(0), a->object_type.value_or(0)};
    std::string name = "?" + uid;
    if (a->names.size() == 1) {
      name = a->names[0];
      if (name.rfind(group, 0) == 0) name = name.substr(group.size());
    }
    out.emplace(name, v);
  }
  return out;
}

int DestroyKmipScope(keyring_locker::testing::KmipWorld& world, const std::string& prefix, const std::string& scope,
                     std::string* error) {
  auto client = world.NewClient();
  if (!client) {
    *error = "no KMIP client (see the failure above)";
    return -1;
  }
  kmip::LocateQuery query;
  query.object_type.reset();
  query.object_group = prefix + "/" + scope;
  auto uids = client->Locate(query);
  if (!uids.ok()) {
    *error = "Locate of group " + query.object_group + ": " + uids.status().ToString();
    return -1;
  }
  int destroyed = 0;
  for (const std::string& uid : *uids) {
    auto a = client->GetAttributes(uid, {kmip::attr::kState});
    if (!a.ok() && a.status().code() == keyring_locker::Code::kNotFound) continue;
    if (!a.ok()) {
      *error = "Get Attributes of " + uid + ": " + a.status().ToString();
      return -1;
    }
    // KMIP destroys no Active object: revoke it first (Deactivated).
    if (a->state == enums::kStateActive) {
      keyring_locker::Status revoked = client->Revoke(uid, kmip::Revocation{});
      if (!revoked.ok()) {
        *error = "Revoke of " + uid + ": " + revoked.ToString();
        return -1;
      }
    }
    keyring_locker::Status gone = client->Destroy(uid);
    if (!gone.ok() && gone.code() != keyring_locker::Code::kNotFound) {
      *error = "Destroy of " + uid + ": " + gone.ToString();
      return -1;
    }
    ++destroyed;
  }
  return destroyed;
}

const char* KmipStateName(uint32_t state) {
  const char* name = kmip::StateName(state);
  return name != nullptr ? name : "unknown state";
}

}  // namespace mysqlh
