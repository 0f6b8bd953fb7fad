// RecoveryProbe: while the locker is unreachable, one cheap request a second
// (the versions of key 1) from a thread of its own, so the first moment it
// answers again is noticed by the plugin, not by whichever statement comes
// next. That success ends the run of failures in KeyService (the recovery is
// logged once, Keyring_locker_last_error clears) and ends KeyGate's pauses,
// so a CREATE TABLE retried right after the outage succeeds (issue #16).
// Idle (no request at all) while the locker answers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "keyring_backend/key_service.h"

namespace keyring_locker::mariadb {

class RecoveryProbe {
 public:
  // `keys` must outlive this object; `probe_name` is a key every datadir
  // has (MariaDB's key 1). Each probe is bounded by `interval` (and the
  // service's call budget, if shorter).
  RecoveryProbe(KeyService* keys, std::string probe_name, std::chrono::milliseconds interval);
  ~RecoveryProbe();  // stops and joins the thread
  RecoveryProbe(const RecoveryProbe&) = delete;
  RecoveryProbe& operator=(const RecoveryProbe&) = delete;

 private:
  void Loop();

  KeyService* keys_;
  const std::string probe_name_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace keyring_locker::mariadb
