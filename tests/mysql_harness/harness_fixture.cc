#include "tests/mysql_harness/harness_fixture.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/mysql_harness/kmip_objects.h"

namespace mysqlh {

namespace testing_ns = keyring_locker::testing;

namespace {
// The build's file, or the one the environment names: the package test
// (tests/package/deb_install_test.sh) points these at the installed files.
const char* FromEnvOr(const char* variable, const char* built) {
  const char* v = std::getenv(variable);
  return v != nullptr && *v != '\0' ? v : built;
}
}  // namespace

const char* PluginPath() { return FromEnvOr("KLK_HARNESS_PLUGIN_SO", KLK_MYSQL_PLUGIN_SO); }
const char* ComponentPath() { return FromEnvOr("KLK_HARNESS_COMPONENT_SO", KLK_MYSQL_COMPONENT_SO); }

namespace {

// The name as set, or "" when unset.
std::string LockerVariable() {
  const char* v = std::getenv("KLK_HARNESS_LOCKER");
  return v == nullptr ? "" : v;
}

struct KnownLocker {
  const char* name;
  LockerKind kind;
};
constexpr KnownLocker kKnownLockers[] = {
    {"vault", LockerKind::kVault}, {"kmip", LockerKind::kKmip},     {"aws", LockerKind::kAws},
    {"azure", LockerKind::kAzure}, {"real_vault", LockerKind::kRealVault}};

bool KnownLockerName(const std::string& name) {
  for (const KnownLocker& k : kKnownLockers) {
    if (name == k.name) return true;
  }
  return false;
}

// One Key Vault stand-in for the test program, started on first use and
// stopped at exit (it also exits by itself once this process is gone); a
// 3072-bit key as the MTR suite's, tokens that outlive any test.
testing_ns::AzureStandin* SharedAzureStandin() {
  static std::unique_ptr<testing_ns::AzureStandin> standin = [] {
    testing_ns::AzureStandin::Options options;
    options.token_lifetime_s = 3600;
    options.key_bits = 3072;
    return testing_ns::AzureStandin::Start(options);
  }();
  return standin.get();
}

// One real Vault for the test program, started on first use (~2 s) and
// stopped at exit (its launcher's watchdog ends it should this process die).
testing_ns::RealVault* SharedRealVault() {
  static std::unique_ptr<testing_ns::RealVault> vault = testing_ns::RealVault::Start();
  return vault.get();
}

}  // namespace

LockerKind HarnessLocker() {
  const std::string v = LockerVariable();
  for (const KnownLocker& k : kKnownLockers) {
    if (v == k.name) return k.kind;
  }
  return LockerKind::kVault;
}

const char* LockerKindName(LockerKind kind) {
  for (const KnownLocker& k : kKnownLockers) {
    if (kind == k.kind) return k.name;
  }
  return "vault";
}

void HarnessTest::SetUp() {
  const std::string named = LockerVariable();
  ASSERT_TRUE(named.empty() || KnownLockerName(named))
      << "KLK_HARNESS_LOCKER=" << named
      << " is not a locker the harness knows: use \"vault\", \"kmip\", \"aws\", \"azure\" or \"real_vault\"";
  kind_ = HarnessLocker();
  char tmpl[] = "/tmp/klk_mysql_harness.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  if (kmip()) {
    kmip_ = testing_ns::KmipWorld::Get();
    if (kmip_ == nullptr) {
      const std::string why = testing_ns::KmipWorld::Unavailable();
      if (testing_ns::KmipWorld::Required() || why.find("not there") != std::string::npos ||
          why.find("did not start") != std::string::npos) {
        GTEST_FAIL() << why << " (not skipping: KLK_REQUIRE_PYKMIP is set, or the server is broken)";
      }
      GTEST_SKIP() << why;
    }
    // Every test of a process shares the world's server (and, under ctest,
    // every process does): a prefix per test keeps scopes apart as a fresh
    // dev locker per test does.
    static int tests_in_this_process = 0;
    prefix_ = kmip_->RunPrefix() + "-t" + std::to_string(++tests_in_this_process);
    return;
  }
  if (aws()) {
    aws_ = testing_ns::SharedMoto();
    if (aws_ == nullptr) {
      const std::string why = testing_ns::MotoUnavailable();
      if (testing_ns::MotoServer::Required() || why.find("not installed") == std::string::npos) {
        GTEST_FAIL() << why << " (not skipping: KLK_REQUIRE_MOTO is set, or moto is broken)";
      }
      GTEST_SKIP() << why;
    }
    // One KMS key per test program: a directory of this test's own keeps
    // tests apart, as a fresh dev locker per test does.
    static const std::string arn = aws_->CreateKey();
    aws_key_arn_ = arn;
    ASSERT_FALSE(aws_key_arn_.empty());
    return;
  }
  if (azure()) {
    const std::string why = testing_ns::AzureStandin::Unavailable();
    if (!why.empty()) {
      if (std::getenv("KLK_REQUIRE_AZURE") != nullptr) GTEST_FAIL() << why << " (not skipping: KLK_REQUIRE_AZURE is set)";
      GTEST_SKIP() << why;
    }
    // One stand-in and one RSA key per test program: a directory of this
    // test's own keeps tests apart.
    azure_ = SharedAzureStandin();
    ASSERT_NE(azure_, nullptr) << "the Azure Key Vault stand-in did not start";
    return;
  }
  std::string root_token;
  if (real_vault()) {
    if (!testing_ns::RealVault::Installed()) {
      const char* why = "no Vault binary: scripts/real_vault.sh builds it";
      if (std::getenv("KLK_REQUIRE_REAL_VAULT") != nullptr) GTEST_FAIL() << why << " (KLK_REQUIRE_REAL_VAULT is set)";
      GTEST_SKIP() << why;
    }
    real_vault_ = SharedRealVault();
    ASSERT_NE(real_vault_, nullptr) << "the real Vault did not start";
    // Every test of a process shares the server: a prefix per test keeps
    // scopes apart as a fresh dev locker per test does.
    static int tests_in_this_process = 0;
    prefix_ = "keyring_locker-t" + std::to_string(++tests_in_this_process);
    root_token = real_vault_->root_token();
  } else {
    locker_ = testing_ns::DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    root_token = locker_->root_token();
  }
  const std::string token = dir_ + "/token";
  std::ofstream(token) << root_token;
  chmod(token.c_str(), 0600);
}

void HarnessTest::TearDown() {
  if (kmip_ != nullptr) {
    const std::set<std::string> scopes = scopes_;
    for (const std::string& scope : scopes) DropScope(scope);
  }
  if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
}

std::string HarnessTest::ConfigJson(const std::string& scope, const std::string& extra_json) {
  nlohmann::json c;
  if (kmip()) {
    scopes_.insert(scope);
    // PyKMIP answers in tens of milliseconds on two shared cores; a
    // generate is five requests or so: a wider budget than the dev locker's.
    c = {
        {"store", {{"type", "kmip"}}},
        {"kmip",
         {{"servers", {LockerEndpoint()}},
          {"ca_file", kmip_->server().ca_file()},
          {"client_cert", kmip_->server().client_cert()},
          {"client_key", kmip_->server().client_key()},
          // A writer killed between Register and Activate (crash point
          // kmip.before_activate) holds its version until its Pre-Active
          // object is this old (docs/crash-safety.md): short here, so the
          // crash tests can rerun the step after a short wait.
          {"abandoned_after_s", 1}}},
        {"keys", {{"prefix", prefix_}, {"scope", scope}}},
        {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}},
    };
  } else if (aws() || azure()) {
    // The keys folder lives in the test's own folder (mkdtemp: 0700, ours).
    c = {
        {"store", {{"type", "directory"}, {"path", KeysDir()}}},
        {"keys", {{"scope", scope}}},
        {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}},
    };
    if (aws()) {
      c["wrapper"] = {{"type", "aws_kms"}};
      c["aws_kms"] = {{"region", "us-east-1"},
                      {"endpoints", {aws_->url()}},
                      {"key_id", aws_key_arn_},
                      {"credentials", "env"},
                      {"ca_file", aws_->ca_file()}};
    } else {
      c["wrapper"] = {{"type", "azure_key_vault"}};
      c["azure"] = azure_->ConfigGroup("client_certificate");
    }
  } else if (real_vault()) {
    // Raft fsyncs every write: a wider budget than the dev locker's.
    c = {
        {"locker", {{"urls", {real_vault_->url()}}}},
        {"keys", {{"prefix", prefix_}, {"scope", scope}}},
        {"auth", {{"method", "token"}, {"token_file", dir_ + "/token"}}},
        {"tls", {{"ca_file", real_vault_->ca_file()}}},
        {"timeouts", {{"connect_ms", 2000}, {"total_ms", 8000}}},
    };
  } else {
    c = {
        {"locker", {{"urls", {locker_->url()}}}},
        {"keys", {{"scope", scope}}},
        {"auth", {{"method", "token"}, {"token_file", dir_ + "/token"}}},
        {"tls", {{"ca_file", locker_->ca_file()}}},
        {"timeouts", {{"connect_ms", 1000}, {"total_ms", 3000}}},
        {"retries", {{"max", 1}, {"backoff_initial_ms", 20}, {"backoff_max_ms", 100}}},
    };
  }
  c.update(nlohmann::json::parse(extra_json));
  return c.dump(2);
}

void HarnessTest::DropScope(const std::string& scope) {
  scopes_.erase(scope);
  if (kmip_ == nullptr) return;
  std::string error;
  EXPECT_GE(DestroyKmipScope(*kmip_, prefix_, scope, &error), 0) << "cleaning up scope " << scope << ": " << error;
}

std::string HarnessTest::LockerEndpoint() const {
  if (kmip_ != nullptr) return kmip_->server().host() + ":" + std::to_string(kmip_->server().port());
  if (aws_ != nullptr) return aws_->url();
  if (azure_ != nullptr) return azure_->url();
  if (real_vault_ != nullptr) return real_vault_->url();
  return locker_ != nullptr ? locker_->url() : "";
}

std::string HarnessTest::WriteConfig(const std::string& file_name, const std::string& scope, const std::string& extra) {
  const std::string path = dir_ + "/" + file_name;
  std::ofstream(path) << ConfigJson(scope, extra);
  chmod(path.c_str(), 0600);
  return path;
}

std::unique_ptr<PluginHost> HarnessTest::StartPlugin(const std::string& scope) {
  std::string error;
  auto host = PluginHost::Load(PluginPath(), &error);
  EXPECT_NE(host, nullptr) << error;
  if (host == nullptr) return nullptr;
  const std::string config = WriteConfig("keyring_locker-" + std::to_string(std::hash<std::string>()(scope)) + ".json", scope);
  EXPECT_TRUE(host->Init(config, &error)) << error;
  if (!error.empty()) return nullptr;
  return host;
}

void HarnessTest::StopPlugin(std::unique_ptr<PluginHost>& host) {
  std::string error;
  EXPECT_TRUE(host->Unload(&error)) << error;
  host.reset();
}

}  // namespace mysqlh
