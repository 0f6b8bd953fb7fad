// VerifyAuditLog: replays the chain line by line. It stops at the first
// problem, except where the writer itself recorded a break: a damaged line
// directly followed by a "recovered" line (see docs/audit-log.md). That break
// still makes the report not ok, but the rest of the file is checked so the
// operator learns whether anything else is wrong.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/safe_file.h"

#include "keyring_backend/audit/audit_line.h"
#include "keyring_backend/audit/audit_log.h"

namespace keyring_locker {
namespace {

using audit_internal::LineFields;

std::string N(uint64_t n) { return std::to_string(n); }

class Verifier {
 public:
  explicit Verifier(AuditVerifyReport* report) : r_(report) {}

  // Returns false when verification must stop.
  bool Line(const std::string& text, bool terminated) {
    uint64_t n = ++r_->lines;
    if (!terminated) {
      return Fail(n, "line " + N(n) + " has no newline at the end: the file was cut short or "
                     "a write is still in progress");
    }
    LineFields f;
    std::string hash;
    std::string problem = audit_internal::CheckLine(text, &f, &hash);
    if (!problem.empty()) {
      if (awaiting_recovery_) return Fail(n, "line " + N(n) + ": " + problem);
      // Tolerated only if a recovery line follows at once: keep reading.
      awaiting_recovery_ = true;
      Fail(n, "line " + N(n) + ": " + problem);
      return true;
    }
    if (f.op == "recovered") return Recovered(n, f, hash);
    if (awaiting_recovery_) {
      return Fail(n, "line " + N(n) + " follows a damaged line without a recovery line, so "
                     "the chain cannot be followed past it");
    }
    if (f.seq != expected_seq_) {
      if (f.seq > expected_seq_) {
        return Fail(n, "line " + N(n) + ": seq jumps from " + N(expected_seq_ - 1) + " to " +
                       N(f.seq) + ": " + N(f.seq - expected_seq_) +
                       " line(s) deleted or moved");
      }
      return Fail(n, "line " + N(n) + ": seq " + N(f.seq) + " where " + N(expected_seq_) +
                     " was expected: lines reordered or inserted");
    }
    if (f.prev != expected_prev_) {
      return Fail(n, "line " + N(n) + ": prev does not match the hash of the line before: a "
                     "line was inserted, replaced or removed here");
    }
    Accept(f, hash);
    return true;
  }

  void Finish() {
    r_->ok = r_->problem.empty();
    if (!r_->ok && recovered_at_ != 0 && !awaiting_recovery_ && !later_problem_) {
      r_->problem += "; line " + N(recovered_at_) + " starts a recovered segment (the log was "
                     "reopened after a crash or damage) and every line after it verifies";
    }
  }

 private:
  bool Recovered(uint64_t n, const LineFields& f, const std::string& hash) {
    if (f.prev != audit_internal::kZeroHash) {
      return Fail(n, "line " + N(n) + ": a recovery line must start a new chain (prev of "
                     "zeros): line edited");
    }
    if (!awaiting_recovery_) {
      // The writer found damage this verifier did not see (e.g. a line it
      // could not read back); still a break worth reporting.
      Fail(n, "line " + N(n) + " starts a recovered segment: " + f.detail);
    }
    awaiting_recovery_ = false;
    recovered_at_ = n;
    Accept(f, hash);
    return true;
  }

  void Accept(const LineFields& f, const std::string& hash) {
    expected_seq_ = f.seq + 1;
    expected_prev_ = hash;
    r_->last_seq = f.seq;
    r_->last_hash = hash;
  }

  bool Fail(uint64_t n, const std::string& problem) {
    if (r_->first_bad_line == 0) {
      r_->first_bad_line = n;
      r_->problem = problem;
    } else {
      r_->problem += "; then " + problem;
      later_problem_ = true;
    }
    return false;
  }

  AuditVerifyReport* r_;
  uint64_t expected_seq_ = 1;
  std::string expected_prev_ = audit_internal::kZeroHash;
  bool awaiting_recovery_ = false;
  bool later_problem_ = false;
  uint64_t recovered_at_ = 0;
};

}  // namespace

AuditVerifyReport VerifyAuditLog(const std::string& path) {
  AuditVerifyReport report;
  try {
    // Non-blocking open, regular file only (common/safe_file.h): a FIFO
    // would otherwise hang `keyring-locker audit-verify`.
    OpenFileOptions open_options;
    open_options.what = "audit log";
    open_options.open_fix = "check the path and read permission";
    open_options.not_regular_fix = "give the path of the audit log file itself";
    StatusOr<UniqueFile> in = OpenRegularStream(path, open_options);
    if (!in.ok()) {
      report.problem = in.status().message();
      return report;
    }
    Verifier verifier(&report);
    struct LineBuffer {  // getline(3)'s buffer, freed on every way out
      char* data = nullptr;
      size_t capacity = 0;
      ~LineBuffer() { std::free(data); }
    } line;
    for (;;) {
      const ssize_t n = ::getline(&line.data, &line.capacity, in->get());
      if (n <= 0) break;
      // Only the last line of a cut file lacks its newline.
      const bool terminated = line.data[n - 1] == '\n';
      const size_t length = static_cast<size_t>(terminated ? n - 1 : n);
      if (!verifier.Line(std::string(line.data, length), terminated)) break;
    }
    if (std::ferror(in->get())) {
      report.problem = "read error in " + path + " after line " + N(report.lines) +
                       "; check the disk";
      report.ok = false;
      return report;
    }
    verifier.Finish();
  } catch (const std::exception& e) {
    report.ok = false;
    report.problem = std::string("verification stopped: ") + e.what();
  }
  return report;
}

}  // namespace keyring_locker
