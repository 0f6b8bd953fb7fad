// migrate --from CONFIG --to CONFIG: copies a scope between lockers (Vault
// KV + Transit -> KMIP and back, Vault -> a directory store with any
// wrapper), every version and generation with its name and number, soft-
// deleted ones staying soft-deleted. Each key is unwrapped at the source and
// created at the destination create-only through the destination's own
// KeyService (sealed by its wrapper, bound to its scope), then read back
// from the destination and compared by fingerprint. The source is only read.
//
// Re-runnable: a destination version with the same fingerprint counts as
// done, so a run cut short is finished by running it again; one with a
// different fingerprint is a per-key failure and is never overwritten.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "common/printable.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/scope_keys.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

struct MigrateOptions {
  std::string from;
  std::string to;
  bool apply = false;
};

struct MigrateItem {
  std::string name;
  uint32_t version = 0;
  VersionEntry source;
  VersionEntry dest;  // version 0: the destination has nothing of it
  std::string result;  // "copied", "would copy", "present", "marked deleted", "would mark deleted", "FAIL"
  std::string fingerprint;
  std::string error;
  bool needs_verify = false;
};

StatusOr<std::unique_ptr<Backend>> OpenSide(const std::string& path, const std::string& side) {
  if (path.empty()) return InvalidArgument("migrate needs --" + side + " CONFIG");
  auto config = LoadConfigFile(path);
  if (!config.ok()) return config.status().Annotate("--" + side + " " + path);
  for (const auto& w : config->warnings) std::fprintf(stderr, "keyring-locker: WARNING: %s: %s\n", side.c_str(), w.c_str());
  // Not the scope's versions at open: Migration lists both scopes itself.
  auto backend = Backend::Open(*config, /*require_locker=*/true, /*read_versions=*/false);
  if (!backend.ok()) return backend.status().Annotate("--" + side + " " + path);
  for (const auto& w : (*backend)->warnings()) {
    std::fprintf(stderr, "keyring-locker: WARNING: %s: %s\n", side.c_str(), w.c_str());
  }
  return backend;
}

std::string Label(const MigrateItem& it) { return Printable(it.name, 100) + " v" + std::to_string(it.version); }

std::string StateOf(const VersionEntry& e) {
  if (!e.has_record) return "purged";
  return e.deleted ? "deleted" : "live";
}

class Migration {
 public:
  Migration(const Cli& cli, Backend& from, Backend& to, const MigrateOptions& options)
      : cli_(cli), from_(from), to_(to), options_(options), from_env_(ScopeEnvelope(from)), to_env_(ScopeEnvelope(to)) {}

  Status Run() {
    ASSIGN_OR_RETURN(std::vector<ScopeVersion> source, ListScopeVersions(from_.store()));
    ASSIGN_OR_RETURN(std::vector<ScopeVersion> dest, ListScopeVersions(to_.store()));
    std::map<std::pair<std::string, uint32_t>, VersionEntry> at_dest;
    for (const auto& d : dest) at_dest[{d.name, d.entry.version}] = d.entry;
    items_.reserve(source.size());
    for (const auto& s : source) {
      MigrateItem it;
      it.name = s.name;
      it.version = s.entry.version;
      it.source = s.entry;
      auto found = at_dest.find({s.name, s.entry.version});
      if (found != at_dest.end()) it.dest = found->second;
      items_.push_back(std::move(it));
    }
    Progress progress("key versions", items_.size(), Progress::Wanted(cli_.json));
    // Batches keep at most 100 keys in memory and give Transit batches.
    constexpr size_t kBatch = 100;
    for (size_t first = 0; first < items_.size(); first += kBatch) {
      MigrateBatch(first, std::min(items_.size(), first + kBatch));
      for (size_t i = first; i < std::min(items_.size(), first + kBatch); ++i) progress.Step();
    }
    return Status::Ok();
  }

  const std::vector<MigrateItem>& items() const { return items_; }

 private:
  void MigrateBatch(size_t first, size_t last) {
    std::vector<KeyToOpen> src_keys, dst_keys;
    std::vector<size_t> src_index, dst_index;
    for (size_t i = first; i < last; ++i) {
      if (items_[i].source.has_record) {
        src_keys.push_back({items_[i].name, items_[i].version});
        src_index.push_back(i);
      }
      if (items_[i].dest.version != 0 && items_[i].dest.has_record) {
        dst_keys.push_back({items_[i].name, items_[i].version});
        dst_index.push_back(i);
      }
    }
    std::vector<StatusOr<OpenedKey>> src = OpenKeys(from_env_, src_keys, nullptr);
    std::vector<StatusOr<std::string>> dst = FingerprintKeys(to_env_, dst_keys, nullptr);
    std::map<size_t, StatusOr<OpenedKey>*> src_of;
    std::map<size_t, StatusOr<std::string>*> dst_of;
    for (size_t k = 0; k < src.size(); ++k) src_of[src_index[k]] = &src[k];
    for (size_t k = 0; k < dst.size(); ++k) dst_of[dst_index[k]] = &dst[k];

    // Each item touches only itself (and the lockers, which take
    // concurrent requests as the servers' threads do).
    ForEachInParallel(last - first, WritesInFlight(to_), [&](size_t k) {
      const size_t i = first + k;
      auto src_it = src_of.find(i);
      auto dst_it = dst_of.find(i);
      MigrateItem& it = items_[i];
      Status s = MigrateOne(it, src_it == src_of.end() ? nullptr : src_it->second,
                            dst_it == dst_of.end() ? nullptr : dst_it->second);
      if (!s.ok()) {
        it.result = "FAIL";
        it.error = s.ToString();
      }
    });
    std::vector<KeyToOpen> written;
    std::vector<size_t> written_index;
    for (size_t i = first; i < last; ++i) {
      if (items_[i].result == "FAIL" || !items_[i].needs_verify) continue;
      written.push_back({items_[i].name, items_[i].version});
      written_index.push_back(i);
    }
    // Read back from the destination itself (not KeyService's cache, which
    // the write filled) and compared with the source's fingerprint.
    std::vector<StatusOr<std::string>> check = FingerprintKeys(to_env_, written, nullptr);
    for (size_t k = 0; k < check.size(); ++k) {
      MigrateItem& it = items_[written_index[k]];
      if (!check[k].ok()) {
        it.result = "FAIL";
        it.error = "written, but reading it back from the destination failed: " + check[k].status().ToString();
      } else if (*check[k] != it.fingerprint) {
        it.result = "FAIL";
        it.error = "written, but the destination returns fingerprint " + *check[k];
      }
    }
  }

  Status MigrateOne(MigrateItem& it, StatusOr<OpenedKey>* src, StatusOr<std::string>* dst_fp) {
    const bool dest_has = it.dest.version != 0;
    const bool dest_record = dest_has && it.dest.has_record;
    const bool dest_marker = dest_has && it.dest.deleted;
    const bool src_marker = it.source.deleted || !it.source.has_record;
    if (src != nullptr && !src->ok()) {
      return src->status().Annotate("reading key " + Label(it) + " at the source");
    }
    if (src != nullptr) it.fingerprint = crypto::KeyFingerprint((*src)->bytes);
    if (dest_marker && !src_marker) {
      return FailedPrecondition("key " + Label(it) + " is live at the source but deleted at the destination; "
                                "nothing was changed. Undelete it there ('keyring-locker undelete') if it should "
                                "be live, then run migrate again");
    }
    if (dest_record && src == nullptr) {
      return FailedPrecondition("key " + Label(it) + " is purged at the source but has a record at the "
                                "destination; nothing was changed there");
    }
    if (dest_record) {
      if (!dst_fp->ok()) return dst_fp->status().Annotate("reading key " + Label(it) + " at the destination");
      if (**dst_fp != it.fingerprint) {
        return AlreadyExists("key " + Label(it) + " exists at the destination with another key (fingerprint " +
                             **dst_fp + ", the source's is " + it.fingerprint +
                             "); it is never overwritten. Find out which one the data needs (keyring-locker "
                             "inspect) before changing either locker");
      }
    }
    const bool write_marker = src_marker && !dest_marker;
    const bool write_record = src != nullptr && !dest_record;
    if (!write_marker && !write_record) {
      it.result = "present";
      return Status::Ok();
    }
    if (!options_.apply) {
      it.result = write_record ? "would copy" : "would mark deleted";
      return Status::Ok();
    }
    // The marker first: a run cut between the two leaves a deleted key
    // looking purged at the destination, never live.
    if (write_marker) {
      ASSIGN_OR_RETURN(DeletionMarker marker, from_.store().ReadMarker(it.name, it.version));
      Status marked = to_.store().MarkDeleted(marker);
      if (marked.code() != Code::kAlreadyExists) {
        RETURN_IF_ERROR(marked.Annotate("marking key " + Label(it) + " deleted at the destination"));
      }
    }
    if (write_record) {
      const OpenedKey& key = **src;
      Status created = to_.keys().Create(it.name, it.version, key.type, key.bytes.size(), &key.bytes);
      // Another writer (or an earlier, cut run) may have got there first:
      // the read-back's fingerprint decides.
      if (created.code() != Code::kAlreadyExists) {
        RETURN_IF_ERROR(created.Annotate("creating key " + Label(it) + " at the destination"));
      }
      it.needs_verify = true;
    }
    it.result = write_record ? "copied" : "marked deleted";
    return Status::Ok();
  }

  const Cli& cli_;
  Backend& from_;
  Backend& to_;
  const MigrateOptions& options_;
  Envelope from_env_;
  Envelope to_env_;
  std::vector<MigrateItem> items_;
};

int Migrate(const Cli& cli, const MigrateOptions& options) {
  if (!cli.config_path.empty()) {
    std::fprintf(stderr, "keyring-locker: migrate takes --from CONFIG and --to CONFIG, not --config\n");
    return kExitUsage;
  }
  auto from = OpenSide(options.from, "from");
  if (!from.ok()) return Fail(cli, from.status());
  auto to = OpenSide(options.to, "to");
  if (!to.ok()) return Fail(cli, to.status());
  Migration migration(cli, **from, **to, options);
  Status s = migration.Run();
  if (!s.ok()) return Fail(cli, s.Annotate("migrate: nothing after this point was written"));

  std::map<std::string, size_t> counts;
  json rows = json::array();
  for (const auto& it : migration.items()) {
    ++counts[it.result];
    if (cli.json) {
      rows.push_back({{"name", it.name},
                      {"version", it.version},
                      {"state", StateOf(it.source)},
                      {"fingerprint", it.fingerprint},
                      {"result", it.result},
                      {"error", it.error}});
    } else {
      std::printf("%-18s %s (%s)%s%s%s%s\n", it.result.c_str(), Label(it).c_str(), StateOf(it.source).c_str(),
                  it.fingerprint.empty() ? "" : " fingerprint ", it.fingerprint.c_str(), it.error.empty() ? "" : ": ",
                  Printable(it.error, 1000).c_str());
    }
  }
  const size_t failed = counts.count("FAIL") ? counts.at("FAIL") : 0;
  if (cli.json) {
    PrintJson({{"from", (*from)->Describe()},
               {"from_scope", ScopeOf((*from)->config())},
               {"to", (*to)->Describe()},
               {"to_scope", ScopeOf((*to)->config())},
               {"applied", options.apply},
               {"key_versions", migration.items().size()},
               {"counts", counts},
               {"failed", failed},
               {"items", rows}});
  } else {
    std::string summary;
    for (const auto& c : counts) summary += (summary.empty() ? "" : ", ") + std::to_string(c.second) + " " + c.first;
    std::printf("%s %zu key version(s) of scope %s (%s) -> scope %s (%s): %s\n",
                options.apply ? "migrated" : "dry run, nothing written:", migration.items().size(),
                ScopeOf((*from)->config()).c_str(), (*from)->Describe().c_str(), ScopeOf((*to)->config()).c_str(),
                (*to)->Describe().c_str(), summary.empty() ? "nothing to do" : summary.c_str());
    if (!options.apply && failed == 0) std::printf("run again with --apply to write\n");
  }
  if (failed > 0) {
    std::fflush(stdout);
    std::fprintf(stderr, "keyring-locker: migrate: %zu key version(s) failed (FAIL lines above); the rest %s\n",
                 failed, options.apply ? "were copied and verified" : "would be copied");
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void AddMigrateCommand(Cli& cli) {
  auto options = std::make_shared<MigrateOptions>();
  CLI::App* sub = cli.AddCommand(
      "migrate",
      "copy a scope's every key version to another locker, verified by\n"
      "fingerprint; dry run unless --apply; re-runnable, never overwrites",
      [&cli, options] { return Migrate(cli, *options); });
  sub->add_option("--from", options->from, "config of the locker to copy from (only read)")->required()->type_name("CONFIG");
  sub->add_option("--to", options->to, "config of the locker to copy to")->required()->type_name("CONFIG");
  sub->add_flag("--apply", options->apply, "write (default: only show what would be copied)");
}

}  // namespace keyring_locker
