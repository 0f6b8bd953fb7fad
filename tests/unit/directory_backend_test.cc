// DirectoryBackend: create-only under racing writers, whole-or-nothing after
// a kill -9 at each write step, leftovers never listed or read, the root's
// and folders' permissions, paths that would leave the root, and damaged,
// oversized, linked or FIFO documents refused with clear errors, never a
// hang. The KeyStore contract runs over it in locker_contract_test.cc.
#include "keyring_backend/store/directory_backend.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "keyring_backend/http/operation_deadline.h"
#include "tests/support/fifo_util.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kDoc = "keyring_locker/prod/keys/k/1";
const std::string kFolder = "keyring_locker/prod/keys/k";

class DirectoryBackendTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    root_ = dir_ + "/store";
  }
  std::unique_ptr<DirectoryBackend> OpenStore(DirectoryBackendOptions options = {}) {
    options.root = root_;
    auto b = DirectoryBackend::Open(options);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }
  static json Doc(const std::string& who) { return {{"format", "keyring_locker/2"}, {"wrapped", who}}; }
  static mode_t Mode(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static std::string Slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> TempFilesIn(const std::string& folder) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root_ + "/" + folder)) {
      const std::string name = e.path().filename();
      if (name.rfind("#tmp.", 0) == 0) out.push_back(name);
    }
    return out;
  }
  void Plant(const std::string& rel, const std::string& content, mode_t mode = 0600) {
    const fs::path p = fs::path(root_) / rel;
    fs::create_directories(p.parent_path());
    for (fs::path d = p.parent_path(); d.string().size() > root_.size(); d = d.parent_path()) {
      ::chmod(d.c_str(), 0700);
    }
    std::ofstream(p, std::ios::binary) << content;
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }
  std::string root_;
};

// ------------------------------------------------------------ the root

TEST_F(DirectoryBackendTest, MakesAMissingRootPrivateAndSaysWhereItIs) {
  const mode_t old_umask = ::umask(0);  // the modes must not depend on it
  auto b = OpenStore();
  ::umask(old_umask);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Mode(root_), 0700u);
  const std::string canonical = fs::canonical(root_);
  EXPECT_EQ(b->Describe(), "directory " + canonical);
  const KeyHomeIdentity id = b->Identity();
  ASSERT_EQ(id.fields.size(), 1u);
  EXPECT_EQ(id.fields[0].first, "directory");
  EXPECT_EQ(id.fields[0].second, canonical);
  auto h = b->Health();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->reachable) << h->detail;
  EXPECT_TRUE(b->Connect().ok());
}

TEST_F(DirectoryBackendTest, RefusesARelativeOrEmptyRoot) {
  for (const std::string root : {"", "store", "./store"}) {
    DirectoryBackendOptions o;
    o.root = root;
    auto b = DirectoryBackend::Open(o);
    ASSERT_FALSE(b.ok()) << root;
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
    EXPECT_NE(b.status().message().find("absolute path"), std::string::npos) << b.status().message();
  }
}

TEST_F(DirectoryBackendTest, RefusesARootThatIsASymlink) {
  const std::string real = dir_ + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), root_.c_str()), 0);
  DirectoryBackendOptions o;
  o.root = root_;
  auto b = DirectoryBackend::Open(o);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find(root_ + " is a symbolic link"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("real directory"), std::string::npos);
  o.root = root_ + "/";  // a trailing slash would make open() follow it
  EXPECT_FALSE(DirectoryBackend::Open(o).ok());
}

TEST_F(DirectoryBackendTest, RefusesAGroupOrOtherWritableRootNamingTheFix) {
  ASSERT_EQ(::mkdir(root_.c_str(), 0700), 0);
  for (mode_t mode : {0770, 0702, 0777}) {
    ASSERT_EQ(::chmod(root_.c_str(), mode), 0);
    DirectoryBackendOptions o;
    o.root = root_;
    auto b = DirectoryBackend::Open(o);
    ASSERT_FALSE(b.ok()) << std::oct << mode;
    EXPECT_EQ(b.status().code(), Code::kPermissionDenied);
    EXPECT_NE(b.status().message().find("chmod 700 " + root_), std::string::npos) << b.status().message();
  }
  ASSERT_EQ(::chmod(root_.c_str(), 0750), 0);  // readable by the group is allowed: files are wrapped keys
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(DirectoryBackendTest, RefusesARootOwnedBySomeoneElse) {
  std::string foreign = "/usr";  // owned by root: someone else, unless we are root
  if (::geteuid() == 0) {
    foreign = root_;
    ASSERT_EQ(::mkdir(foreign.c_str(), 0700), 0);
    ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
  }
  DirectoryBackendOptions o;
  o.root = foreign;
  auto b = DirectoryBackend::Open(o);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kPermissionDenied);
  EXPECT_NE(b.status().message().find("not by the server's user"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("chown"), std::string::npos);
}

TEST_F(DirectoryBackendTest, RefusesARootThatIsAFileOrHasNoParent) {
  Write("store", "x", 0600);
  DirectoryBackendOptions o;
  o.root = root_;
  auto b = DirectoryBackend::Open(o);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("not a directory"), std::string::npos) << b.status().message();
  o.root = dir_ + "/missing/store";
  b = DirectoryBackend::Open(o);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("mkdir -m 700"), std::string::npos) << b.status().message();
}

TEST_F(DirectoryBackendTest, HealthSaysWhenTheRootWasRemovedOrReplaced) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(::rename(root_.c_str(), (dir_ + "/moved").c_str()), 0);
  ASSERT_EQ(::mkdir(root_.c_str(), 0700), 0);
  auto h = b->Health();
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->reachable);
  EXPECT_NE(h->detail.find("no longer the directory"), std::string::npos) << h->detail;
  EXPECT_FALSE(b->Connect().ok());

  ASSERT_EQ(::rmdir(root_.c_str()), 0);
  ASSERT_EQ(::rmdir((dir_ + "/moved").c_str()), 0);
  h = b->Health();
  EXPECT_FALSE(h->reachable);
  EXPECT_NE(h->detail.find("removed"), std::string::npos) << h->detail;
}

// ------------------------------------------------------------ create-only

TEST_F(DirectoryBackendTest, StoresOnceAndNeverOverwrites) {
  const mode_t old_umask = ::umask(0);
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  Status first = b->Store(kDoc, Doc("first"));
  ::umask(old_umask);
  ASSERT_TRUE(first.ok()) << first.ToString();
  Status second = b->Store(kDoc, Doc("second"));
  EXPECT_EQ(second.code(), Code::kAlreadyExists) << second.ToString();
  EXPECT_NE(second.message().find("never overwritten"), std::string::npos);
  auto got = b->Fetch(kDoc);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, Doc("first"));
  EXPECT_EQ(Mode(root_ + "/" + kDoc), 0600u);
  EXPECT_EQ(Mode(root_ + "/" + kFolder), 0700u);
  EXPECT_EQ(Mode(root_ + "/keyring_locker"), 0700u);
  EXPECT_TRUE(TempFilesIn(kFolder).empty());
  EXPECT_EQ(b->Fetch(kFolder + "/2").status().code(), Code::kNotFound);
  EXPECT_EQ(b->Fetch("other/1").status().code(), Code::kNotFound);
}

TEST_F(DirectoryBackendTest, EightThreadsRacingForOnePathHaveExactlyOneWinner) {
  for (int round = 0; round < 10; ++round) {
    const std::string path = kFolder + "/" + std::to_string(round + 1);
    std::vector<std::unique_ptr<DirectoryBackend>> stores;  // as if eight servers
    for (int i = 0; i < 8; ++i) stores.push_back(OpenStore());
    std::atomic<int> ready{0}, won{0}, lost{0}, winner{-1};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 8) std::this_thread::yield();
        Status s = stores[i]->Store(path, Doc("writer-" + std::to_string(i)));
        if (s.ok()) {
          ++won;
          winner = i;
        } else {
          ++lost;
          EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(won.load(), 1) << "round " << round;
    ASSERT_EQ(lost.load(), 7);
    auto got = stores[0]->Fetch(path);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Doc("writer-" + std::to_string(winner.load()))) << "the winner's document, whole";
  }
  EXPECT_TRUE(TempFilesIn(kFolder).empty()) << "losers remove their temporary files";
}

TEST_F(DirectoryBackendTest, CrashPointsComeInWriteOrder) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  const std::string trace = dir_ + "/trace";
  ::setenv("KLK_CRASH_TRACE_FILE", trace.c_str(), 1);
  Status s = b->Store(kDoc, Doc("x"));
  ::unsetenv("KLK_CRASH_TRACE_FILE");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Slurp(trace), "directory.before_link\ndirectory.after_link\n");
}

// kill -9 at each step of a write, in a child process: the store afterwards
// holds no document or a whole one, never a part, and works on.
class DirectoryCrashTest : public DirectoryBackendTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DirectoryCrashTest, AKillLeavesNoDocumentOrAWholeOne) {
  const std::string point = GetParam();
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store(kFolder + "/1", Doc("before")).ok());
  const std::string arm = dir_ + "/arm";
  std::ofstream(arm) << point << "\n";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("KLK_CRASH_POINT_FILE", arm.c_str(), 1);
    Status s = b->Store(kFolder + "/2", Doc("interrupted"));
    ::_exit(s.ok() ? 3 : 4);  // not killed: the point was never passed
  }
  int status = 0;
  bool done = false;
  for (int i = 0; i < 1000 && !(done = ::waitpid(child, &status, WNOHANG) == child); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!done) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL() << "the writer did not finish within 10 s";
  }
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "not killed at " << point;

  auto restarted = OpenStore();
  ASSERT_NE(restarted, nullptr);
  auto listed = restarted->List(kFolder);
  ASSERT_TRUE(listed.ok());
  auto v2 = restarted->Fetch(kFolder + "/2");
  if (point == "directory.before_link") {
    EXPECT_EQ(*listed, std::vector<std::string>{"1"}) << "the temporary file is not listed";
    EXPECT_EQ(v2.status().code(), Code::kNotFound);
    EXPECT_EQ(TempFilesIn(kFolder).size(), 1u) << "a complete temporary file was left";
    ASSERT_TRUE(restarted->Store(kFolder + "/2", Doc("again")).ok()) << "the version is free again";
    EXPECT_EQ(*restarted->Fetch(kFolder + "/2"), Doc("again"));
  } else {
    EXPECT_EQ(*listed, (std::vector<std::string>{"1", "2"}));
    ASSERT_TRUE(v2.ok()) << v2.status().ToString();
    EXPECT_EQ(*v2, Doc("interrupted")) << "a whole document";
    EXPECT_EQ(restarted->Store(kFolder + "/2", Doc("again")).code(), Code::kAlreadyExists);
  }
  EXPECT_EQ(*restarted->Fetch(kFolder + "/1"), Doc("before"));
}

INSTANTIATE_TEST_SUITE_P(Points, DirectoryCrashTest,
                         ::testing::Values("directory.before_link", "directory.after_link"),
                         [](const auto& info) {
                           return std::string(info.param) == "directory.before_link" ? "BeforeLink" : "AfterLink";
                         });

// ------------------------------------------------------------ leftovers

TEST_F(DirectoryBackendTest, AStrayTemporaryFileIsNeitherListedNorReadAndIsSweptWhenOld) {
  Plant(kFolder + "/1", Doc("one").dump());
  Plant(kFolder + "/#tmp.2.0123456789abcdef", "{\"format\":\"keyring_lo");  // torn by a crash
  Plant(kFolder + "/#tmp.1.fedcba9876543210", Doc("one").dump());           // linked, not yet unlinked
  {
    auto b = OpenStore();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(*b->List(kFolder), std::vector<std::string>{"1"});
    EXPECT_EQ(b->Fetch(kFolder + "/2").status().code(), Code::kNotFound);
    EXPECT_EQ(b->Fetch(kFolder + "/#tmp.2.0123456789abcdef").status().code(), Code::kInvalidArgument);
    ASSERT_TRUE(b->Store(kFolder + "/3", Doc("three")).ok());
    EXPECT_EQ(TempFilesIn(kFolder).size(), 2u) << "young temporary files may be a writer at work: kept";
  }
  DirectoryBackendOptions eager;
  eager.stale_temp_age = std::chrono::seconds(0);
  auto b = OpenStore(eager);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store(kFolder + "/4", Doc("four")).ok());
  EXPECT_TRUE(TempFilesIn(kFolder).empty()) << "old leftovers are removed by the next write into the folder";
  EXPECT_EQ(*b->List(kFolder), (std::vector<std::string>{"1", "3", "4"}));
  EXPECT_EQ(*b->Fetch(kFolder + "/1"), Doc("one"));
}

TEST_F(DirectoryBackendTest, ListsOnlyDocumentsAndFoldersDirectlyBelow) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store("p/s/keys/a/1", Doc("x")).ok());
  ASSERT_TRUE(b->Store("p/s/keys/a/1.deleted", Doc("x")).ok());
  ASSERT_TRUE(b->Store("p/s/keys/b%2F/2", Doc("x")).ok());
  Plant("p/s/keys/.hidden~", "editor backup");  // a name no document path can have
  ASSERT_EQ(::symlink("/etc", (root_ + "/p/s/keys/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/p/s/keys/pipe").c_str(), 0600), 0);
  EXPECT_EQ(*b->List("p/s/keys"), (std::vector<std::string>{"a/", "b%2F/"}));
  EXPECT_EQ(*b->List("p/s/keys/"), (std::vector<std::string>{"a/", "b%2F/"}));
  EXPECT_EQ(*b->List("p/s/keys/a"), (std::vector<std::string>{"1", "1.deleted"}));
  EXPECT_EQ(*b->List(""), std::vector<std::string>{"p/"});
  auto none = b->List("p/s/keys/absent");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(DirectoryBackendTest, RemoveDeletesOneDocument) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store(kDoc, Doc("x")).ok());
  ASSERT_TRUE(b->Store(kDoc + ".deleted", Doc("m")).ok());
  ASSERT_TRUE(b->Remove(kDoc + ".deleted").ok());
  EXPECT_EQ(*b->List(kFolder), std::vector<std::string>{"1"});
  EXPECT_TRUE(b->Remove(kDoc + ".deleted").ok()) << "nothing there is success";
  EXPECT_TRUE(b->Remove("absent/folder/1").ok());
  Status folder = b->Remove(kFolder);
  EXPECT_EQ(folder.code(), Code::kFailedPrecondition) << folder.ToString();
  EXPECT_TRUE(b->Fetch(kDoc).ok());
}

// ------------------------------------------------------------ paths

TEST_F(DirectoryBackendTest, RefusesPathsThatWouldLeaveTheRoot) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  const std::vector<std::string> bad = {"../x",          "a/../../x",        "/x",       "a//x",  "a/./x",
                                        "a/x/",          "",                 "..",       "a/ x",  "a/#tmp.1.00",
                                        "a/x\\..\\y",    std::string("a/\0x", 4), "a/x/../../../../etc/passwd",
                                        "a/" + std::string(300, 'n')};
  for (const std::string& p : bad) {
    Status s = b->Store(p, Doc("x"));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "'" << p << "': " << s.ToString();
    EXPECT_NE(s.message().find("refused path"), std::string::npos) << s.message();
    EXPECT_EQ(b->Fetch(p).status().code(), Code::kInvalidArgument) << p;
    EXPECT_EQ(b->Remove(p).code(), Code::kInvalidArgument) << p;
  }
  for (const char* p : {"../", "a/..", "a//b", "/"}) {
    EXPECT_EQ(b->List(p).status().code(), Code::kInvalidArgument) << p;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/x"));
  EXPECT_TRUE(fs::is_empty(root_)) << "nothing was written anywhere";
}

TEST_F(DirectoryBackendTest, FollowsNoSymlinkBelowTheRoot) {
  const std::string outside = dir_ + "/outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0700), 0);
  std::ofstream(outside + "/1") << Doc("outside").dump();
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(::mkdir((root_ + "/p").c_str(), 0700), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/p/k").c_str()), 0);
  auto read = b->Fetch("p/k/1");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("symbolic link"), std::string::npos) << read.status().message();
  EXPECT_FALSE(b->Store("p/k/2", Doc("x")).ok());
  EXPECT_FALSE(fs::exists(outside + "/2")) << "a write went through the link";
  EXPECT_FALSE(b->List("p/k").ok());
  EXPECT_FALSE(b->Remove("p/k/1").ok());
  EXPECT_TRUE(fs::exists(outside + "/1"));

  // A document that is a link to a file elsewhere.
  Plant("q/k/2", "");
  ASSERT_EQ(::unlink((root_ + "/q/k/2").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/1").c_str(), (root_ + "/q/k/2").c_str()), 0);
  read = b->Fetch("q/k/2");
  EXPECT_EQ(read.status().code(), Code::kDataLoss);
  EXPECT_NE(read.status().message().find(root_), std::string::npos) << "names the file";
  EXPECT_NE(read.status().message().find("symbolic link"), std::string::npos) << read.status().message();
  EXPECT_TRUE(b->List("q/k")->empty());
}

TEST_F(DirectoryBackendTest, RefusesAFolderOthersCanWriteOrSomeoneElseOwns) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store(kDoc, Doc("x")).ok());
  const std::string folder = root_ + "/" + kFolder;
  ASSERT_EQ(::chmod(folder.c_str(), 0777), 0);
  auto read = b->Fetch(kDoc);
  EXPECT_EQ(read.status().code(), Code::kPermissionDenied);
  EXPECT_NE(read.status().message().find("chmod 700 " + folder), std::string::npos) << read.status().message();
  EXPECT_EQ(b->Store(kFolder + "/2", Doc("x")).code(), Code::kPermissionDenied);
  ASSERT_EQ(::chmod(folder.c_str(), 0700), 0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(folder.c_str(), 65534, 65534), 0);
    EXPECT_EQ(b->Fetch(kDoc).status().code(), Code::kPermissionDenied);
  }
}

// ------------------------------------------------------------ damaged files

TEST_F(DirectoryBackendTest, DamagedDocumentsAreDataLossNamingTheFile) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  struct Case {
    std::string content, says;
  };
  const std::vector<Case> cases = {
      {"{\"format\":\"keyring_locker/2\",\"wrapp", "not JSON"},
      {"", "not JSON"},
      {"{\"wrapped\":\"a\",\"wrapped\":\"b\"}", "'wrapped' twice"},
      {"[1,2]", "not a JSON object"},
      {std::string(70 * 1024, ' ') + "{}", "more than the 65536"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = kFolder + "/" + std::to_string(i + 1);
    Plant(path, cases[i].content);
    auto r = b->Fetch(path);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), Code::kDataLoss) << r.status().ToString();
    EXPECT_NE(r.status().message().find(root_ + "/" + path), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(cases[i].says), std::string::npos) << r.status().message();
  }
  ASSERT_EQ(::mkdir((root_ + "/" + kFolder + "/9").c_str(), 0700), 0);
  EXPECT_EQ(b->Fetch(kFolder + "/9").status().code(), Code::kDataLoss);
}

TEST_F(DirectoryBackendTest, AFifoDocumentIsRefusedWithoutBlocking) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Store(kDoc, Doc("x")).ok());
  testing::Fifo fifo(root_ + "/" + kFolder + "/2");
  auto r = testing::WithinBoundedTime(fifo, [&] { return b->Fetch(kFolder + "/2"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find("FIFO"), std::string::npos) << r.status().message();
  EXPECT_EQ(*b->List(kFolder), std::vector<std::string>{"1"}) << "a FIFO is not a document";
}

TEST_F(DirectoryBackendTest, RefusesToWriteWhatItWouldNotRead) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Store(kDoc, json::array({1})).code(), Code::kInvalidArgument);
  EXPECT_EQ(b->Store(kDoc, json{{"wrapped", std::string(70 * 1024, 'A')}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(b->Store(kDoc, json{{"name", "\xff\xfe"}}).code(), Code::kInvalidArgument) << "not UTF-8";
  EXPECT_EQ(b->Fetch(kDoc).status().code(), Code::kNotFound);
}

TEST_F(DirectoryBackendTest, AnExhaustedBudgetStartsNothing) {
  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  OperationDeadline budget(std::chrono::milliseconds(1));
  (void)OperationDeadline::Current();  // starts the clock
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(b->Store(kDoc, Doc("x")).code(), Code::kDeadlineExceeded);
  EXPECT_EQ(b->Fetch(kDoc).status().code(), Code::kDeadlineExceeded);
  EXPECT_FALSE(fs::exists(root_ + "/keyring_locker"));
}

}  // namespace
}  // namespace keyring_locker
