// LockWithinDeadline (keyring_backend/http/operation_deadline.h): takes a
// lock another thread may hold, but not past this thread's deadline. Also in
// the TSan run (scripts/sanitize.sh): a lock taken with a deadline must be
// one TSan sees taken (it missed libstdc++'s pthread_mutex_clocklock and
// reported the unlock as an unlock of an unlocked mutex).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker {
namespace {

using std::chrono::milliseconds;

TEST(LockWithinDeadline, AFreeLockIsTakenAndReleasedWithAndWithoutADeadline) {
  std::timed_mutex mu;
  {
    auto lock = LockWithinDeadline(mu);  // no scope: a plain lock
    EXPECT_TRUE(lock.owns_lock());
  }
  {
    OperationDeadline call(milliseconds(1000));
    auto lock = LockWithinDeadline(mu);
    EXPECT_TRUE(lock.owns_lock());
  }
  EXPECT_TRUE(mu.try_lock()) << "released when the guard went";
  mu.unlock();
}

TEST(LockWithinDeadline, GivesUpWhenTheDeadlinePassesAndTakesItWhenFreedInTime) {
  std::timed_mutex mu;
  std::atomic<bool> held{false}, release{false};
  std::thread holder([&] {
    std::lock_guard<std::timed_mutex> g(mu);
    held = true;
    while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
  });
  while (!held.load()) std::this_thread::yield();
  {
    OperationDeadline call(milliseconds(100));
    const auto start = std::chrono::steady_clock::now();
    auto lock = LockWithinDeadline(mu);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(lock.owns_lock());
    EXPECT_GE(waited, milliseconds(90));
    EXPECT_LT(waited, milliseconds(5000));
  }
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(50));
    release = true;
  });
  {
    OperationDeadline call(milliseconds(10000));
    auto lock = LockWithinDeadline(mu);  // freed after ~50 ms: taken, well within the deadline
    EXPECT_TRUE(lock.owns_lock());
  }
  releaser.join();
  holder.join();
}

}  // namespace
}  // namespace keyring_locker
