// Test support: the KMIP client, store and wrapper against one PyKMIP
// server that the tests share and never stop, pause or restart: the one
// ctest starts for the run (tests/kmip/shared_server.sh, the fixture
// "pykmip_shared", found through KLK_PYKMIP_SHARED_DIR), or, when a test
// program runs on its own, one it starts itself and stops at its end.
// Tests that stop, pause or restart a server use PyKmipTest instead.
//
// Objects of every test program live side by side on a shared server:
// RunPrefix() gives each process a keys.prefix of its own.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "keyring_backend/kmip/kmip_client.h"
#include "keyring_backend/kmip/kmip_key_store.h"
#include "keyring_backend/kmip/kmip_options.h"
#include "tests/integration/pykmip_fixture.h"

namespace keyring_locker::testing {

class KmipWorld {
 public:
  // The world, or nullptr with Unavailable() saying why.
  static KmipWorld* Get();
  static std::string Unavailable();
  // KLK_REQUIRE_PYKMIP is set: a missing server is a failure, not a skip.
  static bool Required();

  PyKmipServer& server() { return *server_; }
  // Options for our client (CN=keyring_locker) against the server.
  KmipOptions Options() const;
  // A client of its own (its own TLS connection); nullptr + ADD_FAILURE on error.
  std::shared_ptr<kmip::KmipClient> NewClient() const;
  // "klk-<pid>-<random>": a keys.prefix no other process uses.
  const std::string& RunPrefix() const { return run_prefix_; }
  // A store on a new client for `scope` under RunPrefix().
  std::unique_ptr<KmipKeyStore> NewStore(const std::string& scope) const;
  // Creates and activates an AES-256 key named `name` (a KEK for KmipWrapper).
  bool MakeKek(const std::string& name) const;

 private:
  std::unique_ptr<PyKmipServer> server_;
  std::string run_prefix_;
  friend struct KmipWorldHolder;
};

// Skips (PyKMIP missing, not required) or fails when there is no world.
class KmipWorldTest : public ::testing::Test {
 protected:
  void SetUp() override;
  KmipWorld& world() { return *world_; }

 private:
  KmipWorld* world_ = nullptr;
};

}  // namespace keyring_locker::testing
