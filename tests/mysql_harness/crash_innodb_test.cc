// kill -9 at every crash point of InnoDB's first master key (the first
// encrypted table) and of ALTER INSTANCE ROTATE INNODB MASTER KEY, replayed
// with the plugin's crashtest variant in a child process that dies by
// SIGKILL. Then, as a restarted mysqld would: every tablespace's page 0
// unwraps with a master key the shipped plugin returns, no key version was
// overwritten, and the interrupted operation completes when run again.
// The points are not listed here: a clean run of the step records the ones
// it crosses (KLK_CRASH_TRACE_FILE) and every pass through each is tested.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "common/crash_point.h"
#include "crypto/crypto.h"
#include "keyring_backend/backend.h"
#include "keyring_backend/kmip/kmip_object_layout.h"
#include "keyring_backend/kmip/kmip_tags.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"
#include "tests/mysql_harness/kmip_objects.h"
#include "tests/support/backend_parts.h"

namespace mysqlh {
namespace {

namespace crypto = keyring_locker::crypto;
namespace klk = keyring_locker;
const std::string kUuid = "5b0e1c2a-8f3d-11ee-b9d1-0242ac120002";
constexpr size_t kPage = 16384;
constexpr int kTablespaces = 3;

// The part of mysqld that matters here: InnoDB's master key handling
// (os0enc.cc) on page 0 files that survive the process. Returns false on any
// error; it runs in a child where gtest assertions would be lost.
class InnodbEmulation {
 public:
  InnodbEmulation(PluginHost& host, std::string dir) : host_(host), dir_(std::move(dir)) {}

  std::string PagePath(int i) const { return dir_ + "/ts" + std::to_string(i) + ".ibd"; }

  // At startup InnoDB learns the highest master key id from the headers.
  uint32_t HighestHeaderId() const {
    uint32_t id = 0;
    for (int i = 0; i < kTablespaces; ++i) {
      std::vector<uint8_t> page;
      if (!ReadPage(i, &page)) continue;
      auto h = innodb::ParseEncryptionHeader(page.data(), kPage);
      if (h.ok()) id = std::max(id, h->master_key_id);
    }
    return id;
  }

  // create_master_key: key_generate's answer is ignored (the id may exist
  // from a run that crashed before using it); key_fetch decides.
  bool NewMasterKey(uint32_t id, std::vector<uint8_t>* key) {
    (void)host_.Generate(innodb::MasterKeyName(kUuid, id), "AES", 32);
    klk::CrashPoint("innodb.after_generate");
    auto f = host_.Fetch(innodb::MasterKeyName(kUuid, id));
    if (f.error || !f.found || f.key.size() != 32) return false;
    *key = f.key;
    return true;
  }

  // The first encrypted table: the DefaultMasterKey probe, master key 1,
  // then each tablespace's page 0 (created whole: InnoDB's DDL log removes
  // a half-created file, which this stands for).
  bool FirstTables() {
    (void)host_.Generate("DefaultMasterKey", "AES", 32);
    if (host_.Fetch("DefaultMasterKey").error || host_.Remove("DefaultMasterKey")) return false;
    klk::CrashPoint("innodb.after_probe");
    // get_master_key: a new master key only while no tablespace uses one.
    uint32_t id = HighestHeaderId();
    std::vector<uint8_t> master;
    if (id == 0) {
      id = 1;
      if (!NewMasterKey(id, &master)) return false;
    } else {
      auto f = host_.Fetch(innodb::MasterKeyName(kUuid, id));
      if (f.error || !f.found) return false;
      master = f.key;
    }
    for (int i = 0; i < kTablespaces; ++i) {
      std::vector<uint8_t> page;
      if (ReadPage(i, &page)) continue;  // created before a crash
      innodb::TablespaceKey key{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
      page.assign(kPage, 0);
      if (!innodb::WriteEncryptionInfo(page.data(), kPage, id, kUuid, key, crypto::SecureBuffer::CopyOf(master.data(), master.size())).ok()) return false;
      if (!WritePage(i, page, /*create=*/true)) return false;
      klk::CrashPoint("innodb.after_page0_create");
    }
    return true;
  }

  // ALTER INSTANCE ROTATE INNODB MASTER KEY: a new master key, then page 0
  // of every tablespace re-wrapped in place (tablespace keys unchanged).
  bool Rotate() {
    const uint32_t id = HighestHeaderId() + 1;
    std::vector<uint8_t> master;
    if (!NewMasterKey(id, &master)) return false;
    for (int i = 0; i < kTablespaces; ++i) {
      std::vector<uint8_t> page;
      if (!ReadPage(i, &page)) return false;
      auto key = Unwrap(page);
      if (!key.ok()) return false;
      if (!innodb::WriteEncryptionInfo(page.data(), kPage, id, kUuid, *key, crypto::SecureBuffer::CopyOf(master.data(), master.size())).ok()) return false;
      if (!WritePage(i, page, /*create=*/false)) return false;
      klk::CrashPoint("innodb.after_page0_rewrite");
    }
    return true;
  }

  // Startup's read of a tablespace: the master key its header names.
  klk::StatusOr<innodb::TablespaceKey> Unwrap(const std::vector<uint8_t>& page) {
    ASSIGN_OR_RETURN(innodb::EncryptionHeader h, innodb::ParseEncryptionHeader(page.data(), kPage));
    auto f = host_.Fetch(innodb::MasterKeyName(kUuid, h.master_key_id));
    if (f.error || !f.found) {
      return klk::NotFound("master key " + std::to_string(h.master_key_id) + " is not in the keyring");
    }
    return innodb::UnwrapTablespaceKey(h, crypto::SecureBuffer::CopyOf(f.key.data(), f.key.size()));
  }

  bool ReadPage(int i, std::vector<uint8_t>* page) const {
    std::ifstream in(PagePath(i), std::ios::binary);
    page->assign(kPage, 0);
    return in && in.read(reinterpret_cast<char*>(page->data()), kPage) && in.gcount() == static_cast<long>(kPage);
  }

 private:
  // One pwrite of the whole page: a kill cannot tear it (InnoDB's
  // doublewrite buffer gives real servers the same guarantee).
  bool WritePage(int i, const std::vector<uint8_t>& page, bool create) {
    const std::string path = create ? PagePath(i) + ".tmp" : PagePath(i);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    const bool ok = ::pwrite(fd, page.data(), kPage, 0) == static_cast<ssize_t>(kPage);
    ::close(fd);
    return ok && (!create || std::rename(path.c_str(), PagePath(i).c_str()) == 0);
  }

  PluginHost& host_;
  std::string dir_;
};

class CrashInnodb : public HarnessTest {
 protected:
  using Step = std::function<bool(InnodbEmulation&)>;

  // Runs `step` in a child with the crashtest plugin. `armed`: "<point> <n>"
  // or empty; `trace`: file for the points crossed, or empty. Returns the
  // wait status.
  int RunChild(const std::string& scope, const std::string& data, const Step& step, const std::string& armed,
               const std::string& trace) {
    const std::string config = WriteConfig("crash-" + std::to_string(std::hash<std::string>()(scope)) + ".json", scope);
    const std::string arm_file = dir_ + "/crash_point";
    std::remove(arm_file.c_str());
    if (!armed.empty()) std::ofstream(arm_file) << armed << "\n";
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      ClearLog();  // the parent's lines came along with fork
      ::setenv("KLK_CRASH_POINT_FILE", arm_file.c_str(), 1);
      if (!trace.empty()) ::setenv("KLK_CRASH_TRACE_FILE", trace.c_str(), 1);
      std::string error;
      auto host = PluginHost::Load(KLK_MYSQL_CRASHTEST_PLUGIN_SO, &error);
      if (host == nullptr || !host->Init(config, &error)) ::_exit(3);
      InnodbEmulation innodb(*host, data);
      if (!step(innodb)) {
        // Why, for the failure message: the plugin's error log of this child.
        for (const auto& l : LogLines()) std::fprintf(stderr, "child's plugin log: %s\n", l.text.c_str());
        ::_exit(4);
      }
      ::_exit(host->Unload(&error) ? 0 : 5);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!armed.empty()) {
      EXPECT_FALSE(std::ifstream(arm_file).good()) << armed << ": the point did not disarm";
    }
    return status;
  }

  // Every key version of the scope: complete, unwraps; name/version -> SHA-256.
  std::map<std::string, std::string> Versions(const std::string& scope) {
    std::map<std::string, std::string> out;
    auto config = klk::LoadConfigFile(WriteConfig("check.json", scope));
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    if (!config.ok()) return out;
    auto backend = klk::Backend::Open(*config);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    if (!backend.ok()) return out;
    klk::KeyService& keys = (*backend)->keys();
    if (kmip()) {
      KmipVersions(scope, keys, &out);
      return out;
    }
    auto names = keys.ListNames();
    EXPECT_TRUE(names.ok()) << names.status().ToString();
    for (const auto& name : names.ok() ? *names : std::vector<std::string>{}) {
      const std::string doc = klk::testing::DocumentPathOf(**backend, name, 1);
      auto entries = klk::testing::VaultOf(**backend).List(doc.substr(0, doc.rfind('/')));
      EXPECT_TRUE(entries.ok()) << name;
      for (const auto& e : entries.ok() ? *entries : std::vector<std::string>{}) {
        if (e.empty() || e.find_first_not_of("0123456789") != std::string::npos) continue;  // soft-delete markers
        auto key = keys.Get(name, static_cast<uint32_t>(std::stoul(e)));
        EXPECT_TRUE(key.ok()) << name << " version " << e << " is incomplete: " << key.status().ToString();
        if (key.ok()) out[name + "/" + e] = crypto::HexEncode(crypto::Sha256((*key)->bytes.data(), (*key)->bytes.size()));
      }
    }
    return out;
  }

  // Versions() of a KMIP scope, from the server's objects: every Active key
  // object must be a complete version; objects in other states (a create
  // cut short before its Activate, kmip.before_activate) are never served.
  // After the rerun none may be left (counted in unfinished_objects_): the
  // rerun's create of that version clears the dead writer's object.
  void KmipVersions(const std::string& scope, klk::KeyService& keys, std::map<std::string, std::string>* out) {
    std::string error;
    auto objects = KmipObjectsOfScope(*kmip_, KeyPrefix(), scope, &error);
    EXPECT_TRUE(error.empty()) << error;
    const klk::kmip::KmipObjectLayout layout(KeyPrefix(), scope);
    for (const auto& [name, object] : objects) {
      auto parsed = layout.Parse(layout.Group() + "/" + name);
      EXPECT_TRUE(parsed.has_value()) << "an object of the scope the layout did not name: " << name;
      if (!parsed || parsed->marker) continue;
      if (object.state != klk::kmip::enums::kStateActive) {
        if (after_rerun_) ++unfinished_objects_;
        continue;
      }
      auto key = keys.Get(parsed->name, parsed->version);
      EXPECT_TRUE(key.ok()) << name << " is incomplete: " << key.status().ToString();
      const std::string version = parsed->name + "/" + std::to_string(parsed->version);
      if (key.ok()) (*out)[version] = crypto::HexEncode(crypto::Sha256((*key)->bytes.data(), (*key)->bytes.size()));
    }
  }

  // What a restarted mysqld needs: every page 0 opens; counts them.
  int OpenAll(const std::string& data) {
    auto host = StartPlugin(last_scope_);
    if (host == nullptr) return -1;
    InnodbEmulation innodb(*host, data);
    int opened = 0;
    for (int i = 0; i < kTablespaces; ++i) {
      std::vector<uint8_t> page;
      if (!innodb.ReadPage(i, &page)) continue;
      auto key = innodb.Unwrap(page);
      EXPECT_TRUE(key.ok()) << innodb.PagePath(i) << ": " << key.status().ToString();
      if (key.ok()) ++opened;
    }
    StopPlugin(host);
    return opened;
  }

  std::vector<std::string> Trace(const std::string& path) {
    std::vector<std::string> points;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) points.push_back(line);
    return points;
  }

  // For every pass through every point `step` crosses: a fresh scope and
  // data dir, `setup` run cleanly, the step killed there, then the checks
  // and the step run again to completion. Counts the crashes in crashes_.
  void CrashEverywhere(const std::string& label, const Step& setup, const Step& step,
                      const std::set<std::string>& must_cross) {
    const std::string trace = dir_ + "/" + label + ".trace";
    std::vector<std::string> points;
    {
      const std::string data = NewDataDir(label + "-clean");
      if (setup) {
        EXPECT_EQ(RunChild(last_scope_, data, setup, "", ""), 0);
      }
      EXPECT_EQ(RunChild(last_scope_, data, step, "", trace), 0) << "clean run of " << label;
      points = Trace(trace);
    }
    DropScope(last_scope_);  // KMIP: fewer objects, faster Locates (kmip_objects.h)
    std::set<std::string> crossed(points.begin(), points.end());
    for (const auto& p : must_cross) EXPECT_TRUE(crossed.count(p)) << label << " never crosses " << p;
    std::map<std::string, int> seen;
    crashes_ = 0;
    for (const auto& point : points) {
      const std::string armed = point + " " + std::to_string(++seen[point]);
      SCOPED_TRACE(label + " killed at " + armed);
      const std::string data = NewDataDir(label + "-" + std::to_string(crashes_));
      if (setup) {
        ASSERT_EQ(RunChild(last_scope_, data, setup, "", ""), 0);
      }
      const int before_pages = OpenAll(data);
      const auto before = Versions(last_scope_);
      const int status = RunChild(last_scope_, data, step, armed, "");
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
      ++crashes_;
      // Restart: pages written before the crash open, nothing overwritten.
      EXPECT_GE(OpenAll(data), before_pages);
      const auto after = Versions(last_scope_);
      for (const auto& [version, fingerprint] : before) {
        auto it = after.find(version);
        ASSERT_NE(it, after.end()) << version << " vanished";
        EXPECT_EQ(it->second, fingerprint) << version << " was overwritten";
      }
      // The server runs the operation again after its restart: it completes,
      // and what the killed run left in the locker is kept, not overwritten.
      // A Pre-Active KMIP object left at kmip.before_activate holds its
      // version until it is kmip.abandoned_after_s (1 s here) older than
      // the next writer's: a restarted server waits that long at most.
      if (point == "kmip.before_activate") std::this_thread::sleep_for(std::chrono::milliseconds(2200));
      ASSERT_EQ(RunChild(last_scope_, data, step, "", ""), 0);
      EXPECT_EQ(OpenAll(data), kTablespaces);
      after_rerun_ = true;
      const auto rerun = Versions(last_scope_);
      after_rerun_ = false;
      for (const auto& [version, fingerprint] : after) {
        auto it = rerun.find(version);
        ASSERT_NE(it, rerun.end()) << version << " vanished in the re-run";
        EXPECT_EQ(it->second, fingerprint) << version << " was overwritten by the re-run";
      }
      EXPECT_GT(rerun.size(), 0u) << "the re-run left no key versions to compare";
      DropScope(last_scope_);
    }
  }

  std::string NewDataDir(const std::string& name) {
    last_scope_ = "crash/" + name;
    const std::string data = dir_ + "/" + name;
    ::mkdir(data.c_str(), 0700);
    return data;
  }

  std::string last_scope_;
  int crashes_ = 0;
  int unfinished_objects_ = 0;
  bool after_rerun_ = false;  // KmipVersions counts leftovers only after a rerun
};

TEST_F(CrashInnodb, FirstMasterKeyAndPage0) {
  CrashEverywhere(
      "first", nullptr, [](InnodbEmulation& e) { return e.FirstTables(); },
      {"create.before_store", "create.after_store", "mysql.after_generate", "remove.after_marker",
       "mysql.after_remove", "innodb.after_probe", "innodb.after_generate", "innodb.after_page0_create"});
  const int crashes = crashes_;
  RecordProperty("crash_points_tested", crashes);
  std::printf("first master key: %d crash points tested\n", crashes);
  EXPECT_GE(crashes, 12);
  EXPECT_EQ(unfinished_objects_, 0) << "Pre-Active KMIP objects were left behind";
}

TEST_F(CrashInnodb, RotateMasterKeyRewritesEveryPage0) {
  CrashEverywhere(
      "rotate", [](InnodbEmulation& e) { return e.FirstTables() && e.Rotate(); },
      [](InnodbEmulation& e) { return e.Rotate(); },
      {"create.before_store", "create.after_store", "mysql.after_generate", "innodb.after_generate",
       "innodb.after_page0_rewrite"});
  const int crashes = crashes_;
  RecordProperty("crash_points_tested", crashes);
  std::printf("master key rotation: %d crash points tested\n", crashes);
  EXPECT_GE(crashes, 3 + kTablespaces);
  EXPECT_EQ(unfinished_objects_, 0) << "Pre-Active KMIP objects were left behind";
}

}  // namespace
}  // namespace mysqlh
