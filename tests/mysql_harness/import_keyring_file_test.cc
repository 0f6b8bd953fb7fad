// MySQL keyring_file -> keyring_locker: a keyring_file data file (format
// 2.0 with its digest, built by the plugin's layout: the harness has no
// mysqld to write one) holding InnoDB master keys, a user's key and a
// SECRET; `keyring-locker import mysql_keyring_file --apply`; then the
// keyring_locker plugin, loaded as mysqld loads it, fetches every key
// byte-identical and a tablespace key wrapped under the old keyring's
// master key unwraps with the imported one. The component's JSON file the
// same way. A second import writes nothing.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "crypto/crypto.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"
#include "tests/support/run_command.h"
#include "tools/import/mysql_keyring_file.h"

namespace mysqlh {
namespace {

namespace crypto = keyring_locker::crypto;

const std::string kUuid = "5b3c6f0e-1d2a-11ef-9b7e-0242ac120002";
constexpr size_t kPage = 16384;

std::vector<uint8_t> ToVector(const crypto::SecureBuffer& b) { return {b.data(), b.data() + b.size()}; }

class ImportKeyringFile : public HarnessTest {
 protected:
  int Cli(const std::string& config, const std::string& args, std::string* out) {
    return keyring_locker::testing::RunCommand(std::string(KLK_CLI_BIN) + " --config " + config + " " + args, out);
  }
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

TEST_F(ImportKeyringFile, EveryKeyFetchesByteIdenticalAndTheTablespaceKeyUnwraps) {
  KLK_VAULT_ONLY("one locker is enough: the CLI and plugin are locker-neutral and proven so elsewhere");
  auto master1 = std::move(crypto::RandomKey(32)).value();
  auto master2 = std::move(crypto::RandomKey(32)).value();
  auto user_key = std::move(crypto::RandomKey(16)).value();
  auto secret = std::move(crypto::RandomKey(100)).value();
  auto rsa = std::move(crypto::RandomKey(256)).value();
  const std::string m1 = innodb::MasterKeyName(kUuid, 1), m2 = innodb::MasterKeyName(kUuid, 2);
  const std::string file = WriteFile(
      "keyring", keyring_locker::import::BuildMysqlKeyringFile({{m1, "AES", "", &master1},
                                                                {m2, "AES", "", &master2},
                                                                {"app_key", "AES", "alice", &user_key},
                                                                {"binlog_secret", "SECRET", "", &secret},
                                                                {"signing", "RSA", "bob/x", &rsa}}));
  // A tablespace of the old server, its key wrapped under master key 2.
  innodb::TablespaceKey ts{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
  std::vector<uint8_t> page(kPage, 0);
  ASSERT_TRUE(innodb::WriteEncryptionInfo(page.data(), kPage, 2, kUuid, ts, master2).ok());

  const std::string config = WriteConfig("cli.json", "mysql/imported");
  std::string out;
  ASSERT_EQ(Cli(config, "import mysql_keyring_file " + file, &out), 0) << out;
  EXPECT_EQ(Count(out, "would write"), 6u) << out;  // 5 rows + the summary line
  ASSERT_EQ(Cli(config, "import mysql_keyring_file " + file + " --apply", &out), 0) << out;
  EXPECT_NE(out.find("0 would write, 5 written, 0 already present, 0 conflict, 0 failed"), std::string::npos) << out;
  ASSERT_EQ(Cli(config, "import mysql_keyring_file " + file + " --apply", &out), 0) << out;
  EXPECT_NE(out.find("0 written, 5 already present"), std::string::npos) << out;

  auto host = StartPlugin("mysql/imported");
  ASSERT_NE(host, nullptr);
  auto expect = [&](const std::string& id, const char* user, const std::string& type, const crypto::SecureBuffer& b) {
    auto f = host->Fetch(id, user);
    ASSERT_FALSE(f.error) << id;
    ASSERT_TRUE(f.found) << id;
    EXPECT_EQ(f.type, type) << id;
    EXPECT_EQ(f.key, ToVector(b)) << id;
  };
  expect(m1, nullptr, "AES", master1);
  expect(m2, nullptr, "AES", master2);
  expect("app_key", "alice", "AES", user_key);
  expect("binlog_secret", nullptr, "SECRET", secret);
  expect("signing", "bob/x", "RSA", rsa);
  EXPECT_FALSE(host->Fetch("app_key").found) << "a user's key is not the server's key of the same id";
  // InnoDB's start: header -> master key id -> fetch -> unwrap -> CRC-32C.
  auto header = innodb::ParseEncryptionHeader(page.data(), kPage);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->master_key_id, 2u);
  auto fetched = host->Fetch(innodb::MasterKeyName(header->server_uuid, header->master_key_id));
  ASSERT_TRUE(fetched.found);
  auto unwrapped =
      innodb::UnwrapTablespaceKey(*header, crypto::SecureBuffer::CopyOf(fetched.key.data(), fetched.key.size()));
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_TRUE(unwrapped->key.Equals(ts.key));
  EXPECT_TRUE(unwrapped->iv.Equals(ts.iv));
  // The server carries on: rotating the master key makes master key 3.
  EXPECT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, 3), "AES", 32));
  EXPECT_TRUE(host->Generate(m2, "AES", 32)) << "an imported key is never replaced";
  StopPlugin(host);
}

TEST_F(ImportKeyringFile, ComponentJsonAndConflictsAreReportedPerItem) {
  KLK_VAULT_ONLY("one locker is enough: the CLI and plugin are locker-neutral and proven so elsewhere");
  const std::string json_file = WriteFile(
      "component_keyring_file.json",
      R"({"version":"1.0","elements":[)"
      R"({"user":"","data_id":"INNODBKey-u-1","data_type":"AES","data":"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F","extension":[]},)"
      R"({"user":"carol","data_id":"pw","data_type":"SECRET","data":"68656C6C6F","extension":[]},)"
      R"({"user":"","data_id":"odd","data_type":"AES","data":"ABC","extension":[]}]})");
  const std::string config = WriteConfig("cli.json", "mysql/imported_json");
  // The server already holds "pw" for carol with other bytes.
  {
    auto host = StartPlugin("mysql/imported_json");
    ASSERT_NE(host, nullptr);
    ASSERT_FALSE(host->Store("pw", "SECRET", {'o', 't', 'h', 'e', 'r'}, "carol"));
    StopPlugin(host);
  }
  std::string out;
  EXPECT_EQ(Cli(config, "import mysql_component_keyring_file " + json_file + " --apply", &out), 1) << out;
  EXPECT_NE(out.find("1 written, 0 already present, 1 conflict, 1 failed"), std::string::npos) << out;
  EXPECT_NE(out.find("odd number of hex digits"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was overwritten"), std::string::npos) << out;
  auto host = StartPlugin("mysql/imported_json");
  ASSERT_NE(host, nullptr);
  auto master = host->Fetch("INNODBKey-u-1");
  ASSERT_TRUE(master.found);
  ASSERT_EQ(master.key.size(), 32u);
  EXPECT_EQ(master.key[31], 0x1f);
  EXPECT_EQ(host->Fetch("pw", "carol").key, (std::vector<uint8_t>{'o', 't', 'h', 'e', 'r'}));
  StopPlugin(host);
}

}  // namespace
}  // namespace mysqlh
