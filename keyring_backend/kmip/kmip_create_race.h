// Create-only over KMIP: KMIP does not make Names unique (two servers may
// register the same key version at once, and PyKMIP keeps both), so the key
// store decides who created (name, version) with this protocol. Every
// creator:
//   1. registers (or creates) its object Pre-Active under the Name;
//   2. Locates every object with that Name, in any state, and reads the
//      State and Initial Date of the others (and its own Initial Date);
//   3. loses if another one is Active, or if a live (Pre-Active) other is
//      *senior*: seniority is the total order (Initial Date, then Unique
//      Identifier: numeric when both are decimal, else byte order) that
//      every creator computes alike from values that never change;
//   4. otherwise destroys every live other it saw (all junior to it) and
//      then activates its own; a Destroy refused because the other is
//      Active by now means that one won: lose.
// A loser destroys its own Pre-Active object (only its creator would ever
// activate it) and reports ALREADY_EXISTS, but only once the winner's
// object is Active, so that the loser (and the envelope and KeyService
// above it, which read the winner's version next) sees the key it lost to:
// while a senior object is still Pre-Active its writer is about to activate
// it, and we poll (Locate again) until it is, it disappears (then we look
// again, and may win), or the call's deadline comes (UNAVAILABLE: try
// again). Readers use Active objects only.
//
// Why at most one object per Name becomes Active: take two creators whose
// objects x (senior) and y (junior) both got activated. y's creator
// located after registering y. If x was registered before that Locate, y's
// creator saw x, Pre-Active (lose: senior) or Active (lose). If x was
// registered after it, x's creator located later still and saw y, junior,
// so it destroyed y before activating x: either the Destroy came first and
// y's Activate found nothing, or y was Active first and the Destroy was
// refused, so x's creator lost. Either way not both. This needs only that
// the server is linearizable for Register/Locate/Activate/Destroy and that
// it refuses to Destroy an Active object (KMIP's state machine has no
// Active -> Destroyed transition; PyKMIP answers Permission Denied). It
// needs no clock agreement: Initial Dates are only compared as fixed
// per-object values, and a tie at second resolution falls to the
// identifier. Nobody waits.
//
// Liveness: the most senior live object's creator wins unless it dies
// between Register and Activate. Such an abandoned Pre-Active object would
// make every later creator lose, so a senior Pre-Active object is cleared
// like a junior one (Destroy, which fails if it became Active) when its
// create call was made by this very store and has ended (recognised by the
// attempt id in its metadata: e.g. a Register whose answer was lost), or
// when it is `abandoned_after` older, by server Initial Date, than our own
// object. Clearing never risks safety: the
// Destroy is the same compare-and-swap as above, and a slow creator whose
// object was cleared just loses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "keyring_backend/kmip/kmip_client.h"

namespace keyring_locker::kmip {

// One object under the contested Name, as Locate and Get Attributes showed it.
struct Contender {
  std::string uid;
  uint32_t state = 0;
  int64_t initial_date = 0;
  std::string attempt;  // the create call that wrote it (metadata); may be empty
};

// Byte order unless both are canonical decimal numbers (PyKMIP's "9" < "10").
bool UidBefore(const std::string& a, const std::string& b);
// (Initial Date, Unique Identifier) order: `a` was there first.
bool Senior(const Contender& a, const Contender& b);

struct RacePolicy {
  std::chrono::seconds abandoned_after{60};
  // True for an attempt this store made whose create call has ended.
  std::function<bool(const std::string& attempt)> finished_here;
};

struct RaceDecision {
  bool lose = false;
  bool wait = false;                 // lose to a senior still Pre-Active: wait until it is Active
  std::string why;                   // for messages: who won, or holds the Name
  std::vector<std::string> destroy;  // live Pre-Active others, cleared before Activate
};

// Step 3 as a pure function (unit-tested without a server).
RaceDecision DecideRace(const Contender& self, const std::vector<Contender>& others, const RacePolicy& policy);

// Attempt ids: "<random tag of this store>-<counter>", and which are still running.
class CreateAttempts {
 public:
  CreateAttempts();
  std::string Begin();
  void End(const std::string& attempt);
  bool FinishedHere(const std::string& attempt) const;

 private:
  std::string tag_;
  mutable std::mutex mu_;
  uint64_t next_ = 0;                // guarded by mu_
  std::set<std::string> running_;    // guarded by mu_
};

enum class RaceOutcome { kWon, kLost };

struct RaceRequest {
  std::string object_name;  // the contested Name
  std::string own_uid;      // our object, just registered Pre-Active
  // The attempt id of an object, from its Get Attributes answer.
  std::function<std::string(const ObjectAttributes&)> attempt_of;
  // Runs once we have won, before Activate (CreateGenerated reads its key).
  std::function<Status()> before_activate;
  std::chrono::milliseconds max_wait{10000};
};

// Steps 2-4. kLost: another object holds the Name, Active. An error leaves
// our object Pre-Active (never served). Waits (see above) end at the
// call's OperationDeadline, or after `max_wait` without one.
StatusOr<RaceOutcome> RunCreateRace(KmipClient& client, const RaceRequest& request, const RacePolicy& policy,
                                    std::string* why);

}  // namespace keyring_locker::kmip
