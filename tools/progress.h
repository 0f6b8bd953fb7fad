// A one-line progress bar on stderr for long runs (thousands of files or
// keys), shown only when stderr is a terminal and --json is off, so logs and
// scripts never see it. Written by hand: Debian has no C++ progress-bar
// library (indicators, tqdm-cpp are not packaged), and this is 40 lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace keyring_locker {

class Progress {
 public:
  // `what` names the items ("files", "keys"); `total` 0 when unknown.
  Progress(std::string what, size_t total, bool enabled);
  ~Progress();  // ends the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // One more item done; redraws at most 10 times a second.
  void Step();

  // Whether a bar is drawn: stderr is a terminal and the caller allows it.
  static bool Wanted(bool json);

 private:
  void Draw();

  std::string what_;
  size_t total_ = 0;
  size_t done_ = 0;
  bool enabled_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace keyring_locker
