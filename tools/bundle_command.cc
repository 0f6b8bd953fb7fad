// export / restore: a scope's wrapped key records in one bundle file
// (tools/bundle_file.h), and their restore into an empty scope: disaster
// recovery of the locker itself (a lost KV mount, a rebuilt Vault, a KMIP
// server restored without its objects). The bundle holds ciphertext only;
// the wrapper's key-encryption key (Transit key, KMIP KEK, cloud KMS key) is
// backed up by the locker's own means (docs/security.md).
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/printable.h"
#include "common/rfc3339.h"
#include "keyring_backend/audit/audit_log.h"
#include "keyring_backend/wrapper/no_wrapper.h"
#include "tools/bundle_file.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/scope_keys.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

std::string KeyLabel(const std::string& name, uint32_t version) {
  return Printable(name, 100) + " v" + std::to_string(version);
}

// ---- export ---------------------------------------------------------------

StatusOr<Bundle> ReadBundleFromScope(const Cli& cli, Backend& b) {
  if (b.store().ProtectsPlaintext() && b.wrapper().Id() == NoWrapper::kId) {
    return FailedPrecondition(
        "this scope's keys are held unwrapped by " + b.store().Describe() +
        " (store kmip, wrapper none); a bundle holds ciphertext only. Back up the KMIP server with its own "
        "tools, or copy the scope to another locker with 'keyring-locker migrate'");
  }
  ASSIGN_OR_RETURN(std::vector<ScopeVersion> versions, ListScopeVersions(b.store()));
  if (versions.empty()) {
    // Written anyway (a scope may really be empty), but most often the
    // config names another scope than the servers use.
    std::fprintf(stderr,
                 "keyring-locker: WARNING: export: scope %s holds no keys; check keys.prefix and keys.scope against "
                 "the servers' config\n",
                 ScopeOf(b.config()).c_str());
  }
  Bundle bundle;
  bundle.scope = ScopeOf(b.config());
  bundle.store = b.store().Describe();
  bundle.store_identity = b.store().Identity().fields;
  bundle.wrapper = b.wrapper().Id();
  bundle.wrapper_describe = b.wrapper().Describe();
  bundle.exported_at = NowRfc3339();
  bundle.exported_by = DefaultAuditActor();
  bundle.entries.resize(versions.size());

  Progress progress("key versions", versions.size() * 2, Progress::Wanted(cli.json));
  Envelope envelope = ScopeEnvelope(b);
  std::mutex mu;
  Status first_error;
  std::vector<std::string> damaged;
  ForEachInParallel(versions.size(), kDefaultRequestsInFlight, [&](size_t i) {
    const ScopeVersion& v = versions[i];
    BundleEntry& e = bundle.entries[i];
    e.name = v.name;
    e.version = v.entry.version;
    Status s;
    if (v.entry.has_record) {
      auto r = b.store().Read(v.name, v.entry.version);
      if (r.ok()) s = envelope.CheckRecord(*r, v.name, v.entry.version);
      if (!r.ok()) s = r.status();
      if (s.ok() && !r->plaintext.empty()) {
        s = FailedPrecondition(b.store().RecordName(v.name, v.entry.version) +
                               " holds its key unwrapped; a bundle holds ciphertext only");
      }
      if (s.ok()) {
        e.has_record = true;
        e.record = std::move(r).value();
      }
    }
    if (s.ok() && v.entry.deleted) {
      auto m = b.store().ReadMarker(v.name, v.entry.version);
      if (m.ok()) {
        e.deleted = true;
        e.marker = std::move(m).value();
      } else {
        s = m.status().Annotate("reading the deletion marker of key " + KeyLabel(v.name, v.entry.version));
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    progress.Step();
    if (s.code() == Code::kDataLoss) {
      damaged.push_back(KeyLabel(v.name, v.entry.version) + ": " + s.message());
    } else if (!s.ok() && first_error.ok()) {
      first_error = s.Annotate("exporting key " + KeyLabel(v.name, v.entry.version));
    }
  });
  RETURN_IF_ERROR(first_error);
  if (!damaged.empty()) {
    for (const auto& d : damaged) std::fprintf(stderr, "damaged: %s\n", Printable(d, 1000).c_str());
    return DataLoss(std::to_string(damaged.size()) +
                    " key record(s) are damaged (listed above); a bundle must restore every key it lists. Restore "
                    "them from the locker's own backup or KV history, then export again");
  }
  // Fingerprints of the unwrapped keys, so a restore can prove it brought
  // back the same keys (and so a record that no longer unwraps is found now,
  // not on the day the bundle is needed).
  std::vector<KeyToOpen> keys;
  std::vector<size_t> where;
  for (size_t i = 0; i < bundle.entries.size(); ++i) {
    if (!bundle.entries[i].has_record) continue;
    keys.push_back({bundle.entries[i].name, bundle.entries[i].version});
    where.push_back(i);
  }
  std::vector<StatusOr<std::string>> fps = FingerprintKeys(envelope, keys, [&] { progress.Step(); });
  for (size_t k = 0; k < fps.size(); ++k) {
    if (!fps[k].ok()) {
      return fps[k].status().Annotate("unwrapping key " + KeyLabel(keys[k].name, keys[k].version) +
                                      " for its fingerprint; nothing was written");
    }
    bundle.entries[where[k]].fingerprint = *fps[k];
  }
  return bundle;
}

int Export(const Cli& cli, const std::string& path) {
  // Before the locker is asked anything: a long export must not end in
  // "file exists".
  Status fresh = CheckNewFile(path);
  if (!fresh.ok()) return Fail(cli, fresh);
  auto backend = OpenBackend(cli, "export");
  if (!backend.ok()) return Fail(cli, backend.status());
  auto bundle = ReadBundleFromScope(cli, **backend);
  if (!bundle.ok()) return Fail(cli, bundle.status().Annotate("export"));
  auto text = EncodeBundle(*bundle);
  if (!text.ok()) return Fail(cli, text.status());
  Status written = WriteNewFile(path, *text);
  if (!written.ok()) return Fail(cli, written);
  size_t live = 0, deleted = 0, purged = 0;
  for (const auto& e : bundle->entries) {
    const std::string state = e.State();
    live += state == "live";
    deleted += state == "deleted";
    purged += state == "purged";
  }
  if (cli.json) {
    PrintJson({{"bundle", path},
               {"scope", bundle->scope},
               {"wrapper", bundle->wrapper},
               {"key_versions", bundle->entries.size()},
               {"live", live},
               {"deleted", deleted},
               {"purged", purged}});
  } else {
    std::printf("exported %zu key version(s) of scope %s (%zu live, %zu soft-deleted, %zu purged) to %s\n",
                bundle->entries.size(), bundle->scope.c_str(), live, deleted, purged, path.c_str());
    std::printf("the bundle holds wrapped keys only: restoring it needs the wrapper's key (%s)\n",
                bundle->wrapper.c_str());
  }
  return kExitOk;
}

// ---- restore --------------------------------------------------------------

struct RestoreOptions {
  bool apply = false;
  bool allow_other_scope = false;
};

struct RestoreItem {
  const BundleEntry* entry = nullptr;
  bool skip = false;
  bool write_marker = false;
  bool write_record = false;
  bool resumed = false;  // part or all of it is there from an interrupted restore of this bundle
  std::string result;    // "would write", "restored", "already restored", "skipped", "FAIL"
  std::string error;
};

// The scope must be empty; or hold only what this very bundle put there (a
// restore that was interrupted: wrapping is randomised, so an identical
// ciphertext can only have come from the bundle). Anything else: refused.
Status CheckTargetScope(Backend& b, std::vector<RestoreItem>* items) {
  ASSIGN_OR_RETURN(std::vector<ScopeVersion> existing, ListScopeVersions(b.store()));
  if (existing.empty()) return Status::Ok();
  std::map<std::pair<std::string, uint32_t>, RestoreItem*> by_key;
  for (auto& item : *items) by_key[{item.entry->name, item.entry->version}] = &item;
  std::set<std::string> names;
  for (const auto& v : existing) names.insert(v.name);
  for (const auto& v : existing) {
    auto it = by_key.find({v.name, v.entry.version});
    const BundleEntry* e = it == by_key.end() || it->second->skip ? nullptr : it->second->entry;
    bool ours = e != nullptr && (!v.entry.has_record || e->has_record) && (!v.entry.deleted || e->deleted);
    if (ours && v.entry.has_record) {
      auto r = b.store().Read(v.name, v.entry.version);
      ours = r.ok() && r->wrapped == e->record.wrapped;
    }
    if (!ours) {
      return FailedPrecondition(
          "the target scope " + ScopeOf(b.config()) + " already holds " + std::to_string(names.size()) +
          " key name(s) (e.g. key " + KeyLabel(v.name, v.entry.version) +
          ", which this bundle did not write); restore writes only into an empty scope (disaster recovery of the "
          "locker itself) and never over a key. To bring back one deleted version use 'keyring-locker undelete "
          "NAME VERSION'; to copy keys between lockers use 'keyring-locker migrate'");
    }
  }
  // Everything there is this bundle's: finish the interrupted restore.
  for (const auto& v : existing) {
    RestoreItem* item = by_key[{v.name, v.entry.version}];
    item->resumed = true;
    if (v.entry.has_record) item->write_record = false;
    if (v.entry.deleted) item->write_marker = false;
  }
  return Status::Ok();
}

int Restore(const Cli& cli, const std::vector<std::string>& args, const RestoreOptions& options) {
  if (args.size() == 2 && !args[1].empty() &&
      args[1].find_first_not_of("0123456789") == std::string::npos) {
    std::fprintf(stderr,
                 "keyring-locker: restore takes a bundle file; to undelete a key use 'keyring-locker undelete "
                 "NAME VERSION'\n");
    return kExitUsage;
  }
  if (args.size() != 1) {
    std::fprintf(stderr, "keyring-locker: restore takes one argument, the bundle file 'export' wrote\n");
    return kExitUsage;
  }
  const std::string& path = args[0];
  // The whole bundle is checked before the locker is asked anything.
  auto text = ReadBundleText(path);
  if (!text.ok()) return Fail(cli, text.status());
  auto bundle = DecodeBundle(*text, path);
  if (!bundle.ok()) return Fail(cli, bundle.status());

  auto backend = OpenBackend(cli, "restore");
  if (!backend.ok()) return Fail(cli, backend.status());
  Backend& b = **backend;
  const std::string target_scope = ScopeOf(b.config());
  const bool other_scope = bundle->scope != target_scope;
  if (other_scope && !options.allow_other_scope) {
    return Fail(cli, FailedPrecondition(
                         path + " holds scope " + bundle->scope + ", but the config's scope is " + target_scope +
                         ". Every bound record (format keyring_locker/2) names its scope inside the wrapped key, "
                         "so it unwraps only in " + bundle->scope +
                         ": set keys.prefix and keys.scope to that scope. --allow-other-scope restores only the "
                         "records written before key binding and skips the rest"));
  }
  if (b.store().ProtectsPlaintext() && b.wrapper().Id() == NoWrapper::kId) {
    return Fail(cli, FailedPrecondition("the config's wrapper is none: " + b.store().Describe() +
                                        " would get wrapped records it cannot open. Configure the wrapper " +
                                        bundle->wrapper + " (the one that wrapped the bundle)"));
  }

  // Every record passes the target's own checks (wrapper, format, type and
  // length rules) before anything is written.
  Envelope envelope = ScopeEnvelope(b);
  std::vector<RestoreItem> items(bundle->entries.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const BundleEntry& e = bundle->entries[i];
    items[i].entry = &e;
    items[i].write_marker = e.deleted;
    items[i].write_record = e.has_record;
    if (other_scope && e.has_record && e.record.format != Envelope::kUnboundFormat) {
      items[i].skip = true;
      items[i].write_marker = items[i].write_record = false;
      items[i].result = "skipped";
      items[i].error = "bound to scope " + bundle->scope + "; it would not unwrap in " + target_scope;
      continue;
    }
    if (!e.has_record) continue;
    Status s = envelope.CheckRecord(e.record, e.name, e.version);
    if (!s.ok()) {
      return Fail(cli, s.Annotate(path + ": key " + KeyLabel(e.name, e.version) +
                                  " cannot be restored into this config; nothing was written"));
    }
  }
  Status target = CheckTargetScope(b, &items);
  if (!target.ok()) return Fail(cli, target);

  Progress progress("key versions", items.size() * (options.apply ? 2 : 1), Progress::Wanted(cli.json));
  // Items are written side by side where the locker allows it (a directory
  // store fsyncs every file; Vault answers each in a round trip).
  std::mutex mu;
  ForEachInParallel(items.size(), WritesInFlight(b), [&](size_t i) {
    RestoreItem& item = items[i];
    const BundleEntry& e = *item.entry;
    const bool nothing_to_write = !item.write_marker && !item.write_record;
    Status s;
    if (!item.skip && options.apply) {
      // The marker first: a restore cut between the two leaves a deleted
      // key looking purged, never live.
      if (item.write_marker) s = b.store().MarkDeleted(e.marker);
      if (s.ok() && item.write_record) {
        KeyRecord r;
        r.name = e.name;
        r.version = e.version;
        r.format = e.record.format;
        r.type = e.record.type;
        r.length = e.record.length;
        r.wrapper = e.record.wrapper;
        r.wrapped = e.record.wrapped;
        r.created = e.record.created;
        r.creator = e.record.creator;
        r.origin = e.record.origin;
        s = b.store().Create(r);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    progress.Step();
    if (item.skip) return;
    if (!options.apply) {
      item.result = nothing_to_write ? "already restored" : "would write";
    } else if (!s.ok()) {
      item.result = "FAIL";
      item.error = s.ToString();
    } else {
      item.result = nothing_to_write ? "already restored" : "restored";
    }
  });
  std::vector<KeyToOpen> to_verify;
  std::vector<size_t> verify_index;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].result == "FAIL" || items[i].skip || !options.apply || !items[i].entry->has_record) continue;
    to_verify.push_back({items[i].entry->name, items[i].entry->version});
    verify_index.push_back(i);
  }
  // Read back from the locker, unwrapped with the target's wrapper and
  // compared with the fingerprint taken at export.
  std::vector<StatusOr<std::string>> fps = FingerprintKeys(envelope, to_verify, [&] { progress.Step(); });
  for (size_t k = 0; k < fps.size(); ++k) {
    RestoreItem& item = items[verify_index[k]];
    if (!fps[k].ok()) {
      item.result = "FAIL";
      item.error = "written, but reading it back failed: " + fps[k].status().ToString();
    } else if (*fps[k] != item.entry->fingerprint) {
      item.result = "FAIL";
      item.error = "written, but its fingerprint is " + *fps[k] + ", the bundle says " + item.entry->fingerprint;
    }
  }

  size_t failed = 0, written = 0, skipped = 0, present = 0;
  json rows = json::array();
  for (const auto& item : items) {
    failed += item.result == "FAIL";
    written += item.result == "restored" || item.result == "would write";
    skipped += item.result == "skipped";
    present += item.result == "already restored";
    const BundleEntry& e = *item.entry;
    if (cli.json) {
      rows.push_back({{"name", e.name},
                      {"version", e.version},
                      {"state", e.State()},
                      {"fingerprint", e.fingerprint},
                      {"result", item.result},
                      {"error", item.error}});
    } else {
      std::printf("%-16s %s (%s)%s%s%s%s\n", item.result.c_str(), KeyLabel(e.name, e.version).c_str(),
                  e.State().c_str(), e.fingerprint.empty() ? "" : " fingerprint ", e.fingerprint.c_str(),
                  item.error.empty() ? "" : ": ", Printable(item.error, 1000).c_str());
    }
  }
  if (cli.json) {
    PrintJson({{"bundle", path},
               {"scope", bundle->scope},
               {"target", b.Describe()},
               {"applied", options.apply},
               {"key_versions", items.size()},
               {"written", written},
               {"skipped", skipped},
               {"already_restored", present},
               {"failed", failed},
               {"items", rows}});
  } else if (!options.apply) {
    std::printf("dry run: nothing written; %zu key version(s) of scope %s would be restored into %s (%zu there "
                "already, %zu skipped). Run again with --apply to write them\n",
                written, bundle->scope.c_str(), b.Describe().c_str(), present, skipped);
  } else {
    std::printf("restored %zu key version(s) of scope %s into %s (%zu there already), each read back and its "
                "fingerprint checked; %zu failed, %zu skipped\n",
                written, bundle->scope.c_str(), b.Describe().c_str(), present, failed, skipped);
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void AddBundleCommands(Cli& cli) {
  auto path = std::make_shared<std::string>();
  CLI::App* exp = cli.AddCommand(
      "export", "write the scope's wrapped key records and a manifest to a new bundle\nfile (ciphertext only, for disaster recovery of the locker)",
      [&cli, path] { return Export(cli, *path); });
  exp->add_option("BUNDLE", *path, "the bundle file to create (mode 0600; never replaces a file)")->required();

  auto args = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<RestoreOptions>();
  CLI::App* res = cli.AddCommand(
      "restore",
      "restore a bundle into an EMPTY scope; dry run unless --apply. To undelete\n"
      "one key version use 'undelete NAME VERSION'",
      [&cli, args, options] { return Restore(cli, *args, *options); });
  // Up to two words, so the old 'restore NAME VERSION' gets its own message.
  res->add_option("BUNDLE", *args, "the bundle file 'export' wrote")->required()->expected(1, 2);
  res->add_flag("--apply", options->apply, "write the records (default: only show what would be written)");
  res->add_flag("--allow-other-scope", options->allow_other_scope,
                "restore into a config of another scope: only records written before key binding are restored");
}

}  // namespace keyring_locker
