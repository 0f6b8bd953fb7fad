// Runs a shell command line the way the CLI tests run keyring-locker: its
// output captured, its exit status returned (-1 when it did not exit).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace keyring_locker::testing {

// Where the command's stderr goes: into *out beside stdout, or away (so
// *out is exactly what a script reading stdout would get, e.g. --json).
enum class StderrTo { kOut, kNowhere };

inline int RunCommand(const std::string& command_line, std::string* out, StderrTo err = StderrTo::kOut) {
  const std::string cmd = command_line + (err == StderrTo::kOut ? " 2>&1" : " 2>/dev/null");
  out->clear();
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out->append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace keyring_locker::testing
