#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace keyring_locker {

Progress::Progress(std::string what, size_t total, bool enabled)
    : what_(std::move(what)), total_(total), enabled_(enabled) {}

Progress::~Progress() {
  if (!enabled_ || !drawn_) return;
  Draw();
  std::fputc('\n', stderr);
}

bool Progress::Wanted(bool json) { return !json && isatty(STDERR_FILENO) == 1; }

void Progress::Step() {
  ++done_;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done_ != total_) return;
  last_ = now;
  Draw();
}

void Progress::Draw() {
  drawn_ = true;
  if (total_ == 0) {
    std::fprintf(stderr, "\r%zu %s", done_, what_.c_str());
  } else {
    constexpr int kWidth = 30;
    const size_t shown = done_ > total_ ? total_ : done_;
    const int filled = static_cast<int>(shown * kWidth / total_);
    std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu %s", filled, "##############################", kWidth - filled, "",
                 shown, total_, what_.c_str());
  }
  std::fflush(stderr);
}

}  // namespace keyring_locker
