#include "tests/integration/kmip_world_fixture.h"

#include <unistd.h>

#include <cstdlib>

#include "crypto/crypto.h"

namespace keyring_locker::testing {

namespace {

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

}  // namespace

struct KmipWorldHolder {
  std::unique_ptr<KmipWorld> world;
  std::string unavailable;
  bool tried = false;

  static KmipWorldHolder& Instance() {
    static KmipWorldHolder h;
    return h;
  }
  void Make() {
    tried = true;
    auto w = std::make_unique<KmipWorld>();
    const char* shared = std::getenv("KLK_PYKMIP_SHARED_DIR");
    if (shared != nullptr && *shared != '\0') {
      std::string error;
      w->server_ = PyKmipServer::Attach(shared, &error);
      if (!w->server_) {
        // shared_server.sh writes nothing when PyKMIP is missing.
        unavailable = PyKmipServer::Installed() ? "the shared PyKMIP server is not there: " + error
                                                : "PyKMIP (pykmip-server) is not installed: run scripts/deps.sh";
        return;
      }
    } else {
      if (!PyKmipServer::Installed()) {
        unavailable = "PyKMIP (pykmip-server) is not installed: run scripts/deps.sh";
        return;
      }
      w->server_ = PyKmipServer::Start();
      if (!w->server_) {
        unavailable = "pykmip-server did not start (see the failure above)";
        return;
      }
    }
    uint8_t r[4] = {};
    (void)crypto::RandomBytes(r, sizeof r);
    w->run_prefix_ = "klk-" + std::to_string(::getpid()) + "-" + crypto::HexEncode(r, sizeof r);
    world = std::move(w);
  }
};

// Stops a server this process started once every test is done (a server
// left running would hold ctest's output pipe open).
class StopKmipWorld : public ::testing::Environment {
 public:
  void TearDown() override { KmipWorldHolder::Instance().world.reset(); }
};
[[maybe_unused]] ::testing::Environment* const kStopKmipWorld =
    ::testing::AddGlobalTestEnvironment(new StopKmipWorld);

KmipWorld* KmipWorld::Get() {
  KmipWorldHolder& h = KmipWorldHolder::Instance();
  if (!h.tried) h.Make();
  return h.world.get();
}

std::string KmipWorld::Unavailable() {
  Get();
  return KmipWorldHolder::Instance().unavailable;
}

bool KmipWorld::Required() { return EnvSet("KLK_REQUIRE_PYKMIP"); }

KmipOptions KmipWorld::Options() const {
  KmipOptions o;
  o.transport.servers = {server_->host() + ":" + std::to_string(server_->port())};
  o.transport.ca_file = server_->ca_file();
  o.transport.cert_file = server_->client_cert();
  o.transport.key_file = server_->client_key();
  o.transport.connect_timeout = std::chrono::milliseconds(5000);
  o.transport.io_timeout = std::chrono::milliseconds(10000);
  return o;
}

std::shared_ptr<kmip::KmipClient> KmipWorld::NewClient() const {
  auto client = kmip::KmipClient::Open(Options());
  if (!client.ok()) {
    ADD_FAILURE() << "KmipClient::Create: " << client.status().ToString();
    return nullptr;
  }
  return std::shared_ptr<kmip::KmipClient>(std::move(client).value());
}

std::unique_ptr<KmipKeyStore> KmipWorld::NewStore(const std::string& scope) const {
  auto client = NewClient();
  if (!client) return nullptr;
  KmipStoreOptions options;
  options.prefix = run_prefix_;
  options.scope = scope;
  auto store = KmipKeyStore::Open(client, options);
  if (!store.ok()) {
    ADD_FAILURE() << "KmipKeyStore::Open: " << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

bool KmipWorld::MakeKek(const std::string& name) const {
  auto client = NewClient();
  if (!client) return false;
  kmip::KeyAttributes key;
  key.name = name;
  auto uid = client->Create(key);
  if (!uid.ok()) {
    ADD_FAILURE() << "creating KEK " << name << ": " << uid.status().ToString();
    return false;
  }
  Status activated = client->Activate(*uid);
  EXPECT_TRUE(activated.ok()) << activated.ToString();
  return activated.ok();
}

void KmipWorldTest::SetUp() {
  world_ = KmipWorld::Get();
  if (world_ == nullptr) {
    if (KmipWorld::Required() || KmipWorld::Unavailable().find("did not start") != std::string::npos ||
        KmipWorld::Unavailable().find("not there") != std::string::npos) {
      GTEST_FAIL() << KmipWorld::Unavailable() << " (not skipping: KLK_REQUIRE_PYKMIP is set, or it is broken)";
    }
    GTEST_SKIP() << KmipWorld::Unavailable();
  }
}

}  // namespace keyring_locker::testing
