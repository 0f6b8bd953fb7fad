#include "plugin/mariadb/recovery_probe.h"

#include <algorithm>
#include <exception>

namespace keyring_locker::mariadb {

RecoveryProbe::RecoveryProbe(KeyService* keys, std::string probe_name, std::chrono::milliseconds interval)
    : keys_(keys), probe_name_(std::move(probe_name)), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

RecoveryProbe::~RecoveryProbe() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecoveryProbe::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    try {
      // Only while the latest failure was the locker not answering: a
      // refusal or a damaged key is not cured by probing.
      if (keys_->stats().health.unreachable) {
        // At most one interval: a hung locker must not hold a connection
        // (KMIP has one) a statement is waiting for, for a whole budget.
        OperationDeadline budget(std::min(keys_->call_budget(), interval_));
        (void)keys_->LatestVersionFromLocker(probe_name_);  // success or failure is recorded by KeyService
      }
    } catch (const std::exception&) {
      // Out of memory: try again next interval.
    } catch (...) {
    }
    lock.lock();
  }
}

}  // namespace keyring_locker::mariadb
