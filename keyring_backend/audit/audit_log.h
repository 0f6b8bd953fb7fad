// AuditLog: one JSON line per key operation (who, which key, which locker,
// result, latency; never key bytes or tokens), hash-chained so that editing,
// deleting, reordering or inserting lines is detectable by VerifyAuditLog.
// See docs/audit-log.md for the format and what the chain does and does not
// prove.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "keyring_backend/config/config.h"

namespace keyring_locker {

struct AuditEvent {
  std::string op;  // store|fetch|generate|remove|rotate|create|list|wrap|unwrap|login|renew
  std::string key_id;
  int64_t version = -1;
  std::string locker;  // which locker endpoint / Describe()
  std::string result;  // "ok" or the Status code name (CodeName)
  int64_t latency_us = 0;
  std::string detail;  // short, no secrets
};

// Knobs the defaults get right; tests shrink the queue.
struct AuditLogTuning {
  size_t queue_capacity = 10000;  // events waiting for the writer; more are dropped and counted
};

class AuditLog {
 public:
  // Opens (creating with mode 0600) options.path for appending, continues the
  // chain found at its end, and starts the writer thread. An empty
  // options.actor becomes "<hostname>:<pid>". Refuses an empty path, a file
  // writable by group/others, and a file another AuditLog (in any process)
  // holds open.
  static StatusOr<std::unique_ptr<AuditLog>> Open(const AuditOptions& options,
                                                  const AuditLogTuning& tuning = {});
  ~AuditLog();  // writes and fsyncs what is queued, then joins the writer
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the event and returns: never waits for the disk. When the queue is
  // full the event is counted as dropped and a "dropped" line records how
  // many were lost once the writer catches up.
  void Record(const AuditEvent& event) noexcept;
  // Blocks until everything queued so far is written and fsync'ed (never
  // call it while the writer is paused for testing).
  void Flush();

  uint64_t dropped() const { return dropped_.load(); }
  uint64_t written() const { return written_.load(); }  // events, not bookkeeping lines
  // The last write error (disk full, ...), empty when none: for status output.
  std::string last_error() const;

  // Holds the writer so tests can fill the queue deterministically.
  void PauseWriterForTesting(bool paused);

 private:
  struct Pending {
    AuditEvent event;
    std::chrono::system_clock::time_point when;
  };
  AuditLog(int fd, std::string path, std::string actor, size_t capacity);
  // Continues the chain at the end of the file, or starts a recovered
  // segment when the end does not verify (crash mid-write, damage).
  Status Resume();
  // Writer-thread helpers; false (and last_error_ set) when the disk refused.
  bool WriteRecovery(const std::string& reason, bool terminate_torn_line);
  bool WriteEvent(const AuditEvent& event, std::chrono::system_clock::time_point when,
                  bool counts_as_event);
  bool AppendRaw(const std::string& data);
  void WriterLoop();

  const int fd_;
  const std::string path_;
  const std::string actor_;
  const size_t capacity_;

  // Writer-thread state (no lock needed: only WriterLoop touches it after Open).
  uint64_t next_seq_ = 1;
  std::string prev_hash_;
  bool tail_torn_ = false;  // a failed partial write left half a line behind

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits for events
  std::condition_variable idle_cv_;  // Flush waits for the writer
  std::deque<Pending> queue_;
  uint64_t unreported_drops_ = 0;
  bool busy_ = false, stop_ = false, paused_ = false;
  std::string last_error_;

  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> written_{0};
  std::thread writer_;
};

// "<hostname>:<pid>": the actor written when AuditOptions::actor is empty,
// also used by KeyService as the "creator" of the keys it writes.
std::string DefaultAuditActor();

struct AuditVerifyReport {
  uint64_t lines = 0;           // lines read
  bool ok = false;              // every line verified and the chain is unbroken
  uint64_t first_bad_line = 0;  // 1-based; 0 when ok
  std::string problem;          // what is wrong at first_bad_line (and after), "" when ok
  uint64_t last_seq = 0;        // of the last verified line
  std::string last_hash;        // of the last verified line: record it off-host
};

// Reads the whole file and checks every line's hash and its link to the line
// before. Never throws.
AuditVerifyReport VerifyAuditLog(const std::string& path);

}  // namespace keyring_locker
