// key_remove is a soft delete: gone for the server at once, recoverable by
// the operator (keyring-locker deleted / undelete / purge-deleted).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "keyring_backend/kmip/kmip_tags.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/kmip_objects.h"
#include "tests/support/run_command.h"

namespace mysqlh {
namespace {

class SoftDelete : public HarnessTest {
 protected:
  // Runs the CLI; returns its exit code and stdout.
  int Cli(const std::string& config, const std::string& args, std::string* out) {
    return keyring_locker::testing::RunCommand(std::string(KLK_CLI_BIN) + " --config " + config + " " + args, out);
  }
  // What the locker itself holds for server key `id` (no '/', so its
  // folder or Name segment is the id): the entries of its KV folder or of
  // its folder in the directory store (aws, azure; temporary files left
  // out, no reader takes them for a record), or the KMIP objects named
  // "<id>/..." with any state but Active and any object type but the
  // expected one shown, sorted.
  std::vector<std::string> HeldInLocker(const std::string& scope, const std::string& id) {
    std::vector<std::string> held;
    if (kmip()) {
      namespace enums = keyring_locker::kmip::enums;
      std::string error;
      auto objects = KmipObjectsOfScope(*kmip_, KeyPrefix(), scope, &error);
      EXPECT_TRUE(error.empty()) << error;
      for (const auto& [name, object] : objects) {
        if (name.rfind(id + "/", 0) != 0) continue;
        std::string entry = name.substr(id.size() + 1);
        const bool marker = entry.size() > 8 && entry.substr(entry.size() - 8) == ".deleted";
        // AES keys held bare are Symmetric Keys, markers Secret Data.
        const uint32_t want_type = marker ? enums::kObjectSecretData : enums::kObjectSymmetricKey;
        if (object.state != enums::kStateActive) entry += std::string(" (") + KmipStateName(object.state) + ")";
        if (object.object_type != want_type) entry += " (object type " + std::to_string(object.object_type) + ")";
        held.push_back(entry);
      }
    } else if (aws() || azure()) {
      std::error_code ec;
      const std::filesystem::path folder = KeysDir() + "/keyring_locker/" + scope + "/keys/" + id;
      for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("#tmp.", 0) != 0) held.push_back(name);
      }
      EXPECT_TRUE(!ec || ec == std::errc::no_such_file_or_directory) << folder << ": " << ec.message();
    } else {
      auto list = locker_->Call("LIST", "secret/metadata/keyring_locker/" + scope + "/keys/" + id);
      EXPECT_TRUE(list.status == 200 || list.status == 404) << list.status;
      if (list.status == 200) held = list.body["data"]["keys"].get<std::vector<std::string>>();
    }
    std::sort(held.begin(), held.end());
    return held;
  }
};
using Held = std::vector<std::string>;

TEST_F(SoftDelete, RemovedKeyIsListedRestoredAndPurgedByTheCli) {
  auto host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  const std::string id = "INNODBKey-3e11fa47-71ca-11e1-9e33-c80aa9429562-1";
  ASSERT_FALSE(host->Generate(id, "AES", 32));
  const auto original = host->Fetch(id).key;
  ASSERT_FALSE(host->Remove(id));
  EXPECT_FALSE(host->Fetch(id).found);
  // Gone for the server, kept by the locker: the record untouched (a KMIP
  // object still Active, never revoked or destroyed) beside its marker.
  EXPECT_EQ(HeldInLocker("mysql/soft", id), (Held{"1", "1.deleted"}));
  StopPlugin(host);

  const std::string config = WriteConfig("cli.json", "mysql/soft");
  std::string out;
  ASSERT_EQ(Cli(config, "deleted", &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("held"), std::string::npos) << out;
  EXPECT_NE(Cli(config, "undelete " + id + " 2", &out), 0) << out;  // not its latest generation
  ASSERT_EQ(Cli(config, "undelete " + id + " 1", &out), 0) << out;
  EXPECT_EQ(HeldInLocker("mysql/soft", id), (Held{"1"})) << "undelete removes the marker only";

  host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Fetch(id).key, original) << "the restored key must be byte-identical";
  ASSERT_FALSE(host->Remove(id));
  ASSERT_FALSE(host->Store(id, "AES", std::vector<uint8_t>(32, 3)));  // a new generation
  StopPlugin(host);
  EXPECT_EQ(HeldInLocker("mysql/soft", id), (Held{"1", "1.deleted", "2"}));

  ASSERT_EQ(Cli(config, "purge-deleted 1", &out), 0) << out;
  EXPECT_NE(out.find("purged 0"), std::string::npos) << out;  // inside the retention
  ASSERT_EQ(Cli(config, "purge-deleted 0", &out), 0) << out;
  EXPECT_NE(out.find("purged 1"), std::string::npos) << out;
  // The purged record is gone; its marker stays, so version 1 is never reused.
  EXPECT_EQ(HeldInLocker("mysql/soft", id), (Held{"1.deleted", "2"}));
  ASSERT_EQ(Cli(config, "deleted", &out), 0) << out;
  EXPECT_NE(out.find("purged"), std::string::npos) << out;
  EXPECT_NE(Cli(config, "undelete " + id + " 1", &out), 0) << out;

  host = StartPlugin("mysql/soft");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->Fetch(id).key, std::vector<uint8_t>(32, 3));
  StopPlugin(host);
}

}  // namespace
}  // namespace mysqlh
