// A FIFO where a regular file is expected, and a bounded wait for code that
// reads it: on code that opens the FIFO blocking, the test FAILS (after
// opening the FIFO for writing, which releases the blocked open) instead
// of hanging the test program forever.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace keyring_locker::testing {

// mkfifo at `path` with `mode`; removed on destruction.
class Fifo {
 public:
  explicit Fifo(std::string path, mode_t mode = 0600) : path_(std::move(path)) {
    ::unlink(path_.c_str());
    EXPECT_EQ(::mkfifo(path_.c_str(), mode), 0) << path_;
    ::chmod(path_.c_str(), mode);
  }
  ~Fifo() { ::unlink(path_.c_str()); }
  Fifo(const Fifo&) = delete;
  Fifo& operator=(const Fifo&) = delete;
  const std::string& path() const { return path_; }

  // Opens the FIFO for writing and closes it: a reader blocked in open()
  // returns and then reads end-of-file.
  void Release() const {
    for (int i = 0; i < 200; ++i) {
      int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  std::string path_;
};

// Runs `read` on another thread and returns its result. If it has not
// returned within `limit`, records a failure ("blocked on the FIFO"),
// releases the FIFO and waits for the result.
template <class F>
auto WithinBoundedTime(const Fifo& fifo, F read,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  auto result = std::async(std::launch::async, std::move(read));
  if (result.wait_for(limit) == std::future_status::timeout) {
    ADD_FAILURE() << "reading " << fifo.path() << " blocked for more than " << limit.count()
                  << " ms: the FIFO was opened blocking";
    while (result.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout) {
      fifo.Release();
    }
  }
  return result.get();
}

}  // namespace keyring_locker::testing
