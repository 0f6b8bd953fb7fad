#include "keyring_backend/audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include "common/safe_file.h"
#include "keyring_backend/audit/audit_line.h"

namespace keyring_locker {
namespace {

using audit_internal::LineFields;

// The tail read at Open: far larger than any line the writer produces
// (fields are capped below), so the last complete line always fits.
constexpr size_t kTailWindow = 256 * 1024;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string Capped(const std::string& s, size_t max) { return s.size() <= max ? s : s.substr(0, max); }

}  // namespace

AuditLog::AuditLog(int fd, std::string path, std::string actor, size_t capacity)
    : fd_(fd), path_(std::move(path)), actor_(std::move(actor)), capacity_(capacity),
      prev_hash_(audit_internal::kZeroHash) {}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options,
                                                   const AuditLogTuning& tuning) {
  const std::string& path = options.path;
  if (path.empty()) {
    return InvalidArgument("audit log path is empty; set audit.path to the file to append to");
  }
  try {
    // Non-blocking open, regular file only (common/safe_file.h): a FIFO at
    // audit.path must not hang the server start.
    OpenFileOptions open_options;
    open_options.what = "audit.path";
    open_options.flags = O_RDWR | O_APPEND | O_CREAT;
    open_options.create_mode = 0600;
    open_options.open_fix = "check audit.path and that its directory is writable by the server user";
    ASSIGN_OR_RETURN(OpenedFile opened, OpenRegularFile(path, open_options));
    UniqueFd& fd = opened.fd;
    const struct stat& st = opened.st;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return InvalidArgument("audit log " + path + " is writable by group or others; run "
                             "chmod 600 " + path);
    }
    // Two writers appending to one chain would break it at every interleaving.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      return FailedPrecondition("audit log " + path + " is locked by another writer (" +
                                ErrnoText(err) + "); give each server or tool its own "
                                "audit.path");
    }
    std::string actor = options.actor.empty() ? DefaultAuditActor() : options.actor;
    std::unique_ptr<AuditLog> log(
        new AuditLog(fd.release(), path, std::move(actor), std::max<size_t>(1, tuning.queue_capacity)));
    RETURN_IF_ERROR(log->Resume());
    log->writer_ = std::thread(&AuditLog::WriterLoop, log.get());
    return log;
  } catch (const std::exception& e) {
    return Internal("cannot start the audit log " + path + ": " + e.what() +
                    "; check the server's memory and thread limits");
  }
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    paused_ = false;
  }
  work_cv_.notify_all();
  try {
    if (writer_.joinable()) writer_.join();
  } catch (const std::system_error&) {
    // join only fails on a bug (self-join); never let it terminate the server.
  }
  ::close(fd_);  // also releases the flock
}

Status AuditLog::Resume() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    return FailedPrecondition("cannot stat audit log " + path_ + ": " + ErrnoText(err) +
                              "; check the file system");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) return Status::Ok();  // a new chain: seq 1, prev zeros

  size_t window = std::min(size, kTailWindow);
  std::string tail(window, '\0');
  size_t got = 0;
  while (got < window) {
    ssize_t n = ::pread(fd_, tail.data() + got, window - got,
                        static_cast<off_t>(size - window + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      return FailedPrecondition("cannot read audit log " + path_ + ": " + ErrnoText(err) +
                                "; check the file and its permissions");
    }
    got += static_cast<size_t>(n);
  }

  // Complete lines in the window; the first one is partial unless the window
  // starts at the beginning of the file.
  bool torn = tail.back() != '\n';
  std::vector<std::string> lines;
  size_t start = 0;
  if (window < size) {
    size_t nl = tail.find('\n');
    start = nl == std::string::npos ? tail.size() : nl + 1;
  }
  for (size_t nl; (nl = tail.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(tail.substr(start, nl - start));
  }

  std::string reason;
  if (torn) {
    reason = "the log ended in an incomplete line (" + std::to_string(tail.size() - start) +
             " bytes without a newline), most likely a crash during a write";
  } else if (lines.empty()) {
    reason = "the last line is longer than the writer ever writes";
  } else {
    LineFields last;
    std::string hash;
    std::string problem = audit_internal::CheckLine(lines.back(), &last, &hash);
    if (problem.empty()) {
      next_seq_ = last.seq + 1;
      prev_hash_ = hash;
      return Status::Ok();
    }
    reason = "the last line did not verify (" + problem + ")";
  }
  // Keep seq increasing from the last line that still verifies, so a reader
  // can see how the new segment relates to the old one.
  uint64_t base = 0;
  for (auto it = lines.rbegin(); it != lines.rend() && base == 0; ++it) {
    LineFields f;
    std::string hash;
    if (audit_internal::CheckLine(*it, &f, &hash).empty()) base = f.seq;
  }
  next_seq_ = base + 1;
  if (!WriteRecovery(reason, torn)) {
    return FailedPrecondition("cannot write to audit log " + path_ + ": " + last_error() +
                              "; check free space and permissions");
  }
  return Status::Ok();
}

bool AuditLog::WriteRecovery(const std::string& reason, bool terminate_torn_line) {
  // Ends the torn fragment so the recovery line starts on a line of its own.
  if (terminate_torn_line && !AppendRaw("\n")) return false;
  tail_torn_ = false;
  AuditEvent event;
  event.op = "recovered";
  event.result = CodeName(Code::kDataLoss);
  event.detail = reason + "; a new hash chain starts here";
  prev_hash_ = audit_internal::kZeroHash;
  return WriteEvent(event, std::chrono::system_clock::now(), false);
}

bool AuditLog::AppendRaw(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      // A part-written line must be closed off by a recovery line later.
      if (done > 0) tail_torn_ = true;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = "write failed: " + ErrnoText(err);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool AuditLog::WriteEvent(const AuditEvent& event, std::chrono::system_clock::time_point when,
                          bool counts_as_event) {
  if (tail_torn_ &&
      !WriteRecovery("a write failed part-way and left an incomplete line", true)) {
    return false;
  }
  LineFields f;
  f.seq = next_seq_;
  f.ts = audit_internal::FormatTimestamp(when);
  f.actor = actor_;
  f.op = event.op;
  f.key_id = event.key_id;
  f.version = event.version;
  f.locker = event.locker;
  f.result = event.result;
  f.latency_us = event.latency_us;
  f.detail = event.detail;
  f.prev = prev_hash_;
  std::string hash;
  std::string line = audit_internal::BuildLine(f, &hash) + "\n";
  if (!AppendRaw(line)) return false;
  ++next_seq_;
  prev_hash_ = std::move(hash);
  if (counts_as_event) written_.fetch_add(1);
  return true;
}

void AuditLog::WriterLoop() {
  uint64_t lost = 0;  // events the writer itself could not write, plus queue drops
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] {
        return stop_ || (!paused_ && (!queue_.empty() || unreported_drops_ > 0));
      });
      if (stop_ && queue_.empty() && unreported_drops_ == 0) break;
      batch.swap(queue_);
      lost += std::exchange(unreported_drops_, 0);
      busy_ = true;
    }
    for (const Pending& p : batch) {
      bool ok = false;
      try {
        ok = WriteEvent(p.event, p.when, true);
      } catch (const std::exception&) {
        ok = false;  // bad_alloc: count it like a failed write
      }
      if (!ok) dropped_.fetch_add(1), ++lost;
    }
    if (lost > 0) {
      AuditEvent note;
      note.op = "dropped";
      note.result = CodeName(Code::kResourceExhausted);
      note.detail = std::to_string(lost) +
                    " audit event(s) were not recorded (queue full or write error)";
      try {
        if (WriteEvent(note, std::chrono::system_clock::now(), false)) lost = 0;
      } catch (const std::exception&) {
      }
    }
    if (::fdatasync(fd_) != 0) {
      int err = errno;
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = "fdatasync failed: " + ErrnoText(err);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      busy_ = false;
    }
    idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

void AuditLog::Record(const AuditEvent& event) noexcept {
  try {
    // Caps keep every line far below the tail window read at Open.
    Pending p{AuditEvent{Capped(event.op, 32), Capped(event.key_id, 512), event.version,
                         Capped(event.locker, 256), Capped(event.result, 64), event.latency_us,
                         Capped(event.detail, 1024)},
              std::chrono::system_clock::now()};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ || queue_.size() >= capacity_) {
        ++unreported_drops_;
        dropped_.fetch_add(1);
        return;
      }
      queue_.push_back(std::move(p));
    }
    work_cv_.notify_one();
  } catch (...) {
    // Out of memory: the event is lost; the counter still tells.
    dropped_.fetch_add(1);
  }
}

void AuditLog::Flush() {
  try {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.notify_one();
    idle_cv_.wait(lock, [&] { return queue_.empty() && unreported_drops_ == 0 && !busy_; });
  } catch (const std::system_error&) {
    // A broken mutex leaves nothing to wait for; the writer still drains at close.
  }
}

std::string AuditLog::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void AuditLog::PauseWriterForTesting(bool paused) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    paused_ = paused;
  }
  work_cv_.notify_all();
}

std::string DefaultAuditActor() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "unknown-host") + ":" + std::to_string(getpid());
}

}  // namespace keyring_locker
