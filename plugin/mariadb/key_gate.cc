#include "plugin/mariadb/key_gate.h"

#include <cstring>
#include <mutex>

#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/key_rules.h"

namespace keyring_locker::mariadb {

KeyGate::KeyGate(KeyService* keys, KeyGateOptions options, Logger log_error)
    : keys_(keys), options_(options), log_error_(std::move(log_error)) {}

unsigned KeyGate::LatestVersion(unsigned key_id) {
  const unsigned wanted = keys_->LatestVersionCached(KeyName(key_id));
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = slots_.find(key_id);
    if (it != slots_.end() && wanted != 0 && it->second.ready >= wanted) return wanted;
  }
  return SlowLatest(key_id, wanted);
}

unsigned KeyGate::SlowLatest(unsigned key_id, unsigned wanted) {
  const std::string name = KeyName(key_id);
  const auto now = std::chrono::steady_clock::now();
  unsigned ready = 0;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    Slot& slot = slots_[key_id];
    ready = slot.ready;
    // A recent failure: answer from what we hold instead of blocking this
    // thread on the locker again.
    if (now < slot.retry_at) return ready != 0 ? ready : kKeyVersionInvalid;
  }

  // One budget for the whole answer: reading or creating the latest
  // version and fetching its bytes are two KeyService calls.
  OperationDeadline call(keys_->call_budget());
  Status failure;
  unsigned got = 0;
  if (wanted == 0) {
    // Not in the cache is not "absent": a start whose version refresh was
    // cut has not read every key yet, so both paths ask the locker first.
    if (!options_.create_missing) {
      auto latest = keys_->LatestVersionFromLocker(name);
      if (!latest.ok()) {
        failure = latest.status().Annotate("reading the versions of key " + name);
      } else if (*latest == 0) {
        failure = NotFound("the locker has no key " + name + " in this scope and this program does not create keys");
      } else {
        wanted = *latest;
      }
    } else {
      auto ensured = keys_->EnsureKey(name);
      if (ensured.ok()) {
        wanted = *ensured;
      } else {
        failure = ensured.status().Annotate("creating key " + name);
      }
    }
  }
  if (failure.ok()) {
    auto key = keys_->Get(name, wanted);
    if (key.ok()) {
      got = wanted;
    } else {
      failure = key.status().Annotate("fetching key " + name + " version " + std::to_string(wanted));
    }
  }

  std::unique_lock<std::shared_mutex> lock(mu_);
  Slot& slot = slots_[key_id];
  if (got != 0) {
    const bool newer = got > slot.ready;
    if (newer) slot.ready = got;
    slot.retry_at = {};
    const unsigned serving = slot.ready;
    lock.unlock();
    if (newer && options_.on_new_version) options_.on_new_version();
    return serving;
  }
  slot.retry_at = now + options_.retry_after;
  if (slot.ready != 0) {
    log_error_("ENCRYPTION_KEY_ID " + std::to_string(key_id) + ": newer version " + std::to_string(wanted) +
               " is not available yet, still serving version " + std::to_string(slot.ready) + " (" +
               failure.ToString() + "); retrying in " + std::to_string(options_.retry_after.count()) + " ms");
    return slot.ready;
  }
  log_error_("ENCRYPTION_KEY_ID " + std::to_string(key_id) + " has no usable key: " + failure.ToString() +
             "; fix the locker problem named here, or use a key id the scope has "
             "('keyring-locker --config FILE list' shows them)");
  return kKeyVersionInvalid;
}

unsigned KeyGate::GetKey(unsigned key_id, unsigned version, unsigned char* buf, unsigned* buflen) {
  if (buflen == nullptr) return kKeyVersionInvalid;
  const uint64_t slot = (static_cast<uint64_t>(key_id) << 32) | version;
  const auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!failed_gets_.empty()) {
      auto it = failed_gets_.find(slot);
      if (it != failed_gets_.end() && now < it->second) return kKeyVersionInvalid;
    }
  }
  auto key = keys_->Get(KeyName(key_id), version);
  if (!key.ok()) {
    {
      std::unique_lock<std::shared_mutex> lock(mu_);
      failed_gets_[slot] = now + options_.retry_after;
    }
    log_error_("ENCRYPTION_KEY_ID " + std::to_string(key_id) + " version " + std::to_string(version) +
               " could not be read: " + key.status().ToString() +
               "; data encrypted with it stays unreadable until the locker serves it again (next try in " +
               std::to_string(options_.retry_after.count()) + " ms)");
    return kKeyVersionInvalid;
  }
  const auto& bytes = (*key)->bytes;
  const unsigned size = static_cast<unsigned>(bytes.size());
  // KeyService already serves MariaDB only keys its rules allow; the same
  // rules are asked again here because any other key aborts InnoDB.
  Status usable = KeyRules{KeyServer::kMariaDb}.Check((*key)->type, size,
                                                       "ENCRYPTION_KEY_ID " + std::to_string(key_id) + " version " +
                                                           std::to_string(version));
  if (!usable.ok()) {
    log_error_(usable.message() + ": refused");
    return kKeyVersionInvalid;
  }
  if (buf == nullptr || *buflen < size) {
    *buflen = size;
    return kKeyBufferTooSmall;
  }
  std::memcpy(buf, bytes.data(), size);
  *buflen = size;
  return 0;
}

}  // namespace keyring_locker::mariadb
