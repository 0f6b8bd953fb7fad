#pragma once
// Ends a server a test fixture forked (the dev locker, the Azure stand-in):
// SIGTERM, up to 5 s to exit, then SIGKILL, which the test reports (a
// server that ignores SIGTERM is a bug of its own). *pid is -1 after.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace keyring_locker::testing {

inline void StopChild(pid_t* pid, const std::string& name) {
  if (*pid <= 0) return;
  ::kill(*pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << name << " ignored SIGTERM for 5 s; killing it";
  ::kill(*pid, SIGKILL);
  ::waitpid(*pid, &status, 0);
  *pid = -1;
}

}  // namespace keyring_locker::testing
