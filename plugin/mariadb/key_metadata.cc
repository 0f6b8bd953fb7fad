#include "plugin/mariadb/key_metadata.h"

#include <ctime>
#include <exception>

namespace keyring_locker::mariadb {
namespace {

// Documents written by older tools may lack a field; an explicit word reads
// better in SHOW STATUS than "created= origin=".
std::string OrUnknown(const std::string& s) { return s.empty() ? "unknown" : s; }

// "2026-01-02T03:04:05Z" (what the envelope writes); anything else: epoch.
std::chrono::system_clock::time_point ParseCreated(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return {};
  const std::time_t t = timegm(&tm);
  if (t <= 0) return {};
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

std::vector<KeyMetadataRow> KeyMetadataRows(const std::vector<KeyVersionInfo>& versions,
                                            const std::string& locker_description) {
  std::vector<KeyMetadataRow> rows;
  for (size_t i = 0; i < versions.size(); ++i) {
    const KeyVersionInfo& k = versions[i];
    const std::string id = KeyService::EncodeName(k.name);
    rows.push_back({id + "_v" + std::to_string(k.version),
                    !k.read ? "not read yet (read in the background after the first SHOW STATUS) locker=" +
                                  locker_description
                            : "created=" + OrUnknown(k.created) + " origin=" + OrUnknown(k.origin) +
                                  " creator=" + OrUnknown(k.creator) + " type=" + OrUnknown(k.type) +
                                  " length=" + std::to_string(k.length) + " locker=" + locker_description});
    const bool last_of_name = i + 1 == versions.size() || versions[i + 1].name != k.name;
    if (last_of_name) rows.push_back({id + "_latest", std::to_string(k.version)});
  }
  return rows;
}

KeyMetadataSummary SummarizeKeyVersions(const std::vector<KeyVersionInfo>& versions) {
  KeyMetadataSummary out;
  out.versions = versions.size();
  for (size_t i = 0; i < versions.size(); ++i) {
    const bool last_of_name = i + 1 == versions.size() || versions[i + 1].name != versions[i].name;
    if (!last_of_name) continue;
    ++out.keys;
    const auto created = ParseCreated(versions[i].created);
    if (created == std::chrono::system_clock::time_point{}) continue;
    if (out.oldest_latest == std::chrono::system_clock::time_point{} || created < out.oldest_latest) {
      out.oldest_latest = created;
      out.oldest_latest_key = KeyService::EncodeName(versions[i].name);
    }
    if (created > out.newest_latest) out.newest_latest = created;
  }
  return out;
}

KeyMetadata::KeyMetadata(KeyService* keys, std::string locker_description, std::chrono::seconds interval)
    : keys_(keys),
      locker_description_(std::move(locker_description)),
      interval_(interval),
      current_(std::make_shared<const KeyMetadataSnapshot>()) {
  if (interval_.count() > 0) thread_ = std::thread([this] { Loop(); });
}

KeyMetadata::~KeyMetadata() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status KeyMetadata::Refresh(Sweep how) {
  // Opened before queueing: a background listing of a large scope may hold
  // the lock far longer than a server thread may wait.
  OperationDeadline budget(keys_->SweepBudget(how));
  std::unique_lock<std::timed_mutex> one_at_a_time = LockWithinDeadline(refresh_mu_);
  if (!one_at_a_time.owns_lock()) {
    return DeadlineExceeded("another listing of the key metadata was still running when this call's "
                            "timeouts.total_ms=" + std::to_string(keys_->call_budget().count()) +
                            " ran out; that listing updates SHOW STATUS when it completes, nothing to do unless "
                            "it never does (then check the locker's health)");
  }
  auto next = std::make_shared<KeyMetadataSnapshot>();
  Status result;
  try {
    // No listing: versions come from the KeyService's own refresh. Records
    // are read only for versions not read yet, and only once SHOW STATUS
    // has asked for the rows.
    auto versions = keys_->KnownKeyVersions(read_details_.load(), how);
    if (versions.ok()) {
      next->rows = KeyMetadataRows(*versions, locker_description_);
      next->summary = SummarizeKeyVersions(*versions);
      next->taken = std::chrono::system_clock::now();
    } else {
      result = versions.status();
    }
  } catch (const std::exception& e) {
    result = Internal(std::string("listing key metadata failed with an internal error: ") + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!result.ok()) {
    // Keep showing what was listed last; SHOW STATUS tells how old it is.
    next->rows = current_->rows;
    next->summary = current_->summary;
    next->taken = current_->taken;
    next->last_error = result.ToString();
  }
  current_ = std::move(next);
  return result;
}

Status KeyMetadata::RefreshOrHandOver() {
  const auto deadline = OperationDeadline::Current();
  const bool spent = deadline.has_value() && *deadline <= OperationDeadline::Clock::now();
  Status s = spent ? DeadlineExceeded("the caller's budget was used up before the listing") : Refresh(Sweep::kOneBudget);
  if (!s.ok()) RequestRefresh();
  return s;
}

void KeyMetadata::Shown() {
  if (read_details_.exchange(true)) return;
  auto current = Current();
  for (const auto& row : current->rows) {
    if (row.value.rfind("not read yet", 0) == 0) {
      RequestRefresh();
      return;
    }
  }
}

void KeyMetadata::RequestRefresh() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<const KeyMetadataSnapshot> KeyMetadata::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void KeyMetadata::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_ || requested_; });
    if (stop_) break;
    requested_ = false;
    lock.unlock();
    (void)Refresh(Sweep::kPerRequest);  // a failure is kept in the snapshot's last_error
    lock.lock();
  }
}

}  // namespace keyring_locker::mariadb
