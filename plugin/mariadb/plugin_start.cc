#include "plugin/mariadb/plugin_start.h"

#include <algorithm>

#include "common/crash_point.h"
#include "keyring_backend/http/operation_deadline.h"
#include "keyring_backend/http/parallel_requests.h"
#include "plugin/mariadb/datadir_marker.h"
#include "plugin/mariadb/local_files.h"

namespace keyring_locker::mariadb {
namespace {

// Binds the datadir to the scope (datadir_marker.h), decides which key ids
// the plugin may create (create_policy.h: the marker records whether this
// datadir was a new installation) and makes sure keys 1 and 2 exist.
Status BindDatadir(Backend& backend, const StartOptions& options, CreatePolicyChoice* choice) {
  ScopeIdentity id = ScopeIdentity::From(backend.keys().Identity());
  const std::string& marker = options.datadir_marker;
  auto names = backend.keys().ListNames();
  if (!names.ok()) return names.status().Annotate("listing the keys of " + id.Describe());
  bool write_marker = false;
  std::string recorded;
  RETURN_IF_ERROR(CheckMarker(marker, id, !names->empty(), &write_marker, &recorded));
  // Keys 1 and 2 alone are what a first start that stopped before writing
  // its marker leaves behind: still a new installation.
  const bool other_keys = std::any_of(names->begin(), names->end(),
                                      [](const std::string& n) { return n != "1" && n != "2"; });
  const bool new_installation = write_marker && !other_keys;
  ASSIGN_OR_RETURN(*choice, ChooseCreatePolicy({options.create_keys, recorded, write_marker, other_keys}));
  // Key 1 encrypts system data (redo, binlog, Aria), key 2 temporary data;
  // InnoDB asks for both right after plugin init.
  for (unsigned key_id : {1u, 2u}) {
    const std::string name = std::to_string(key_id);
    const bool listed = std::find(names->begin(), names->end(), name) != names->end();
    if (listed) continue;
    if (!choice->policy.Allows(key_id)) {
      return FailedPrecondition("key " + name + " (MariaDB's " + (key_id == 1 ? "system data" : "temporary data") +
                                " key) is not in the locker and keyring_locker_create_keys=" +
                                choice->policy.Describe() + " does not allow creating it; create it with "
                                "'keyring-locker --config FILE ensure " + name + "' or allow ids 1-2");
    }
    auto v = backend.keys().EnsureKey(name);
    if (!v.ok()) return v.status().Annotate("creating key " + name);
    options.log_note("created key " + name + " version " + std::to_string(*v) +
                     " in the locker: created at the server's start (MariaDB needs keys 1 and 2)");
  }
  if (write_marker) {
    if (new_installation) id.create_keys_default = kServerKeyIds;
    CrashPoint("bind.before_marker");
    RETURN_IF_ERROR(WriteMarker(marker, id));
    CrashPoint("marker.after_rename");
    options.log_note("bound this datadir to " + id.Describe() + " (" + marker + " written)");
  }
  return Status::Ok();
}

Status Refusal(const Status& s, const std::string& what) {
  return Status(s.code(), "refusing to start: " + what + s.ToString());
}

}  // namespace

StatusOr<StartedKeys> StartKeys(const Config& config, const StartOptions& options) {
  StartedKeys out;
  auto backend = Backend::Open(config, /*require_locker=*/true, /*read_versions=*/false);
  if (!backend.ok()) {
    return Status(backend.status().code(), LockerStartFailure(backend.status(), options.backup_tool ? kRetryBackup : kRetryServer));
  }
  for (const auto& w : (*backend)->warnings()) options.log_warning(w);
  (*backend)->keys().SetRecoveryObserver(options.log_note);
  out.creating.policy = CreatePolicy::Off();
  if (!options.backup_tool) {
    Status bound = BindDatadir(**backend, options, &out.creating);
    if (!bound.ok()) return Refusal(bound, "");
  }
  out.backend = std::move(*backend);
  KeyGateOptions gate;
  gate.create_missing = !options.backup_tool;
  gate.create_policy = out.creating.policy;
  gate.create_max = options.create_keys_max;
  gate.log_created = options.log_note;
  gate.client_warning = options.client_warning;
  gate.on_new_version = options.on_new_version;
  out.gate = std::make_unique<KeyGate>(&out.backend->keys(), gate, options.log_error);
  // Fetch (and unwrap) keys 1 and 2 now: InnoDB needs them right after
  // init, and a missing Transit decrypt right or a flaky network should
  // stop the start here, with the reason, not fail a page write later.
  if (!options.backup_tool) {
    for (unsigned id : {1u, 2u}) {
      if (out.gate->LatestVersion(id) == kKeyVersionInvalid) {
        return Unavailable("refusing to start: key " + std::to_string(id) +
                           " cannot be read from the locker (the reason is logged above)");
      }
    }
  }
  const Status versions = out.backend->keys().RefreshVersions(Sweep::kPerRequest);  // bounded by the caller's
  const bool versions_cut = versions.code() == Code::kDeadlineExceeded;
  if (versions_cut) {
    options.log_warning(
        "the latest versions of this scope's keys were not all read within the start's budget "
        "(timeouts.total_ms=" + std::to_string(config.call_budget().count()) + "); the server "
        "starts anyway: the background thread reads them now, and until then the first use of a key "
        "not read yet asks the locker within one budget. Nothing to fix unless key lookups time out "
        "too (then check the locker's speed). Cause: " + versions.ToString());
    out.backend->keys().RefreshSoon();
  } else if (!versions.ok()) {
    return Refusal(versions, "reading the latest versions of the scope's keys failed: ");
  }
  // InnoDB asks for the latest version of every key as it opens the
  // tables: fetch them now, in parallel, unwrapped in batches (one Transit
  // request per 100 keys instead of one per key). In what is left of the
  // start's budget; what does not fit is fetched on first use.
  if (!versions_cut) {
    auto warmed = out.backend->keys().WarmLatest(kDefaultRequestsInFlight);
    if (!warmed.ok() && warmed.status().code() != Code::kDeadlineExceeded) {
      options.log_warning("the latest key versions could not be fetched ahead of use (" + warmed.status().ToString() +
                          "); each is fetched on first use instead");
    }
  }
  if (!options.backup_tool) {
    out.metadata = std::make_unique<KeyMetadata>(&out.backend->keys(), out.backend->Describe(),
                                                 out.backend->config().cache.version_refresh);
    // From what the start read already: no request (key_metadata.h).
    Status listed = out.metadata->RefreshOrHandOver();
    if (!listed.ok() && listed.code() != Code::kDeadlineExceeded) {
      options.log_warning("key metadata for SHOW STATUS LIKE 'keyring_locker_key\\_%' could not be listed: " +
                          listed.ToString() + "; keys are served normally and the background thread lists them "
                          "now and every keyring_locker_version_refresh_s seconds");
    }
  }
  return out;
}

}  // namespace keyring_locker::mariadb
