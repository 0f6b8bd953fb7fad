// Fuzz target: the audit-log verifier. An attacker who can edit the log
// controls every byte the verifier reads; it must report, never crash.
// Each input is checked twice: the line checker on the whole input, and
// VerifyAuditLog on a file holding it.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "keyring_backend/audit/audit_line.h"
#include "keyring_backend/audit/audit_log.h"

namespace {

// One scratch file per fuzzing process, removed when the process exits.
struct ScratchFile {
  const std::string path = "/tmp/klk_fuzz_audit." + std::to_string(getpid());
  ~ScratchFile() { std::remove(path.c_str()); }
};

const std::string& TempPath() {
  static const ScratchFile file;
  return file.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keyring_locker;
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    audit_internal::LineFields fields;
    std::string hash;
    if (audit_internal::CheckLine(text, &fields, &hash).empty()) {
      // A line that checks is exactly what the writer would write for it.
      std::string rebuilt_hash;
      if (audit_internal::BuildLine(fields, &rebuilt_hash) != text || rebuilt_hash != hash) __builtin_trap();
    }

    FILE* f = std::fopen(TempPath().c_str(), "wb");
    if (f == nullptr) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    AuditVerifyReport report = VerifyAuditLog(TempPath());
    // A report is either ok with no problem, or names the problem and a line.
    if (report.ok != report.problem.empty()) __builtin_trap();
    if (!report.ok && report.first_bad_line == 0 && report.lines > 0 &&
        report.problem.find("line") == std::string::npos) {
      __builtin_trap();
    }
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
