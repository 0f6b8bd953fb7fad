// Files written by Debian's mariadbd 10.11 (the MTR inspect test's tables and
// redo log, kept as fuzz seeds under tests/fuzz/corpus/): the facts the
// synthetic tests could get wrong together with the parser - crypt_data 38
// bytes after MySQL's offset, the MDEV-36024 encrypted redo format, CRC-32C.
#include <gtest/gtest.h>

#include "datafile/inspect.h"

namespace keyring_locker::datafile {
namespace {

const std::string kCorpus = std::string(KLK_SOURCE_DIR) + "/tests/fuzz/corpus/";

TEST(DatafileRealFiles, MariaDb1011TableWithRotatedKey) {
  // t2: ENCRYPTION_KEY_ID=2, pages 1-2 flushed with version 1, the root page after rotating to 2.
  FileReport r = InspectFile(kCorpus + "tablespace_page0/mariadb1011_t2_4pages.ibd", {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.summary, "MariaDB tablespace (full_crc32, 16K pages, space 6): encrypted (ENCRYPTED=ON), key 2, "
                       "min key version 1");
  r = InspectFile(kCorpus + "tablespace_page0/mariadb1011_t2_4pages.ibd", {true});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  ASSERT_EQ(r.needs.size(), 2u);
  EXPECT_EQ(DescribeNeed(r.needs[0]), "key 2 version 1");
  EXPECT_EQ(DescribeNeed(r.needs[1]), "key 2 version 2");
  EXPECT_NE(r.summary.find("pages: v1 x2, v2 x1"), std::string::npos) << r.summary;
}

TEST(DatafileRealFiles, MariaDb1011UnencryptedSpaces) {
  for (const char* f : {"mariadb1011_ibdata1_page0", "mariadb1011_plain_page0.ibd"}) {
    FileReport r = InspectFile(kCorpus + "tablespace_page0/" + f, {true});
    ASSERT_TRUE(r.error.ok()) << f << ": " << r.error.ToString();
    EXPECT_NE(r.summary.find("not encrypted (no crypt_data)"), std::string::npos) << r.summary;
    EXPECT_TRUE(r.needs.empty());
  }
}

TEST(DatafileRealFiles, MariaDb1011EncryptedRedoLog) {
  FileReport r = InspectFile(kCorpus + "redo_header/mariadb1011_encrypted_f09f979d", {});
  ASSERT_TRUE(r.error.ok()) << r.error.ToString();
  EXPECT_EQ(r.summary, "MariaDB redo log (10.11.15+ encrypted format, written by MariaDB 10.11.19): encrypted, "
                       "key 1 version 1");
}

}  // namespace
}  // namespace keyring_locker::datafile
