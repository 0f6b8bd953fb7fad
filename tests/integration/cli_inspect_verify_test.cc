// keyring-locker inspect --verify against the dev locker: a MySQL file passes
// only when the master key the locker holds really unwraps its tablespace key
// (CRC-32C), MariaDB files when every key version they need unwraps, and the
// "safe to retire" list holds exactly the versions no inspected file needs.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "tests/integration/cli_support.h"
#include "tests/integration/devlocker_fixture.h"
#include "tests/support/mysql_encrypted_page0.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/datafile_test_pages.h"
#include "tests/support/run_command.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using testing::DevLocker;

const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
std::string Master(uint32_t id) { return "INNODBKey-" + kUuid + "-" + std::to_string(id); }

crypto::SecureBuffer Filled(uint8_t byte, size_t n = 32) {
  crypto::SecureBuffer b(n);
  for (size_t i = 0; i < n; ++i) b.data()[i] = static_cast<uint8_t>(byte + i);
  return b;
}

class CliInspectVerify : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    locker_ = DevLocker::Start();
    ASSERT_NE(locker_, nullptr);
    const std::string token = Write("token", locker_->root_token(), 0600);
    json config = testing::DevLockerCliConfig(*locker_, token, "cli/db1");
    config_ = Write("config.json", config.dump(), 0600);
    auto c = LoadConfigFile(config_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto b = Backend::Open(*c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(b).value();
    ASSERT_EQ(mkdir((dir_ + "/data").c_str(), 0700), 0);
  }

  int Cli(const std::string& args, std::string* out) {
    return testing::RunCommand(std::string(KLK_CLI_BIN) + " --config " + config_ + " " + args, out);
  }

  // What mysqld's key_store does: the master key under its keyring id.
  void StoreMaster(uint32_t id, const crypto::SecureBuffer& bytes) {
    Status s = backend_->keys().CreateGeneration(Master(id), "AES", bytes.size(), &bytes);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = dir_ + "/data/" + name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }
  std::string MySqlFile(const std::string& name, uint32_t id, const crypto::SecureBuffer& master) {
    uint8_t key_iv[64];
    for (int i = 0; i < 64; ++i) key_iv[i] = static_cast<uint8_t>(i * 3 + id);
    return WriteFile(name, mysql_page0::EncryptedPage0(100 + id, id, kUuid, master, key_iv));
  }
  std::string MariaFile(const std::string& name, uint32_t key_id, uint32_t min_version) {
    auto page = datafile_test::MakePage0(16384, datafile_test::kFcrc32_16k, 50 + key_id);
    datafile_test::PutCryptData(page, 10428, 1, min_version, key_id, 1);
    return WriteFile(name, page);
  }

  // The fixture every case starts from:
  //   good.ibd     master key 1, stored with the bytes the file was written with
  //   wrong.ibd    master key 2, the locker holds other bytes under that id
  //   missing.ibd  master key 3, not in the locker
  //   default.ibd  id 0, InnoDB's built-in key
  //   maria.ibd    MariaDB key 1, min_key_version 2 (the locker has v1..v3)
  // plus in the locker only: master key 9 (no file), MariaDB key 2 v1, v2
  // (no file), a binlog key (not judged).
  void MakeWorld() {
    StoreMaster(1, Filled(0x10));
    StoreMaster(2, Filled(0x20));
    StoreMaster(9, Filled(0x90));
    const crypto::SecureBuffer binlog = Filled(0x40);
    ASSERT_TRUE(backend_->keys().CreateGeneration("MySQLReplicationKey_x_1", "AES", 32, &binlog).ok());
    std::string out;
    for (const char* c : {"ensure 1", "rotate 1", "rotate 1", "ensure 2", "rotate 2"}) {
      ASSERT_EQ(Cli(c, &out), 0) << c << ": " << out;
    }
    good_ = MySqlFile("good.ibd", 1, Filled(0x10));
    wrong_ = MySqlFile("wrong.ibd", 2, Filled(0x21));
    missing_ = MySqlFile("missing.ibd", 3, Filled(0x30));
    deflt_ = MySqlFile("default.ibd", 0, mysql_page0::DefaultMasterKey());
    maria_ = MariaFile("maria.ibd", 1, 2);
  }

  static std::string Line(const std::string& out, const std::string& start) {
    const size_t at = out.find(start);
    if (at == std::string::npos) return "";
    return out.substr(at, out.find('\n', at) - at);
  }

  std::unique_ptr<DevLocker> locker_;
  std::unique_ptr<Backend> backend_;
  std::string config_, good_, wrong_, missing_, deflt_, maria_;
};

TEST_F(CliInspectVerify, EachFilePassesOnlyWhenItsKeyReallyOpensIt) {
  MakeWorld();
  std::string out;
  EXPECT_EQ(Cli("inspect --verify " + dir_ + "/data", &out), 1) << out;

  const std::string good = Line(out, "PASS " + good_ + ":");
  EXPECT_NE(good.find("keyring id " + Master(1) + " opens the tablespace key (CRC-32C"), std::string::npos) << out;

  const std::string wrong = Line(out, "FAIL " + wrong_ + ":");
  EXPECT_NE(wrong.find("keyring id " + Master(2) + " does not open this file: CRC-32C mismatch"), std::string::npos)
      << out;

  const std::string missing = Line(out, "FAIL " + missing_ + ":");
  EXPECT_NE(missing.find("keyring id " + Master(3) + " is not in the locker"), std::string::npos) << out;

  EXPECT_NE(Line(out, "PASS " + deflt_ + ":").find("InnoDB's default master key (id 0) opens"), std::string::npos)
      << out;
  EXPECT_NE(Line(out, "PASS " + maria_ + ":").find("key 1 v2, v3: fetched and unwrapped (no page was decrypted)"), std::string::npos) << out;
  EXPECT_NE(out.find("verify: 5 file(s): 3 PASS, 2 FAIL (0 unreadable) against scope cli/db1"), std::string::npos)
      << out;
}

TEST_F(CliInspectVerify, AFlippedByteInTheWrappedKeyFailsWithACrcMismatch) {
  MakeWorld();
  std::vector<uint8_t> bytes;
  {
    std::ifstream in(good_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[mysql_page0::kWrappedOffset + 17] ^= 0x01;
  const std::string flipped = WriteFile("flipped.ibd", bytes);
  std::string out;
  EXPECT_EQ(Cli("inspect --verify " + flipped + " " + good_, &out), 1) << out;
  EXPECT_NE(Line(out, "FAIL " + flipped + ":").find("keyring id " + Master(1) + " does not open this file: CRC-32C "
                                                    "mismatch"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("PASS " + good_ + ":"), std::string::npos) << out;
}

TEST_F(CliInspectVerify, SafeToRetireListsExactlyWhatNoInspectedFileNeeds) {
  MakeWorld();
  std::string out;
  EXPECT_EQ(Cli("--json inspect --verify " + dir_ + "/data", &out), 1) << out;
  const json doc = json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  EXPECT_EQ(doc["summary"]["passed"], 3) << out;
  EXPECT_EQ(doc["summary"]["failed"], 2) << out;
  const json& retire = doc["safe_to_retire"];
  ASSERT_TRUE(retire["computed"].get<bool>()) << out;
  std::set<std::string> listed;
  for (const auto& v : retire["versions"]) {
    listed.insert(v["name"].get<std::string>() + " v" + std::to_string(v["version"].get<int>()));
  }
  // Key 1 v1 is below maria.ibd's min_key_version; key 2 is used by no file
  // (its latest, v2, is kept: new pages are written with it); master key 9
  // is named by no file. Master keys 1 (opens good.ibd) and 2 (a file names
  // it, unproven) stay, as do key 1 v2, v3.
  EXPECT_EQ(listed, (std::set<std::string>{"1 v1", "2 v1", Master(9) + " v1"})) << out;
  EXPECT_EQ(retire["not_judged"], json::array({"MySQLReplicationKey_x_1"})) << out;
  EXPECT_NE(retire["warning"].get<std::string>().find("only the files given were inspected"), std::string::npos);

  // Without the failing files, the text report says the same and exits 0.
  EXPECT_EQ(Cli("inspect --verify " + good_ + " " + deflt_ + " " + maria_, &out), 0) << out;
  EXPECT_NE(out.find("safe to retire: 1 version 1: no inspected file uses this version"), std::string::npos) << out;
  EXPECT_NE(out.find("safe to retire: " + Master(2) + " version 1: no inspected file names this master key"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("safe to retire: " + Master(1)), std::string::npos) << out;
  EXPECT_NE(out.find("WARNING: only the files given were inspected"), std::string::npos) << out;
}

TEST_F(CliInspectVerify, AnUnreadableFileFailsAndNoRetireListIsComputed) {
  MakeWorld();
  const std::string junk = WriteFile("junk.ibd", std::vector<uint8_t>(100, 0x41));
  std::string out;
  EXPECT_EQ(Cli("inspect --verify " + junk + " " + good_, &out), 2) << out;
  EXPECT_NE(Line(out, "FAIL " + junk + ":").find("cannot inspect"), std::string::npos) << out;
  EXPECT_NE(out.find("safe to retire: not computed: 1 file(s) or path(s) could not be read"), std::string::npos)
      << out;
}

TEST_F(CliInspectVerify, MariaDbVersionsMissingFromTheLockerFail) {
  MakeWorld();
  const std::string ahead = MariaFile("ahead.ibd", 1, 5);  // pages from v5 on; the locker stops at v3
  const std::string unknown = MariaFile("unknown.ibd", 7, 1);
  std::string out;
  EXPECT_EQ(Cli("inspect --verify " + ahead + " " + unknown, &out), 1) << out;
  EXPECT_NE(Line(out, "FAIL " + ahead + ":").find("key 1 v5..latest: the locker's latest version is v3"),
            std::string::npos)
      << out;
  EXPECT_NE(Line(out, "FAIL " + unknown + ":").find("key 7 v1..latest: the locker has no version of it"),
            std::string::npos)
      << out;
}

TEST_F(CliInspectVerify, AMySqlRedoLogIsCheckedLikeATablespace) {
  MakeWorld();
  // The redo header keeps the same 111-byte block at 1024 + 48.
  std::vector<uint8_t> good_page, redo = datafile_test::MySqlRedo(6, false);
  {
    std::ifstream in(good_, std::ios::binary);
    good_page.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::copy_n(good_page.begin() + mysql_page0::kInfoOffset, 111, redo.begin() + 1024 + 48);
  const std::string log = WriteFile("#ib_redo7", redo);
  std::string out;
  EXPECT_EQ(Cli("inspect --verify " + log, &out), 0) << out;
  EXPECT_NE(Line(out, "PASS " + log + ":").find("keyring id " + Master(1) + " opens the tablespace key"),
            std::string::npos)
      << out;
}

TEST_F(CliInspectVerify, WithPagesOnlyTheVersionsPagesCarryAreNeeded) {
  MakeWorld();
  // Key 1, min_key_version 1, pages written with v1 and v3 (v2 is on no page).
  auto file = datafile_test::MakePage0(16384, datafile_test::kFcrc32_16k, 60);
  datafile_test::PutCryptData(file, 10428, 1, 1, 1, 1);
  uint32_t page_no = 0;
  for (uint32_t v : {1u, 3u, 3u}) {
    std::vector<uint8_t> page(16384, 0);
    datafile_test::Be32(page, 0, v);  // full_crc32: the key version is the first word
    datafile_test::Be32(page, 4, ++page_no);
    file.insert(file.end(), page.begin(), page.end());
  }
  const std::string paged = WriteFile("paged.ibd", file);
  std::string out;
  EXPECT_EQ(Cli("--json inspect --verify --pages " + paged, &out), 0) << out;
  const json doc = json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  EXPECT_EQ(doc["files"][0]["reason"], "key 1 v1, v3: fetched and unwrapped (no page was decrypted)") << out;
  std::set<std::string> listed;
  for (const auto& v : doc["safe_to_retire"]["versions"]) {
    listed.insert(v["name"].get<std::string>() + " v" + std::to_string(v["version"].get<int>()));
  }
  EXPECT_TRUE(listed.count("1 v2")) << out;
  EXPECT_FALSE(listed.count("1 v1")) << out;
  EXPECT_FALSE(listed.count("1 v3")) << out;

  // Without --pages page 0 says v1..latest: all of them are needed.
  EXPECT_EQ(Cli("--json inspect --verify " + paged, &out), 0) << out;
  EXPECT_NE(out.find("key 1 v1..v3: fetched and unwrapped"), std::string::npos) << out;
}

TEST_F(CliInspectVerify, NeedsAConfig) {
  std::string out;
  EXPECT_EQ(testing::RunCommand(std::string(KLK_CLI_BIN) + " inspect --verify " + dir_, &out), 64) << out;
  EXPECT_NE(out.find("--verify needs --config FILE"), std::string::npos) << out;
}

}  // namespace
}  // namespace keyring_locker
