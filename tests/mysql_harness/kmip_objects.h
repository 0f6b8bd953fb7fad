// What a harness test sees inside the KMIP server, below the key store: the
// managed objects of one scope in every state, read with our KMIP client
// (one Locate by Object Group, one Get Attributes per object). The KMIP
// counterpart of listing the dev locker's KV folders.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tests/integration/kmip_world_fixture.h"

namespace mysqlh {

struct KmipObjectView {
  std::string uid;
  uint32_t state = 0;        // kmip::enums::kState*
  uint32_t object_type = 0;  // kmip::enums::kObject*
};

// Objects of `<prefix>/<scope>` by Name relative to the scope
// ("<encoded name>/<version>" or "<encoded name>/<version>.deleted"). An
// object with other than one Name is listed as "?<uid>". Empty map and
// `error` set when the server cannot be asked.
std::multimap<std::string, KmipObjectView> KmipObjectsOfScope(keyring_locker::testing::KmipWorld& world,
                                                              const std::string& prefix, const std::string& scope,
                                                              std::string* error);

const char* KmipStateName(uint32_t state);  // "Active", "Pre-Active", ...

// Revokes and destroys every object of `<prefix>/<scope>` (PyKMIP then
// deletes its row). A test's cleanup, not a product path: PyKMIP's Locate
// reads every object in its database, so objects left behind slow every
// later request of the run. Returns how many were destroyed; -1 and
// `error` on failure.
int DestroyKmipScope(keyring_locker::testing::KmipWorld& world, const std::string& prefix, const std::string& scope,
                     std::string* error);

}  // namespace mysqlh
