// InspectFile / CollectInnodbFiles over real files in a temporary directory:
// the keys each file needs, page scans, and clear errors for foreign files.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "datafile/inspect.h"
#include "tests/support/fifo_util.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/datafile_test_pages.h"

namespace keyring_locker::datafile {
namespace {

using namespace datafile_test;
namespace fs = std::filesystem;

class DatafileInspect : public keyring_locker::testing::TempDirTest {
 protected:
  std::string Write(const std::string& rel, const std::vector<uint8_t>& bytes) {
    const fs::path p = fs::path(dir_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return p.string();
  }
  // A 6-page full_crc32 tablespace of key 2: pages written with versions 1, 1, 3, one unused
  // page (zeros), and a copy of another file's page (as in ibdata1's doublewrite area) whose
  // version 9 belongs to that file's key and must not count.
  std::vector<uint8_t> Tablespace() {
    auto file = MakePage0(16384, kFcrc32_16k, 11);
    PutCryptData(file, 10428, 1, 1, 2, 1);
    uint32_t page_no = 0;
    for (uint32_t v : {1u, 1u, 3u, 0u, 9u}) {
      std::vector<uint8_t> page(16384, 0);
      ++page_no;
      Be32(page, 0, v);
      if (v != 0) Be32(page, 4, v == 9 ? 700 : page_no);
      file.insert(file.end(), page.begin(), page.end());
    }
    return file;
  }
};

TEST_F(DatafileInspect, TablespaceWithoutAndWithPageScan) {
  const std::string path = Write("db/t1.ibd", Tablespace());
  FileReport r = InspectFile(path, {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_NE(r.summary.find("MariaDB tablespace (full_crc32, 16K pages, space 11): encrypted (ENCRYPTED=ON), key 2"),
            std::string::npos) << r.summary;
  ASSERT_EQ(r.needs.size(), 1u);
  EXPECT_EQ(r.needs[0].name, "2");
  EXPECT_EQ(r.needs[0].kind, KeyNeed::Kind::kFromVersion);
  EXPECT_EQ(r.needs[0].version, 1u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "key 2 versions 1..latest");

  r = InspectFile(path, {true});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_NE(r.summary.find("pages: v1 x2, v3 x1"), std::string::npos) << r.summary;
  ASSERT_EQ(r.needs.size(), 2u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "key 2 version 1");
  EXPECT_EQ(DescribeNeed(r.needs[1]), "key 2 version 3");
}

TEST_F(DatafileInspect, PageScanOfACutFileFails) {
  auto bytes = Tablespace();
  bytes.resize(bytes.size() - 100);
  FileReport r = InspectFile(Write("cut.ibd", bytes), {true});
  ASSERT_FALSE(r.error.ok());
  EXPECT_NE(r.error.message().find("ends inside a page"), std::string::npos);
}

TEST_F(DatafileInspect, RedoLogs) {
  FileReport r = InspectFile(Write("ib_logfile0", MariaRedo(4)), {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.summary, "MariaDB redo log (10.8+ format, written by MariaDB 10.11.6): encrypted, key 1 version 4");
  ASSERT_EQ(r.needs.size(), 1u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "key 1 version 4");
  r = InspectFile(Write("#innodb_redo/#ib_redo9", MySqlRedo(6, true)), {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  ASSERT_EQ(r.needs.size(), 1u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "keyring id INNODBKey-3e11fa47-71ca-11e1-9e33-c80aa9429562-3");
}

TEST_F(DatafileInspect, ForeignAndMissingFiles) {
  FileReport r = InspectFile(Write("notes.txt", std::vector<uint8_t>(100, 'x')), {});
  ASSERT_FALSE(r.error.ok());
  EXPECT_NE(r.error.message().find("not an InnoDB tablespace"), std::string::npos) << r.error.ToString();
  r = InspectFile(Write("empty.ibd", {}), {});
  EXPECT_NE(r.error.message().find("empty file"), std::string::npos);
  r = InspectFile(dir_ + "/none.ibd", {});
  EXPECT_NE(r.error.message().find("cannot be opened (No such file or directory)"), std::string::npos)
      << r.error.ToString();
  r = InspectFile(dir_, {});
  EXPECT_FALSE(r.error.ok());
}

// The file is opened without blocking and checked on the descriptor, so a
// FIFO (passed by name, or swapped in after a directory walk) cannot hang
// `keyring-locker inspect` (issue #15).
TEST_F(DatafileInspect, FifoIsRefusedWithoutBlocking) {
  keyring_locker::testing::Fifo fifo(dir_ + "/fifo.ibd", 0600);
  FileReport r = keyring_locker::testing::WithinBoundedTime(fifo, [&] { return InspectFile(fifo.path(), {}); });
  EXPECT_NE(r.error.message().find("data file '" + fifo.path() + "' is a FIFO"), std::string::npos)
      << r.error.ToString();
}

TEST_F(DatafileInspect, CollectsTheDatadirsInnodbFiles) {
  for (const char* f : {"ibdata1", "undo001", "ib_logfile0", "ibtmp1", "aria_log.00000001", "db/t1.ibd", "db/t1.frm",
                        "#innodb_redo/#ib_redo3", "a/b/c/deep.ibd", "mysql/undo_001.ibu"}) {
    Write(f, {1});
  }
  std::vector<std::string> problems;
  auto files = CollectInnodbFiles({dir_, dir_ + "/ibdata1", dir_ + "/missing"}, problems);
  std::vector<std::string> rel;
  for (const auto& f : files) rel.push_back(fs::path(f).lexically_relative(dir_).string());
  EXPECT_EQ(rel, (std::vector<std::string>{"#innodb_redo/#ib_redo3", "db/t1.ibd", "ib_logfile0", "ibdata1",
                                           "mysql/undo_001.ibu", "undo001"}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("missing: does not exist"), std::string::npos);
}

// MariaDB writes min_key_version 0 while it is still encrypting a space:
// pages may already carry version 1, so the need starts at 1, not "any".
TEST_F(DatafileInspect, MinKeyVersionZeroStillNeedsVersionOne) {
  auto file = MakePage0(16384, kFcrc32_16k, 12);
  PutCryptData(file, 10428, 1, 0, 4, 1);
  FileReport r = InspectFile(Write("db/t2.ibd", file), {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  ASSERT_EQ(r.needs.size(), 1u);
  EXPECT_EQ(r.needs[0].kind, KeyNeed::Kind::kFromVersion);
  EXPECT_EQ(r.needs[0].version, 1u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "key 4 versions 1..latest");
}

// DATA DIRECTORY tables: the datadir holds db/t.isl naming the real file.
TEST_F(DatafileInspect, DatadirWalkFollowsIslLinks) {
  const std::string remote = Write("elsewhere/db/remote.ibd", Tablespace());
  fs::create_directories(fs::path(dir_) / "data/db");
  std::ofstream(fs::path(dir_) / "data/db/remote.isl") << remote << "\n";
  std::ofstream(fs::path(dir_) / "data/db/gone.isl") << dir_ << "/nowhere/gone.ibd\n";
  std::vector<std::string> problems;
  auto files = CollectInnodbFiles({dir_ + "/data"}, problems);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], remote);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("gone.isl: names the remote tablespace"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace keyring_locker::datafile
