#include "plugin/mariadb/key_gate.h"

#include <cstring>
#include <mutex>

#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/key_rules.h"

namespace keyring_locker::mariadb {

KeyGate::KeyGate(KeyService* keys, KeyGateOptions options, Logger log_error)
    : keys_(keys), options_(options), log_error_(std::move(log_error)) {}

unsigned KeyGate::LatestVersion(unsigned key_id) {
  // The hot path (every page write asks): two atomic loads, no lock, no
  // shared cache line written, so threads on different cores do not slow
  // each other down (docs/benchmarks.md, benchmark 1).
  if (key_id < kFastIds) {
    const uint64_t known = fast_latest_[key_id].load(std::memory_order_acquire);
    if (known != 0 && (known >> 32) == (keys_->LatestVersionEpoch() & 0xffffffffu)) {
      return static_cast<unsigned>(known & 0xffffffffu);
    }
  }
  return LockedLatest(key_id);
}

unsigned KeyGate::LockedLatest(unsigned key_id) {
  const uint64_t epoch = keys_->LatestVersionEpoch();  // before the version it vouches for
  const unsigned wanted = keys_->LatestVersionCached(KeyName(key_id));
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = slots_.find(key_id);
    if (it != slots_.end() && wanted != 0 && it->second.ready >= wanted) {
      if (key_id < kFastIds) {
        fast_latest_[key_id].store(((epoch & 0xffffffffu) << 32) | wanted, std::memory_order_release);
      }
      return wanted;
    }
  }
  return SlowLatest(key_id, wanted);
}

bool KeyGate::Paused(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::time_point until,
                     uint64_t recoveries_then, bool unreachable) const {
  // When the locker did not answer, its answering any request since ends
  // the pause: a client retrying after the outage must not be refused for
  // the rest of the window. Other failures (a refusal, a damaged key) keep
  // their whole pause: the locker answering says nothing about them.
  if (now >= until) return false;
  return !unreachable || keys_->LockerRecoveries() == recoveries_then;
}

Status KeyGate::CreateAllowed(unsigned key_id) const {
  const std::string id = std::to_string(key_id);
  if (!options_.create_missing) {
    return NotFound("the locker has no key " + id + " in this scope and this program does not create keys");
  }
  if (!options_.create_policy.Allows(key_id)) {
    return FailedPrecondition("key id " + id + " is not in the locker and keyring_locker_create_keys=" +
                              options_.create_policy.Describe() +
                              " does not allow creating it; create it with 'keyring-locker --config FILE ensure " +
                              id + "' or widen keyring_locker_create_keys (a mistyped ENCRYPTION_KEY_ID? then fix "
                              "the statement)");
  }
  if (options_.create_max != 0) {
    const size_t known = keys_->KnownKeyCount();
    if (known >= options_.create_max) {
      return ResourceExhausted("key id " + id + " is not in the locker and the scope already holds " +
                               std::to_string(known) + " keys, keyring_locker_create_keys_max=" +
                               std::to_string(options_.create_max) + "; create it with 'keyring-locker --config "
                               "FILE ensure " + id + "' or raise keyring_locker_create_keys_max");
    }
  }
  return Status::Ok();
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
    if (Paused(now, slot.retry_at, slot.recoveries, slot.unreachable)) {
      if (ready != 0) return ready;
      if (!options_.client_warning || now - slot.warned < std::chrono::seconds(1)) return kKeyVersionInvalid;
      slot.warned = now;
      const std::string why = slot.why;
      lock.unlock();
      options_.client_warning(why, false);
      return kKeyVersionInvalid;
    }
  }
  const uint64_t recoveries_before = keys_->LockerRecoveries();

  // One budget for the whole answer: reading or creating the latest
  // version and fetching its bytes are two KeyService calls.
  OperationDeadline call(keys_->call_budget());
  Status failure;
  bool refused = false;  // the policy said no: not a locker problem
  bool created = false;
  unsigned got = 0;
  if (wanted == 0) {
    // Not in the cache is not "absent": a start whose version refresh was
    // cut has not read every key yet, so the locker is asked first.
    auto latest = keys_->LatestVersionFromLocker(name);
    if (!latest.ok()) {
      failure = latest.status().Annotate("reading the versions of key " + name);
    } else if (*latest != 0) {
      wanted = *latest;
    } else if (Status allowed = CreateAllowed(key_id); !allowed.ok()) {
      failure = allowed;
      refused = true;
    } else {
      Status made = keys_->Create(name, 1, "AES", 32, nullptr);
      if (made.ok()) {
        wanted = 1;
        created = true;
      } else if (made.code() == Code::kAlreadyExists) {
        auto now_latest = keys_->LatestVersionFromLocker(name);  // another server created it first
        if (now_latest.ok() && *now_latest != 0) {
          wanted = *now_latest;
        } else {
          failure = (now_latest.ok() ? made : now_latest.status()).Annotate("creating key " + name);
        }
      } else {
        failure = made.Annotate("creating key " + name);
      }
    }
  }
  if (created && options_.log_created) {
    options_.log_created("created key " + name + " version 1 in the locker: created on first use by the server "
                         "(ENCRYPTION_KEY_ID " + name + ", keyring_locker_create_keys=" +
                         options_.create_policy.Describe() + ")");
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
    slot.why.clear();
    const unsigned serving = slot.ready;
    lock.unlock();
    if (newer && options_.on_new_version) options_.on_new_version();
    return serving;
  }
  slot.retry_at = now + options_.retry_after;
  slot.recoveries = recoveries_before;
  slot.unreachable = Unreachable(failure);
  if (slot.ready != 0) {
    log_error_("ENCRYPTION_KEY_ID " + std::to_string(key_id) + ": newer version " + std::to_string(wanted) +
               " is not available yet, still serving version " + std::to_string(slot.ready) + " (" +
               failure.ToString() + "); retrying in " + std::to_string(options_.retry_after.count()) + " ms");
    return slot.ready;
  }
  const std::string why =
      refused ? "ENCRYPTION_KEY_ID " + std::to_string(key_id) + " refused: " + failure.message()
              : "ENCRYPTION_KEY_ID " + std::to_string(key_id) + " has no usable key: " + failure.ToString() +
                    "; fix the locker problem named here, or use a key id the scope has "
                    "('keyring-locker --config FILE list' shows them)";
  slot.why = why;
  slot.warned = now;
  lock.unlock();
  Report(why);
  return kKeyVersionInvalid;
}

unsigned KeyGate::GetKey(unsigned key_id, unsigned version, unsigned char* buf, unsigned* buflen) {
  if (buflen == nullptr) return kKeyVersionInvalid;
  const uint64_t slot = (static_cast<uint64_t>(key_id) << 32) | version;
  // The hot path (every page read and write asks): no clock, no lock and no
  // allocation unless some get has failed since the start.
  if (any_failed_get_.load(std::memory_order_acquire)) {
    const auto now = std::chrono::steady_clock::now();
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = failed_gets_.find(slot);
    if (it != failed_gets_.end() && Paused(now, it->second.retry_at, it->second.recoveries, it->second.unreachable)) {
      return kKeyVersionInvalid;
    }
  }
  // A cached key the server can use is copied out under the cache's lock,
  // without taking a reference; anything else takes the path below.
  unsigned served = kKeyVersionInvalid;
  const std::string name = KeyName(key_id);
  const bool cached = keys_->WithCachedKey(name, version, [&](const KeyMaterial& k) {
    const size_t size = k.bytes.size();
    if (!KeyRules{KeyServer::kMariaDb}.Allows(k.type, size)) return;  // refused below, with its log line
    if (buf == nullptr || *buflen < size) {
      *buflen = static_cast<unsigned>(size);
      served = kKeyBufferTooSmall;
      return;
    }
    std::memcpy(buf, k.bytes.data(), size);
    *buflen = static_cast<unsigned>(size);
    served = 0;
  });
  if (cached && served != kKeyVersionInvalid) return served;
  const uint64_t recoveries_before = keys_->LockerRecoveries();
  auto key = keys_->Get(name, version);
  if (!key.ok()) {
    {
      std::unique_lock<std::shared_mutex> lock(mu_);
      // The pause runs from the failure, not from the ask: a failure that
      // took the whole request budget must not be retried on the next call.
      failed_gets_[slot] = FailedGet{std::chrono::steady_clock::now() + options_.retry_after, recoveries_before,
                                     Unreachable(key.status())};
      any_failed_get_.store(true, std::memory_order_release);
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
  constexpr KeyRules kMariaDbRules{KeyServer::kMariaDb};
  if (!kMariaDbRules.Allows((*key)->type, size)) {
    Status usable = kMariaDbRules.Check((*key)->type, size,
                                        "ENCRYPTION_KEY_ID " + std::to_string(key_id) + " version " +
                                            std::to_string(version));
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
