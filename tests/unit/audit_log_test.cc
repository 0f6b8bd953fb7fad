#include "keyring_backend/audit/audit_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "keyring_backend/audit/audit_line.h"
#include "tests/support/fifo_util.h"
#include "tests/support/temp_dir.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AuditLogTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    path_ = dir_ + "/audit.log";
  }

  std::unique_ptr<AuditLog> OpenLog(const AuditLogTuning& tuning = {}) {
    StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open({path_, "tester"}, tuning);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  static AuditEvent Event(int i) {
    return AuditEvent{"fetch", "INNODBKey-" + std::to_string(i), i, "https://vault1:8200", "ok",
                      100 + i, "detail " + std::to_string(i)};
  }
  // Writes `n` events and closes the log.
  void WriteEvents(int n) {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= n; ++i) log->Record(Event(i));
  }
  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  void Rewrite(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }

  std::string path_;
};

TEST_F(AuditLogTest, WritesAChainThatVerifies) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 5; ++i) log->Record(Event(i));
    log->Flush();
    EXPECT_EQ(log->written(), 5u);
    EXPECT_EQ(log->dropped(), 0u);
  }
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  json first = json::parse(lines[0]), second = json::parse(lines[1]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["prev"], std::string(64, '0'));
  EXPECT_EQ(first["actor"], "tester");
  EXPECT_EQ(first["op"], "fetch");
  EXPECT_EQ(first["key_id"], "INNODBKey-1");
  EXPECT_EQ(first["version"], 1);
  EXPECT_EQ(first["locker"], "https://vault1:8200");
  EXPECT_EQ(first["result"], "ok");
  EXPECT_EQ(first["latency_us"], 101);
  EXPECT_TRUE(std::regex_match(first["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  EXPECT_EQ(second["prev"], first["hash"]);
  EXPECT_EQ(lines[0].rfind("{\"seq\":1,\"ts\":", 0), 0u) << "documented field order";

  // The hash is sha256(prev || canonical JSON without "hash"), computed here
  // independently of the writer.
  json canonical = first;
  canonical.erase("hash");
  EXPECT_EQ(first["hash"], crypto::HexEncode(crypto::Sha256(std::string(64, '0') +
                                                            canonical.dump())));

  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.first_bad_line, 0u);
  EXPECT_EQ(r.last_seq, 5u);
  EXPECT_EQ(r.last_hash, json::parse(lines[4])["hash"]);
}

TEST_F(AuditLogTest, FileIsCreatedWithMode0600) {
  mode_t old = umask(0);
  auto log = OpenLog();
  umask(old);
  ASSERT_NE(log, nullptr);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(AuditLogTest, OpenRefusesBadPathsAndASecondWriter) {
  StatusOr<std::unique_ptr<AuditLog>> empty = AuditLog::Open({"", ""});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("set audit.path"));

  StatusOr<std::unique_ptr<AuditLog>> missing_dir = AuditLog::Open({dir_ + "/no/such/log", ""});
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_THAT(missing_dir.status().message(), HasSubstr("No such file or directory"));

  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  StatusOr<std::unique_ptr<AuditLog>> second = AuditLog::Open({path_, ""});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("own audit.path"));
  log.reset();

  ASSERT_EQ(chmod(path_.c_str(), 0620), 0);
  StatusOr<std::unique_ptr<AuditLog>> shared = AuditLog::Open({path_, ""});
  ASSERT_FALSE(shared.ok());
  EXPECT_THAT(shared.status().message(), HasSubstr("chmod 600 " + path_));
}

TEST_F(AuditLogTest, DefaultActorIsHostAndPid) {
  {
    auto log = AuditLog::Open({path_, ""});
    ASSERT_TRUE(log.ok());
    (*log)->Record(Event(1));
  }
  std::string actor = json::parse(Lines().at(0))["actor"];
  EXPECT_THAT(actor, ::testing::EndsWith(":" + std::to_string(getpid())));
}

TEST_F(AuditLogTest, DetectsAnEditedField) {
  WriteEvents(6);
  std::vector<std::string> lines = Lines();
  size_t at = lines[2].find("INNODBKey-3");
  lines[2].replace(at, 11, "INNODBKey-9");
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 3u);
  EXPECT_THAT(r.problem, HasSubstr("hash does not match"));
}

TEST_F(AuditLogTest, DetectsAReformattedLine) {
  WriteEvents(3);
  std::vector<std::string> lines = Lines();
  lines[1].replace(lines[1].find("\"op\":"), 5, "\"op\": ");
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 2u);
  EXPECT_THAT(r.problem, HasSubstr("not in the form the writer produces"));
}

TEST_F(AuditLogTest, DetectsADeletedLine) {
  WriteEvents(6);
  std::vector<std::string> lines = Lines();
  lines.erase(lines.begin() + 2);
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 3u);
  EXPECT_THAT(r.problem, HasSubstr("seq jumps from 2 to 4"));

  lines = Lines();
  lines.erase(lines.begin());
  Rewrite(lines);
  r = VerifyAuditLog(path_);
  EXPECT_EQ(r.first_bad_line, 1u);
  EXPECT_THAT(r.problem, HasSubstr("seq jumps from 0 to 2"));
}

TEST_F(AuditLogTest, DeletingTheLastLinesNeedsTheHashKeptElsewhere) {
  WriteEvents(4);
  std::string recorded = VerifyAuditLog(path_).last_hash;
  std::vector<std::string> lines = Lines();
  lines.pop_back();
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  // The chain alone cannot see a cut at the end (docs/audit-log.md); the
  // last hash recorded off-host can.
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.last_seq, 3u);
  EXPECT_NE(r.last_hash, recorded);
}

TEST_F(AuditLogTest, DetectsReorderedLines) {
  WriteEvents(6);
  std::vector<std::string> lines = Lines();
  std::swap(lines[3], lines[4]);
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 4u);
  EXPECT_THAT(r.problem, HasSubstr("deleted or moved"));
}

TEST_F(AuditLogTest, DetectsATruncatedLine) {
  WriteEvents(6);
  std::vector<std::string> lines = Lines();
  {
    std::ofstream out(path_, std::ios::trunc);
    for (size_t i = 0; i < 5; ++i) out << lines[i] << "\n";
    out << lines[5].substr(0, lines[5].size() / 2);
  }
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 6u);
  EXPECT_THAT(r.problem, HasSubstr("no newline"));

  lines[2] = lines[2].substr(0, 40);
  Rewrite(lines);
  r = VerifyAuditLog(path_);
  EXPECT_EQ(r.first_bad_line, 3u);
  EXPECT_THAT(r.problem, HasSubstr("not valid JSON"));
}

TEST_F(AuditLogTest, DetectsInsertedLines) {
  WriteEvents(6);
  std::vector<std::string> original = Lines();
  std::vector<std::string> lines = original;
  lines.insert(lines.begin() + 2, lines[1]);  // a copied line
  Rewrite(lines);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_EQ(r.first_bad_line, 3u);
  EXPECT_THAT(r.problem, HasSubstr("reordered or inserted"));

  // A forged line that links correctly to line 2: the break shows at the
  // next genuine line, whose seq and prev no longer fit.
  audit_internal::LineFields forged;
  forged.seq = 3;
  forged.ts = "2026-01-01T00:00:00.000000Z";
  forged.op = "remove";
  forged.result = "ok";
  forged.prev = json::parse(original[1])["hash"];
  std::string hash;
  lines = original;
  lines.insert(lines.begin() + 2, audit_internal::BuildLine(forged, &hash));
  Rewrite(lines);
  r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 4u);
}

TEST_F(AuditLogTest, ReopenContinuesTheChain) {
  WriteEvents(3);
  WriteEvents(2);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(json::parse(lines[3])["seq"], 4);
  EXPECT_EQ(json::parse(lines[3])["prev"], json::parse(lines[2])["hash"]);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.lines, 5u);
}

TEST_F(AuditLogTest, ReopenAfterATornLineStartsARecoveredSegment) {
  WriteEvents(3);
  std::string third = Lines()[2];
  { std::ofstream(path_, std::ios::app) << third.substr(0, 30); }  // crash mid-write
  WriteEvents(2);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 7u);
  json recovered = json::parse(lines[4]);
  EXPECT_EQ(recovered["op"], "recovered");
  EXPECT_EQ(recovered["seq"], 4);
  EXPECT_EQ(recovered["prev"], std::string(64, '0'));
  EXPECT_THAT(recovered["detail"].get<std::string>(), HasSubstr("incomplete line"));
  EXPECT_EQ(json::parse(lines[5])["prev"], recovered["hash"]);

  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok) << "a break is reported, never silently accepted";
  EXPECT_EQ(r.first_bad_line, 4u);
  EXPECT_THAT(r.problem, HasSubstr("line 5 starts a recovered segment"));
  EXPECT_THAT(r.problem, HasSubstr("every line after it verifies"));
  EXPECT_EQ(r.lines, 7u);
  EXPECT_EQ(r.last_seq, 6u);

  // Damage after the recovery is still found.
  lines[6].replace(lines[6].find("INNODBKey-2"), 11, "INNODBKey-7");
  Rewrite(lines);
  r = VerifyAuditLog(path_);
  EXPECT_EQ(r.first_bad_line, 4u);
  EXPECT_THAT(r.problem, HasSubstr("then line 7: hash does not match"));
}

TEST_F(AuditLogTest, ReopenAfterAnEditedLastLineStartsARecoveredSegment) {
  WriteEvents(3);
  std::vector<std::string> lines = Lines();
  lines[2].replace(lines[2].find("INNODBKey-3"), 11, "INNODBKey-0");
  Rewrite(lines);
  WriteEvents(1);
  lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  json recovered = json::parse(lines[3]);
  EXPECT_EQ(recovered["op"], "recovered");
  EXPECT_EQ(recovered["seq"], 3) << "continues from the last line that verifies";
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_line, 3u);
}

TEST_F(AuditLogTest, ConcurrentRecordKeepsTheChainValid) {
  constexpr int kThreads = 8, kEach = 500;
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < kEach; ++i) log->Record(Event(t * kEach + i));
      });
    }
    for (auto& th : threads) th.join();
    log->Flush();
    EXPECT_EQ(log->written() + log->dropped(), uint64_t{kThreads * kEach});
    EXPECT_EQ(log->dropped(), 0u) << "the default queue holds all of them";
  }
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.lines, uint64_t{kThreads * kEach});
}

TEST_F(AuditLogTest, AFullQueueCountsDropsAndLogsThem) {
  auto log = OpenLog(AuditLogTuning{4});
  ASSERT_NE(log, nullptr);
  log->PauseWriterForTesting(true);
  for (int i = 0; i < 10; ++i) log->Record(Event(i));
  EXPECT_EQ(log->dropped(), 6u);
  log->PauseWriterForTesting(false);
  log->Flush();
  EXPECT_EQ(log->written(), 4u);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  json note = json::parse(lines[4]);
  EXPECT_EQ(note["op"], "dropped");
  EXPECT_EQ(note["result"], "RESOURCE_EXHAUSTED");
  EXPECT_THAT(note["detail"].get<std::string>(), HasSubstr("6 audit event(s)"));
  EXPECT_TRUE(VerifyAuditLog(path_).ok);
}

TEST_F(AuditLogTest, InvalidUtf8AndLongFieldsStillVerify) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    AuditEvent e = Event(1);
    e.key_id = "bad\xff\xfe utf8";
    e.detail = std::string(5000, 'x') + "\n\"quoted\"";
    log->Record(e);
  }
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["detail"].get<std::string>().size(), 1024u);
  AuditVerifyReport r = VerifyAuditLog(path_);
  EXPECT_TRUE(r.ok) << r.problem;
}

TEST_F(AuditLogTest, VerifyReportsMissingAndAcceptsEmptyFiles) {
  AuditVerifyReport r = VerifyAuditLog(dir_ + "/none.log");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("cannot be opened (No such file or directory)"));
  { std::ofstream(path_) << ""; }
  r = VerifyAuditLog(path_);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.lines, 0u);
}

// Issue #15: `keyring-locker audit-verify` read with std::ifstream, which
// blocks on a FIFO until a writer appears; the writer's O_CREAT open is now
// non-blocking too. Both refuse a FIFO at once, naming it.
TEST_F(AuditLogTest, FifoIsRefusedByVerifyAndOpenWithoutBlocking) {
  testing::Fifo fifo(path_, 0600);
  AuditVerifyReport r = testing::WithinBoundedTime(fifo, [&] { return VerifyAuditLog(path_); });
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("audit log '" + path_ + "' is a FIFO"));

  auto opened = testing::WithinBoundedTime(fifo, [&] { return AuditLog::Open({path_, ""}); });
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr("audit.path '" + path_ + "' is a FIFO"));
}

}  // namespace
}  // namespace keyring_locker
