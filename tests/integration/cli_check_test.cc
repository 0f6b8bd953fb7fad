// keyring-locker check against the dev locker (docs/cli.md, "check"): the
// least-privilege policy of docs/locker-setup.md passes; that policy minus
// any one capability FAILs naming the capability and the policy line to
// add; extra rights WARN; certificates near or past expiry WARN / FAIL; a
// datadir bound to another scope FAILs; --json has every field.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/devlocker_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"
#include "tests/support/run_command.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;

// docs/locker-setup.md's policy for scope prod/db1, one line per right.
struct PolicyLines {
  std::string data = "\"create\", \"read\"";
  std::string metadata = "\"list\"";
  bool encrypt = true, decrypt = true, datakey = true, key_read = true;
  std::string extra;  // appended verbatim

  std::string Hcl() const {
    std::string p = "path \"secret/data/keyring_locker/prod/db1/*\" { capabilities = [" + data + "] }\n" +
                    "path \"secret/metadata/keyring_locker/prod/db1/*\" { capabilities = [" + metadata + "] }\n";
    if (encrypt) p += "path \"transit/encrypt/keyring_locker\" { capabilities = [\"update\"] }\n";
    if (decrypt) p += "path \"transit/decrypt/keyring_locker\" { capabilities = [\"update\"] }\n";
    if (datakey) p += "path \"transit/datakey/plaintext/keyring_locker\" { capabilities = [\"update\"] }\n";
    if (key_read) p += "path \"transit/keys/keyring_locker\" { capabilities = [\"read\"] }\n";
    return p + extra;
  }
};

class CliCheck : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    StartLocker(DevLocker::Options());
  }

  void StartLocker(const DevLocker::Options& options) {
    locker_ = DevLocker::Start(options);
    ASSERT_NE(locker_, nullptr);
    ASSERT_EQ(locker_->Call("POST", "transit/keys/keyring_locker", {{"type", "aes256-gcm96"}}).status, 200);
  }

  // A token with `policy` (periodic, as docs/locker-setup.md step 5) and a
  // config using it; returns the config's path.
  std::string ConfigFor(const PolicyLines& policy, json extra_tls = json::object()) {
    const std::string name = "p" + std::to_string(++policies_);
    EXPECT_EQ(locker_->Call("PUT", "sys/policies/acl/" + name, {{"policy", policy.Hcl()}}).status / 100, 2);
    auto r = locker_->Call("POST", "auth/token/create", {{"policies", {name}}, {"period", "24h"}});
    EXPECT_EQ(r.status, 200) << r.body.dump();
    return ConfigWithToken(r.body["auth"]["client_token"].get<std::string>(), extra_tls);
  }

  std::string ConfigWithToken(const std::string& token, json extra_tls = json::object()) {
    const std::string n = std::to_string(++configs_);
    const std::string token_file = Write("token" + n, token, 0600);
    json tls = {{"ca_file", locker_->ca_file()}};
    tls.update(extra_tls);
    json config = {{"locker", {{"urls", {locker_->url()}}}},
                   {"keys", {{"scope", "prod/db1"}}},
                   {"auth", {{"method", "token"}, {"token_file", token_file}}},
                   {"tls", tls},
                   {"timeouts", {{"connect_ms", 1000}, {"total_ms", 3000}}}};
    return Write("config" + n + ".json", config.dump(), 0600);
  }

  // Runs the CLI; stdout in *out (stderr apart); returns the exit code.
  int Cli(const std::string& args, std::string* out) {
    return testing::RunCommand(std::string(KLK_CLI_BIN) + " " + args, out, testing::StderrTo::kNowhere);
  }

  // check --json: the rows, and the exit status in *rc.
  json CheckJson(const std::string& config, int* rc, const std::string& more = "") {
    std::string out;
    *rc = Cli("--config " + config + " check --json " + more, &out);
    json rows = json::parse(out, nullptr, false);
    EXPECT_TRUE(rows.is_array()) << out;
    return rows.is_array() ? rows : json::array();
  }

  static json Row(const json& rows, const std::string& check) {
    for (const auto& r : rows)
      if (r["check"] == check) return r;
    return json();
  }
  static std::vector<std::string> WithResult(const json& rows, const std::string& result) {
    std::vector<std::string> out;
    for (const auto& r : rows)
      if (r["result"] == result) out.push_back(r["check"].get<std::string>());
    return out;
  }

  std::unique_ptr<DevLocker> locker_;
  int policies_ = 0, configs_ = 0;
};

TEST_F(CliCheck, TheDocumentedPolicyPassesEveryCheck) {
  int rc = -1;
  json rows = CheckJson(ConfigFor(PolicyLines()), &rc);
  EXPECT_EQ(rc, 0) << rows.dump(2);
  EXPECT_TRUE(WithResult(rows, "FAIL").empty()) << rows.dump(2);
  EXPECT_TRUE(WithResult(rows, "WARN").empty()) << rows.dump(2);
  for (const char* check : {"config", "files.token_file", "files.ca_file", "tls.server_cert", "clock.skew", "auth.login",
                            "auth.token_renewable", "vault.kv.create", "vault.kv.read", "vault.kv.list",
                            "vault.transit.encrypt", "vault.transit.decrypt", "vault.transit.datakey",
                            "vault.transit.key", "vault.token.lookup_self", "vault.token.renew_self",
                            "locker.connect", "store.list", "wrapper.roundtrip", "wrapper.datakey"}) {
    EXPECT_EQ(Row(rows, check).value("result", ""), "PASS") << check << ": " << rows.dump(2);
  }
}

TEST_F(CliCheck, JsonRowsHaveEveryField) {
  int rc = -1;
  json rows = CheckJson(ConfigFor(PolicyLines()), &rc);
  ASSERT_GT(rows.size(), 10u);
  const std::regex result("PASS|INFO|WARN|FAIL");
  for (const auto& r : rows) {
    ASSERT_TRUE(r.is_object());
    for (const char* field : {"check", "result", "detail", "fix"}) {
      ASSERT_TRUE(r.contains(field) && r[field].is_string()) << field << " in " << r.dump();
    }
    EXPECT_TRUE(std::regex_match(r["result"].get<std::string>(), result)) << r.dump();
    EXPECT_FALSE(r["detail"].get<std::string>().empty()) << r.dump();
  }
}

// The policy minus one capability: the check names it, and the fix is the
// documented policy line that grants it.
struct MissingRight {
  const char* label;
  void (*strip)(PolicyLines&);
  const char* check;
  const char* fix;
};

void PrintTo(const MissingRight& m, std::ostream* os) { *os << m.label; }

class CliCheckMissing : public CliCheck, public ::testing::WithParamInterface<MissingRight> {};

TEST_P(CliCheckMissing, FailsNamingTheCapabilityAndTheFix) {
  PolicyLines policy;
  GetParam().strip(policy);
  int rc = -1;
  json rows = CheckJson(ConfigFor(policy), &rc);
  EXPECT_EQ(rc, 1) << rows.dump(2);
  json row = Row(rows, GetParam().check);
  ASSERT_TRUE(row.is_object()) << rows.dump(2);
  EXPECT_EQ(row["result"], "FAIL") << row.dump();
  EXPECT_NE(row["fix"].get<std::string>().find(GetParam().fix), std::string::npos) << row.dump();
  // Only that right is missing: every other capability check passes.
  for (const auto& r : rows) {
    const std::string check = r["check"];
    if (check.rfind("vault.", 0) == 0 && check != GetParam().check && check.find(".extra") == std::string::npos &&
        check != "vault.kv.mount") {
      EXPECT_EQ(r["result"], "PASS") << r.dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    OneRightLess, CliCheckMissing,
    ::testing::Values(
        MissingRight{"no_kv_create", [](PolicyLines& p) { p.data = "\"read\""; }, "vault.kv.create",
                     "path \"secret/data/keyring_locker/prod/db1/*\" { capabilities = [\"create\", \"read\"] }"},
        MissingRight{"no_kv_read", [](PolicyLines& p) { p.data = "\"create\""; }, "vault.kv.read",
                     "path \"secret/data/keyring_locker/prod/db1/*\" { capabilities = [\"create\", \"read\"] }"},
        MissingRight{"no_kv_list", [](PolicyLines& p) { p.metadata = "\"read\""; }, "vault.kv.list",
                     "path \"secret/metadata/keyring_locker/prod/db1/*\" { capabilities = [\"list\"] }"},
        MissingRight{"no_transit_encrypt", [](PolicyLines& p) { p.encrypt = false; }, "vault.transit.encrypt",
                     "path \"transit/encrypt/keyring_locker\" { capabilities = [\"update\"] }"},
        MissingRight{"no_transit_decrypt", [](PolicyLines& p) { p.decrypt = false; }, "vault.transit.decrypt",
                     "path \"transit/decrypt/keyring_locker\" { capabilities = [\"update\"] }"},
        MissingRight{"no_transit_datakey", [](PolicyLines& p) { p.datakey = false; }, "vault.transit.datakey",
                     "path \"transit/datakey/plaintext/keyring_locker\" { capabilities = [\"update\"] }"},
        MissingRight{"no_transit_key_read", [](PolicyLines& p) { p.key_read = false; }, "vault.transit.key",
                     "path \"transit/keys/keyring_locker\" { capabilities = [\"read\"] }"}),
    [](const ::testing::TestParamInfo<MissingRight>& info) { return std::string(info.param.label); });

TEST_F(CliCheck, TheExercisedRoundTripFailsToo) {
  PolicyLines policy;
  policy.decrypt = false;
  int rc = -1;
  json rows = CheckJson(ConfigFor(policy), &rc);
  EXPECT_EQ(Row(rows, "wrapper.unwrap").value("result", ""), "FAIL") << rows.dump(2);
}

TEST_F(CliCheck, ExtraRightsWarnButPass) {
  PolicyLines policy;
  policy.data = "\"create\", \"read\", \"update\", \"delete\"";
  policy.extra = "path \"transit/keys/keyring_locker\" { capabilities = [\"read\", \"update\"] }\n";
  int rc = -1;
  json rows = CheckJson(ConfigFor(policy), &rc);
  EXPECT_EQ(rc, 0) << rows.dump(2);
  json kv = Row(rows, "vault.kv.create.extra");
  ASSERT_TRUE(kv.is_object()) << rows.dump(2);
  EXPECT_EQ(kv["result"], "WARN");
  EXPECT_NE(kv["detail"].get<std::string>().find("update, delete"), std::string::npos) << kv.dump();
  EXPECT_EQ(Row(rows, "vault.transit.key.extra").value("result", ""), "WARN") << rows.dump(2);
  EXPECT_EQ(Row(rows, "vault.kv.create").value("result", ""), "PASS");
}

TEST_F(CliCheck, ARootTokenWarnsThatItIsNotLeastPrivilege) {
  int rc = -1;
  json rows = CheckJson(ConfigWithToken(locker_->root_token()), &rc);
  EXPECT_EQ(rc, 0) << rows.dump(2);
  EXPECT_EQ(Row(rows, "vault.least_privilege").value("result", ""), "WARN") << rows.dump(2);
}

TEST_F(CliCheck, AWorldReadableTokenFileFails) {
  const std::string config = ConfigFor(PolicyLines());
  ASSERT_EQ(::chmod((dir_ + "/token" + std::to_string(configs_)).c_str(), 0644), 0);
  int rc = -1;
  json rows = CheckJson(config, &rc);
  EXPECT_EQ(rc, 1);
  json row = Row(rows, "files.token_file");
  EXPECT_EQ(row.value("result", ""), "FAIL") << rows.dump(2);
  EXPECT_NE(row.value("fix", "").find("chmod 0400"), std::string::npos) << row.dump();
}

TEST_F(CliCheck, AnExpiredClientCertificateFails) {
  using namespace testing;
  // Signed by the dev locker's own CA, so only its dates are wrong.
  FILE* f = std::fopen((locker_->tls_dir() + "/ca-key.pem").c_str(), "r");
  ASSERT_NE(f, nullptr);
  PkeyPtr ca_key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  f = std::fopen(locker_->ca_file().c_str(), "r");
  X509Ptr ca(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  ASSERT_TRUE(ca_key && ca);
  PkeyPtr key = NewKey();
  X509Ptr cert = MakeCertificate(key.get(), "db1", "clientAuth", nullptr, -90 * 86400L, -86400L, ca.get(), ca_key.get());
  ASSERT_TRUE(WriteCertPem(dir_ + "/client.pem", cert.get()) && WriteKeyPem(dir_ + "/client-key.pem", key.get()));
  int rc = -1;
  json rows = CheckJson(
      ConfigFor(PolicyLines(), {{"client_cert", dir_ + "/client.pem"}, {"client_key", dir_ + "/client-key.pem"}}),
      &rc);
  EXPECT_EQ(rc, 1);
  json row = Row(rows, "tls.client_cert");
  EXPECT_EQ(row.value("result", ""), "FAIL") << rows.dump(2);
  EXPECT_NE(row.value("detail", "").find("EXPIRED"), std::string::npos) << row.dump();
}

TEST_F(CliCheck, AServerCertificateNearExpiryWarns) {
  using namespace testing;
  // The dev locker reuses the TLS material it finds: a server certificate
  // with 10 days left.
  const std::string tls = dir_ + "/tls";
  ASSERT_EQ(::mkdir(tls.c_str(), 0700), 0);
  PkeyPtr ca_key = NewKey(), key = NewKey();
  X509Ptr ca = MakeCertificate(ca_key.get(), "check CA", nullptr, nullptr, -60, 3650 * 86400L, nullptr, nullptr);
  X509Ptr server = MakeCertificate(key.get(), "localhost", "serverAuth", "IP:127.0.0.1,DNS:localhost", -60,
                                   10 * 86400L, ca.get(), ca_key.get());
  ASSERT_TRUE(WriteCertPem(tls + "/ca.pem", ca.get()) && WriteKeyPem(tls + "/ca-key.pem", ca_key.get()) &&
              WriteCertPem(tls + "/server.pem", server.get()) && WriteKeyPem(tls + "/server-key.pem", key.get()));
  locker_.reset();
  DevLocker::Options options;
  options.tls_dir = tls;
  StartLocker(options);
  int rc = -1;
  json rows = CheckJson(ConfigFor(PolicyLines()), &rc);
  EXPECT_EQ(rc, 0) << rows.dump(2);
  json row = Row(rows, "tls.server_cert");
  EXPECT_EQ(row.value("result", ""), "WARN") << rows.dump(2);
  // 10 days from when it was made: 9 or 10 whole days left, by the second.
  EXPECT_TRUE(std::regex_search(row.value("detail", ""), std::regex("expires in (9|10) days"))) << row.dump();
}

TEST_F(CliCheck, ADatadirBoundToAnotherScopeFails) {
  const std::string datadir = dir_ + "/datadir";
  ASSERT_EQ(::mkdir(datadir.c_str(), 0700), 0);
  json marker = {{"format", "keyring_locker-datadir/1"}, {"namespace", ""}, {"kv_mount", "secret"},
                 {"prefix", "keyring_locker"}, {"scope", "prod/db2"}, {"urls", locker_->url()}};
  std::ofstream(datadir + "/keyring_locker.marker") << marker.dump();
  const std::string config = ConfigFor(PolicyLines());
  int rc = -1;
  json rows = CheckJson(config, &rc, "--datadir " + datadir);
  EXPECT_EQ(rc, 1);
  json row = Row(rows, "binding.datadir");
  EXPECT_EQ(row.value("result", ""), "FAIL") << rows.dump(2);
  EXPECT_NE(row.value("detail", "").find("scope=\"prod/db2\""), std::string::npos) << row.dump();

  marker["scope"] = "prod/db1";
  std::ofstream(datadir + "/keyring_locker.marker") << marker.dump();
  rows = CheckJson(config, &rc, "--datadir " + datadir);
  EXPECT_EQ(Row(rows, "binding.datadir").value("result", ""), "PASS") << rows.dump(2);
}

TEST_F(CliCheck, TextOutputHasOneLinePerCheckAndTheFix) {
  PolicyLines policy;
  policy.metadata = "\"read\"";
  std::string out;
  EXPECT_EQ(Cli("--config " + ConfigFor(policy) + " check", &out), 1);
  EXPECT_NE(out.find("FAIL vault.kv.list: the token lacks \"list\" on secret/metadata/keyring_locker/prod/db1/keys/"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("     fix: add to the token's policy: path \"secret/metadata/keyring_locker/prod/db1/*\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("PASS vault.transit.decrypt: "), std::string::npos) << out;
}

TEST_F(CliCheck, UsageErrorsExit64) {
  std::string out;
  EXPECT_EQ(Cli("check", &out), 64);
  EXPECT_EQ(Cli("--config x check --no-such-flag", &out), 64);
}

}  // namespace
}  // namespace keyring_locker
