#include "keyring_backend/kmip/kmip_create_race.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "common/crash_point.h"
#include "common/printable.h"
#include "crypto/crypto.h"
#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker::kmip {
namespace {

bool CanonicalDecimal(const std::string& s) {
  if (s.empty() || s.size() > 30 || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool Live(uint32_t state) { return state == enums::kStatePreActive || state == enums::kStateActive; }

std::string Object(const std::string& uid) { return "object " + Printable(uid, 80); }

const std::vector<std::string> kRaceAttributes = {attr::kState, attr::kInitialDate,
                                                  attr::kApplicationSpecificInformation};

}  // namespace

bool UidBefore(const std::string& a, const std::string& b) {
  const bool da = CanonicalDecimal(a), db = CanonicalDecimal(b);
  if (da && db) return a.size() != b.size() ? a.size() < b.size() : a < b;
  if (da != db) return da;  // decimal ones first: any fixed rule will do, as long as it is total
  return a < b;
}

bool Senior(const Contender& a, const Contender& b) {
  if (a.initial_date != b.initial_date) return a.initial_date < b.initial_date;
  return UidBefore(a.uid, b.uid);
}

RaceDecision DecideRace(const Contender& self, const std::vector<Contender>& others, const RacePolicy& policy) {
  RaceDecision d;
  for (const Contender& o : others) {
    if (o.state == enums::kStateActive) {
      d.lose = true;
      d.why = Object(o.uid) + " is Active already";
      d.destroy.clear();
      return d;
    }
  }
  for (const Contender& o : others) {
    if (!Live(o.state)) continue;  // revoked, destroyed: can never become Active again
    if (Senior(o, self)) {
      const bool ours_and_over = !o.attempt.empty() && policy.finished_here && policy.finished_here(o.attempt);
      const bool stale = self.initial_date - o.initial_date >= policy.abandoned_after.count();
      if (!ours_and_over && !stale) {
        d.lose = true;
        d.wait = true;
        d.why = Object(o.uid) + " was registered first and is being activated by its writer";
        d.destroy.clear();
        return d;
      }
    }
    d.destroy.push_back(o.uid);
  }
  return d;
}

CreateAttempts::CreateAttempts() {
  // Only liveness depends on the tag (recognising our own abandoned
  // objects), never safety: should random bytes fail, zeros will do.
  uint8_t bytes[6] = {};
  (void)crypto::RandomBytes(bytes, sizeof bytes);
  tag_ = crypto::HexEncode(bytes, sizeof bytes);
}

std::string CreateAttempts::Begin() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string attempt = tag_ + "-" + std::to_string(++next_);
  running_.insert(attempt);
  return attempt;
}

void CreateAttempts::End(const std::string& attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(attempt);
}

bool CreateAttempts::FinishedHere(const std::string& attempt) const {
  const std::string mine = tag_ + "-";
  if (attempt.size() <= mine.size() || attempt.compare(0, mine.size(), mine) != 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return running_.count(attempt) == 0;
}

namespace {

StatusOr<Contender> ReadContender(KmipClient& client, const RaceRequest& request, const std::string& uid) {
  ASSIGN_OR_RETURN(ObjectAttributes a, client.GetAttributes(uid, kRaceAttributes));
  if (!a.state || !a.initial_date) {
    return FailedPrecondition("the KMIP server did not report the State and Initial Date of " + Object(uid) +
                              " named " + Printable(request.object_name, 200) +
                              "; keyring_locker needs both to decide which writer created a key");
  }
  Contender c;
  c.uid = uid;
  c.state = *a.state;
  c.initial_date = *a.initial_date;
  if (request.attempt_of) c.attempt = request.attempt_of(a);
  return c;
}

// Our object leaves the race: best effort, it is never served anyway.
void Withdraw(KmipClient& client, const std::string& uid) { (void)client.Destroy(uid); }

// The state of `uid` now; nullopt when the object is gone.
StatusOr<std::optional<uint32_t>> StateOf(KmipClient& client, const std::string& uid) {
  auto a = client.GetAttributes(uid, {attr::kState});
  if (!a.ok()) {
    if (a.status().code() == Code::kNotFound) return std::optional<uint32_t>();
    return a.status();
  }
  if (!a->state) return FailedPrecondition("the KMIP server did not report the State of " + Object(uid));
  return std::optional<uint32_t>(*a->state);
}

using Clock = std::chrono::steady_clock;

// What one look at the Name shows.
struct RaceView {
  bool own_present = false;
  Contender self;
  std::vector<Contender> others;
};

StatusOr<RaceView> Look(KmipClient& client, const RaceRequest& request) {
  LocateQuery query;
  query.object_type.reset();
  query.name = request.object_name;
  ASSIGN_OR_RETURN(std::vector<std::string> uids, client.Locate(query));
  RaceView view;
  view.own_present = std::find(uids.begin(), uids.end(), request.own_uid) != uids.end();
  if (!view.own_present) return view;
  for (const std::string& uid : uids) {
    if (uid == request.own_uid) continue;
    StatusOr<Contender> c = ReadContender(client, request, uid);
    if (!c.ok() && c.status().code() == Code::kNotFound) continue;  // destroyed since the Locate
    if (!c.ok()) return c.status();
    view.others.push_back(std::move(c).value());
  }
  view.self.uid = request.own_uid;
  view.self.state = enums::kStatePreActive;
  const bool contested =
      std::any_of(view.others.begin(), view.others.end(), [](const Contender& c) { return Live(c.state); });
  if (contested) {  // only then does our own Initial Date matter
    StatusOr<Contender> own = ReadContender(client, request, request.own_uid);
    if (!own.ok() && own.status().code() == Code::kNotFound) {
      view.own_present = false;
      return view;
    }
    if (!own.ok()) return own.status();
    view.self = std::move(own).value();
  }
  return view;
}

// Sleeps before the next look; false when the wait would pass `limit`.
bool PauseBefore(Clock::time_point limit, std::chrono::milliseconds* pause) {
  if (Clock::now() + *pause >= limit) return false;
  std::this_thread::sleep_for(*pause);
  *pause = std::min(*pause * 2, std::chrono::milliseconds(200));
  return true;
}

Status StillBeingCreated(const RaceRequest& request) {
  return Unavailable("KMIP object " + Printable(request.object_name, 200) +
                     " is being created by another writer, which did not activate it within this call's time; "
                     "try again");
}

// Our object was cleared by a senior writer: lost, once its object is Active.
StatusOr<RaceOutcome> AwaitWinner(KmipClient& client, const RaceRequest& request, Clock::time_point limit,
                                  std::chrono::milliseconds pause) {
  LocateQuery query;
  query.object_type.reset();
  query.name = request.object_name;
  query.state = enums::kStateActive;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<std::string> active, client.Locate(query));
    if (!active.empty()) return RaceOutcome::kLost;
    if (!PauseBefore(limit, &pause)) return StillBeingCreated(request);
  }
}

}  // namespace

StatusOr<RaceOutcome> RunCreateRace(KmipClient& client, const RaceRequest& request, const RacePolicy& policy,
                                    std::string* why) {
  const std::optional<Clock::time_point> deadline = OperationDeadline::Current();
  const Clock::time_point limit = deadline ? *deadline : Clock::now() + request.max_wait;
  std::chrono::milliseconds pause{10};
  const std::string cleared = "our object was cleared by a writer that registered first";
  RaceDecision d;
  while (true) {
    ASSIGN_OR_RETURN(RaceView view, Look(client, request));
    if (!view.own_present) {
      *why = cleared;
      return AwaitWinner(client, request, limit, pause);
    }
    d = DecideRace(view.self, view.others, policy);
    if (!d.lose) break;
    *why = d.why;
    if (!d.wait) {
      Withdraw(client, request.own_uid);
      return RaceOutcome::kLost;
    }
    // A senior object still Pre-Active: its writer is about to activate it.
    if (!PauseBefore(limit, &pause)) {
      Withdraw(client, request.own_uid);
      return StillBeingCreated(request);
    }
  }
  for (const std::string& uid : d.destroy) {
    Status destroyed = client.Destroy(uid);
    if (destroyed.ok() || destroyed.code() == Code::kNotFound) continue;
    // Refused (Active by now?) or unknown: the state says which.
    ASSIGN_OR_RETURN(std::optional<uint32_t> state, StateOf(client, uid));
    if (!state || !Live(*state)) continue;
    if (*state == enums::kStateActive) {
      Withdraw(client, request.own_uid);
      *why = Object(uid) + " was activated by its writer first";
      return RaceOutcome::kLost;
    }
    return destroyed.Annotate("clearing competing Pre-Active " + Object(uid) + " named " +
                              Printable(request.object_name, 200));
  }
  if (request.before_activate) RETURN_IF_ERROR(request.before_activate());
  // Won, not yet Active: a kill here leaves a Pre-Active object that only
  // the clearing above removes (docs/crash-safety.md).
  CrashPoint("kmip.before_activate");
  Status activated = client.Activate(request.own_uid);
  if (activated.ok()) return RaceOutcome::kWon;
  // Cleared by a senior writer meanwhile, or our own Activate landed and
  // only its answer was lost: the state says which.
  ASSIGN_OR_RETURN(std::optional<uint32_t> state, StateOf(client, request.own_uid));
  if (!state) {
    *why = cleared;
    return AwaitWinner(client, request, limit, pause);
  }
  if (*state == enums::kStateActive) return RaceOutcome::kWon;
  return activated.Annotate("activating " + Object(request.own_uid) + " named " + Printable(request.object_name, 200));
}

}  // namespace keyring_locker::kmip
