// InnoDB and binlog call sequences (ABI notes section 2) replayed against
// the plugin and the dev locker, across a plugin restart.
#include <cstring>
#include <map>
#include <set>

#include "crypto/crypto.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/innodb_page0.h"

namespace mysqlh {
namespace {

namespace crypto = keyring_locker::crypto;
const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
constexpr size_t kPage = 16384;

crypto::SecureBuffer ToSecure(const std::vector<uint8_t>& v) {
  crypto::SecureBuffer b(v.size());
  std::memcpy(b.data(), v.data(), v.size());
  return b;
}

class InnodbSequence : public HarnessTest {
 protected:
  // What InnoDB does for the first encrypted table (os0enc.cc).
  uint32_t FirstEncryptedTable(PluginHost& host) {
    (void)host.Generate("DefaultMasterKey", "AES", 32);  // failure ignored by InnoDB
    auto probe = host.Fetch("DefaultMasterKey");
    EXPECT_FALSE(probe.error);
    EXPECT_FALSE(host.Remove("DefaultMasterKey"));
    const std::string name = innodb::MasterKeyName(kUuid, 1);
    EXPECT_FALSE(host.Fetch(name).found);
    EXPECT_FALSE(host.Generate(name, "AES", 32));
    return 1;
  }
  std::vector<uint8_t> MasterKey(PluginHost& host, uint32_t id) {
    auto f = host.Fetch(innodb::MasterKeyName(kUuid, id));
    EXPECT_FALSE(f.error);
    EXPECT_TRUE(f.found) << "master key " << id;
    EXPECT_EQ(f.type, "AES");
    EXPECT_EQ(f.key.size(), 32u);
    return f.key;
  }
  std::vector<uint8_t> NewTablespace(const std::vector<uint8_t>& master, uint32_t id, innodb::TablespaceKey* key) {
    *key = innodb::TablespaceKey{std::move(crypto::RandomKey(32)).value(), std::move(crypto::RandomKey(32)).value()};
    std::vector<uint8_t> page(kPage, 0);
    EXPECT_TRUE(innodb::WriteEncryptionInfo(page.data(), kPage, id, kUuid, *key, ToSecure(master)).ok());
    return page;
  }
  // ALTER INSTANCE ROTATE INNODB MASTER KEY: the header is re-wrapped, the key kept.
  void Rewrap(std::vector<uint8_t>& page, const std::vector<uint8_t>& old_master, const std::vector<uint8_t>& new_master,
              uint32_t new_id) {
    auto h = innodb::ParseEncryptionHeader(page.data(), kPage);
    ASSERT_TRUE(h.ok());
    auto k = innodb::UnwrapTablespaceKey(*h, ToSecure(old_master));
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(innodb::WriteEncryptionInfo(page.data(), kPage, new_id, kUuid, *k, ToSecure(new_master)).ok());
  }
  // Startup: read the header, fetch the named master key, unwrap.
  void ExpectOpens(PluginHost& host, const std::vector<uint8_t>& page, const innodb::TablespaceKey& want) {
    auto h = innodb::ParseEncryptionHeader(page.data(), kPage);
    ASSERT_TRUE(h.ok());
    auto master = MasterKey(host, h->master_key_id);
    auto k = innodb::UnwrapTablespaceKey(*h, ToSecure(master));
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_TRUE(k->key.Equals(want.key));
    EXPECT_TRUE(k->iv.Equals(want.iv));
  }
};

TEST_F(InnodbSequence, FirstTableHundredRotationsRestartReopen) {
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  uint32_t current = FirstEncryptedTable(*host);
  std::map<uint32_t, std::vector<uint8_t>> masters;
  masters[1] = MasterKey(*host, 1);

  innodb::TablespaceKey ts_a, ts_b;
  auto page_a = NewTablespace(masters[1], 1, &ts_a);  // re-wrapped on every rotation
  auto page_b = NewTablespace(masters[1], 1, &ts_b);
  std::vector<uint8_t> page_a_backup;                // a copy taken mid-way (backup)

  // 100 rotations against the dev locker, 20 against PyKMIP: there each
  // generate lists the scope with a Locate that reads PyKMIP's whole
  // database (O(objects) per request), and 100 rotations took ~100 s.
  const uint32_t rotations = kmip() ? 20 : 100;
  for (uint32_t i = 0; i < rotations; ++i) {
    const uint32_t next = current + 1;
    ASSERT_FALSE(host->Generate(innodb::MasterKeyName(kUuid, next), "AES", 32)) << next;
    masters[next] = MasterKey(*host, next);
    ASSERT_NE(masters[next], masters[current]);
    Rewrap(page_a, masters[current], masters[next], next);
    if (next == rotations / 2) page_a_backup = page_a;
    current = next;
  }
  EXPECT_EQ(current, 1 + rotations);
  // A second encrypted table later probes DefaultMasterKey again.
  EXPECT_FALSE(host->Generate("DefaultMasterKey", "AES", 32)) << "removed id can be generated again";
  EXPECT_FALSE(host->Remove("DefaultMasterKey"));
  StopPlugin(host);

  // Restart: a fresh plugin instance (fresh process state) must return
  // byte-identical master keys.
  host = StartPlugin();
  ASSERT_NE(host, nullptr);
  ExpectOpens(*host, page_a, ts_a);
  ExpectOpens(*host, page_a_backup, ts_a);
  ExpectOpens(*host, page_b, ts_b);
  for (const auto& [id, bytes] : masters) ASSERT_EQ(MasterKey(*host, id), bytes) << id;
  EXPECT_FALSE(host->Fetch("DefaultMasterKey").found);
  EXPECT_TRUE(host->Generate(innodb::MasterKeyName(kUuid, current), "AES", 32)) << "existing master key must not be replaced";
  EXPECT_EQ(MasterKey(*host, current), masters[current]);
  StopPlugin(host);
  EXPECT_EQ(Allocations().outstanding, 0u);
  EXPECT_EQ(Allocations().foreign_frees, 0u);
}

// 16-byte bookkeeping record: little-endian u32 sequence number, zeros.
std::vector<uint8_t> SeqRecord(uint32_t seqno) {
  std::vector<uint8_t> r(16, 0);
  for (int i = 0; i < 4; ++i) r[i] = static_cast<uint8_t>(seqno >> (8 * i));
  return r;
}

class BinlogSequence : public HarnessTest {
 protected:
  std::string Key(uint32_t seqno) { return "MySQLReplicationKey_" + kUuid + "_" + std::to_string(seqno); }
  const std::string kIndex = "MySQLReplicationKey_" + kUuid;
  // ALTER INSTANCE ROTATE BINLOG MASTER KEY (rpl_log_encryption.cc): record
  // the new seqno in _new, make the key, move the index, drop _new.
  void Rotate(PluginHost& host, uint32_t from, uint32_t to, bool crash_after_key = false) {
    ASSERT_FALSE(host.Store(kIndex + "_new", "AES", SeqRecord(to)));
    ASSERT_FALSE(host.Generate(Key(to), "AES", 32));
    ASSERT_TRUE(host.Fetch(Key(to)).found);
    if (crash_after_key) return;
    ASSERT_FALSE(host.Remove(kIndex));
    ASSERT_FALSE(host.Store(kIndex, "AES", SeqRecord(to)));
    ASSERT_FALSE(host.Remove(kIndex + "_new"));
  }
};

TEST_F(BinlogSequence, EnableRotateCrashRecoverPurge) {
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  // binlog_encryption=ON: first key and index.
  EXPECT_FALSE(host->Fetch(kIndex).found);
  ASSERT_FALSE(host->Generate(Key(1), "AES", 32));
  ASSERT_FALSE(host->Store(kIndex, "AES", SeqRecord(1)));
  std::map<uint32_t, std::vector<uint8_t>> keys;
  keys[1] = host->Fetch(Key(1)).key;
  for (uint32_t s = 1; s < 5; ++s) {
    Rotate(*host, s, s + 1);
    keys[s + 1] = host->Fetch(Key(s + 1)).key;
  }
  EXPECT_EQ(host->Fetch(kIndex).key, SeqRecord(5));
  EXPECT_FALSE(host->Fetch(kIndex + "_new").found);
  // A crash in the middle of a rotation, then restart and recovery.
  Rotate(*host, 5, 6, /*crash_after_key=*/true);
  keys[6] = host->Fetch(Key(6)).key;
  StopPlugin(host);

  host = StartPlugin();
  ASSERT_NE(host, nullptr);
  auto pending = host->Fetch(kIndex + "_new");
  ASSERT_TRUE(pending.found);
  EXPECT_EQ(pending.key, SeqRecord(6));
  EXPECT_EQ(host->Fetch(kIndex).key, SeqRecord(5));
  ASSERT_FALSE(host->Remove(kIndex));
  ASSERT_FALSE(host->Store(kIndex, "AES", SeqRecord(6)));
  ASSERT_FALSE(host->Remove(kIndex + "_new"));
  for (const auto& [s, bytes] : keys) ASSERT_EQ(host->Fetch(Key(s)).key, bytes) << s;

  // PURGE BINARY LOGS: keys of purged files go, _last_purged moves.
  ASSERT_FALSE(host->Store(kIndex + "_last_purged", "AES", SeqRecord(3)));
  for (uint32_t s = 1; s <= 3; ++s) ASSERT_FALSE(host->Remove(Key(s)));
  ASSERT_FALSE(host->Remove(kIndex + "_last_purged"));
  ASSERT_FALSE(host->Store(kIndex + "_last_purged", "AES", SeqRecord(3)));
  for (uint32_t s = 1; s <= 3; ++s) EXPECT_FALSE(host->Fetch(Key(s)).found);
  EXPECT_EQ(host->Fetch(Key(4)).key, keys[4]);
  // Removing what is already gone is not an error (the binlog retries cleanups).
  EXPECT_FALSE(host->Remove(Key(1)));
  // The iterator lists only live keys.
  std::vector<std::pair<std::string, std::string>> listed;
  ASSERT_TRUE(host->Iterate(&listed));
  std::set<std::string> ids;
  for (const auto& [id, user] : listed) ids.insert(id);
  EXPECT_EQ(ids, (std::set<std::string>{Key(4), Key(5), Key(6), kIndex, kIndex + "_last_purged"}));
  StopPlugin(host);
  EXPECT_EQ(Allocations().outstanding, 0u);
  EXPECT_EQ(Allocations().foreign_frees, 0u);
}

}  // namespace
}  // namespace mysqlh
