// keyring-locker inspect --verify over page 0s the harness's mysqld wrote
// under master keys the MySQL plugin itself generated: the CLI must find each
// key under the name the plugin stored it (plugin/mysql/mysql_key_model.h)
// and prove it opens the file; a keyring id removed and generated again (new
// bytes, same name) must fail with the CRC-32C mismatch InnoDB would hit.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "crypto/crypto.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"
#include "tests/support/run_command.h"

namespace mysqlh {
namespace {

namespace crypto = keyring_locker::crypto;
const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
constexpr size_t kPage = 16384;

class InnodbVerify : public HarnessTest {
 protected:
  int Cli(const std::string& config, const std::string& args, std::string* out) {
    return keyring_locker::testing::RunCommand(std::string(KLK_CLI_BIN) + " --config " + config + " " + args, out);
  }
  // Page 0 of an encrypted 16K tablespace, its info block wrapped under `master`.
  std::string WriteTablespace(const std::string& name, uint32_t space, uint32_t master_id,
                              const std::vector<uint8_t>& master) {
    std::vector<uint8_t> page(kPage, 0);
    auto be32 = [&](size_t off, uint32_t v) {
      for (int i = 0; i < 4; ++i) page[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
    };
    page[25] = 8;  // FIL_PAGE_TYPE_FSP_HDR
    be32(34, space);
    be32(38, space);
    be32(54, 0x21 | (1u << 13) | (1u << 14));  // 16K, ENCRYPTION, SDI
    innodb::TablespaceKey key{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
    EXPECT_TRUE(innodb::WriteEncryptionInfo(page.data(), kPage, master_id, kUuid, key,
                                            crypto::SecureBuffer::CopyOf(master.data(), master.size()))
                    .ok());
    const std::string path = dir_ + "/data/" + name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(page.data()), page.size());
    return path;
  }
};

TEST_F(InnodbVerify, FilesPassUnderThePluginsKeysAndARegeneratedIdFails) {
  auto host = StartPlugin("mysql/verify");
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(mkdir((dir_ + "/data").c_str(), 0700), 0);
  for (uint32_t id : {1u, 2u, 3u}) ASSERT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, id), "AES", 32)) << id;
  const std::string a = WriteTablespace("a.ibd", 5, 1, host->Fetch(innodb::MasterKeyName(kUuid, 1)).key);
  const std::string b = WriteTablespace("b.ibd", 6, 2, host->Fetch(innodb::MasterKeyName(kUuid, 2)).key);
  const std::string config = WriteConfig("cli.json", "mysql/verify");
  std::string out;
  ASSERT_EQ(Cli(config, "inspect --verify " + dir_ + "/data", &out), 0) << out;
  EXPECT_NE(out.find("PASS " + a + ": keyring id " + innodb::MasterKeyName(kUuid, 1) + " opens the tablespace key"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("PASS " + b + ": keyring id " + innodb::MasterKeyName(kUuid, 2)), std::string::npos) << out;
  EXPECT_NE(out.find("safe to retire: " + innodb::MasterKeyName(kUuid, 3) +
                     " version 1: no inspected file names this master key"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("safe to retire: " + innodb::MasterKeyName(kUuid, 1)), std::string::npos) << out;

  // Removed and generated again: same id, new bytes; b.ibd no longer opens.
  ASSERT_FALSE(host->Remove(innodb::MasterKeyName(kUuid, 2)));
  ASSERT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, 2), "AES", 32));
  StopPlugin(host);
  EXPECT_EQ(Cli(config, "inspect --verify " + dir_ + "/data", &out), 1) << out;
  EXPECT_NE(out.find("FAIL " + b + ": keyring id " + innodb::MasterKeyName(kUuid, 2) +
                     " does not open this file: CRC-32C mismatch"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("PASS " + a + ":"), std::string::npos) << out;
  // A file names id 2 and no generation was proven to open it: none is offered.
  EXPECT_EQ(out.find("safe to retire: " + innodb::MasterKeyName(kUuid, 2)), std::string::npos) << out;
}

}  // namespace
}  // namespace mysqlh
