// KeyMetadata: the key versions of the scope (metadata only, never key
// bytes) as rows for SHOW STATUS / INFORMATION_SCHEMA.GLOBAL_STATUS:
//   <id>_v<version> = "created=... origin=... creator=... type=... length=... locker=..."
//   <id>_latest     = "<highest version>"
//
// SHOW STATUS never asks the locker: it reads the last snapshot, which is
// built from what the KeyService knows already (KnownKeyVersions: its
// version listings and the records it read or wrote; a record never
// changes, so none is read twice). Rebuilding costs no request, so it runs
// after every change (a key the gate created or a newer version it picked
// up, a rotation, a refresh) and every `interval`. Versions only a listing
// saw (old versions the server has not needed since the start) show as
// "not read yet" until the first SHOW STATUS asks for them (Shown()): then
// the background thread reads those records, once.
//
// Snapshots are immutable and shared: a reader pins the one it shows, so a
// refresh that replaces it meanwhile cannot free the strings the server is
// still copying.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keyring_backend/key_service.h"

namespace keyring_locker::mariadb {

struct KeyMetadataRow {
  std::string name;   // suffix after the status variable's own name, e.g. "1_v2"
  std::string value;
};

// Bounded figures about the whole scope, for SHOW STATUS rows that stay a
// handful however many keys there are (issue #16): monitors read these,
// keyring_locker_status_per_key or the CLI's list show every version.
struct KeyMetadataSummary {
  size_t keys = 0;
  size_t versions = 0;
  // Among each key's latest version: the oldest (the key rotated least
  // recently) and the newest. Epoch when no latest version has a readable
  // creation time.
  std::chrono::system_clock::time_point oldest_latest{}, newest_latest{};
  std::string oldest_latest_key;  // its name, encoded as in the rows
};
KeyMetadataSummary SummarizeKeyVersions(const std::vector<KeyVersionInfo>& versions);

struct KeyMetadataSnapshot {
  std::vector<KeyMetadataRow> rows;
  KeyMetadataSummary summary;
  std::chrono::system_clock::time_point taken{};  // epoch = never listed
  std::string last_error;                         // of the latest failed listing, empty if it succeeded
};

// Rows for `versions` (sorted by name, then version, as ListKeyVersions
// returns them). Names are shown the way the locker path encodes them, so a
// name outside [A-Za-z0-9_.-] cannot break the variable name.
std::vector<KeyMetadataRow> KeyMetadataRows(const std::vector<KeyVersionInfo>& versions,
                                            const std::string& locker_description);

class KeyMetadata {
 public:
  // `keys` must outlive this object. A zero `interval` disables the thread
  // (unit tests drive Refresh() themselves).
  KeyMetadata(KeyService* keys, std::string locker_description, std::chrono::seconds interval);
  ~KeyMetadata();  // stops and joins the thread
  KeyMetadata(const KeyMetadata&) = delete;
  KeyMetadata& operator=(const KeyMetadata&) = delete;

  // Lists the scope now (locker I/O on the calling thread). On failure the
  // previous rows stay and the error is recorded in the snapshot. A server
  // thread lists within one call budget (waiting for a listing already
  // under way included); the background thread bounds each request.
  Status Refresh(Sweep how = Sweep::kOneBudget);
  // SHOW STATUS is showing the rows: from now on, snapshots read the
  // records of versions not read yet (in the background; never blocks).
  void Shown();
  // Asks the background thread for a refresh; never blocks on the locker.
  void RequestRefresh();
  // For a server thread after a change (start, SET GLOBAL): Refresh within
  // what is left of the caller's budget, with no I/O and the snapshot left
  // as it is when nothing is left; whenever it does not succeed the
  // background thread is asked to list instead. DEADLINE_EXCEEDED means the
  // budget did not cover the listing (expected for a large scope); callers
  // only decide what to log.
  Status RefreshOrHandOver();
  std::shared_ptr<const KeyMetadataSnapshot> Current() const;

 private:
  void Loop();

  KeyService* keys_;
  const std::string locker_description_;
  const std::chrono::seconds interval_;

  std::timed_mutex refresh_mu_;  // one listing at a time, so snapshots never go back in time
  mutable std::mutex mu_;  // current_, requested_, stop_
  std::condition_variable cv_;
  std::shared_ptr<const KeyMetadataSnapshot> current_;
  bool requested_ = false;
  std::atomic<bool> read_details_{false};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace keyring_locker::mariadb
