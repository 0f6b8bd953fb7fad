#include "tools/scope_records.h"

#include <algorithm>
#include <cstdio>

#include "common/printable.h"
#include "keyring_backend/envelope/envelope.h"

namespace keyring_locker {

StatusOr<ScopeRecords> ReadScopeRecords(Backend& backend) {
  const Config& config = backend.config();
  // The same checks the server runs before it unwraps a key (scope, format,
  // name, version, type and length); nothing is unwrapped here.
  const Envelope envelope(&backend.store(), &backend.wrapper(),
                          EnvelopeOptions{config.keys.prefix + "/" + config.keys.scope,
                                          config.keys.read_unbound_documents, config.keys.rules});
  ScopeRecords out;
  ASSIGN_OR_RETURN(std::vector<std::string> names, backend.keys().ListNames());
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(std::vector<VersionEntry> versions, backend.store().ListVersions(name));
    for (const auto& e : versions) {
      if (!e.has_record) continue;  // purged: only the deletion marker is left
      auto record = backend.store().Read(name, e.version);
      if (!record.ok()) {
        const Code c = record.status().code();
        if (c == Code::kNotFound) continue;  // removed since the listing
        if (c == Code::kDataLoss) {
          out.damaged.push_back({name, e.version, record.status().message()});
          continue;
        }
        return record.status().Annotate("reading key " + name + " version " + std::to_string(e.version));
      }
      // kDataLoss: the record itself is wrong. Sealed by another wrapper
      // (kFailedPrecondition) is a configuration matter, not damage: listed.
      Status checked = envelope.CheckRecord(*record, name, e.version);
      if (checked.code() == Code::kDataLoss) {
        out.damaged.push_back({name, e.version, checked.message()});
        continue;
      }
      KeyVersionInfo info;
      info.name = name;
      info.version = e.version;
      // Valid records hold names and numbers, but the text fields are still
      // the locker's: bounded and printable on a terminal.
      info.type = Printable(record->type, 16);
      info.length = static_cast<size_t>(record->length);
      info.created = Printable(record->created, 40);
      info.creator = Printable(record->creator, 100);
      info.origin = Printable(record->origin, 16);
      info.bound = record->format == Envelope::kBoundFormat || record->format == Envelope::kStoreProtectedFormat;
      out.valid.push_back(std::move(info));
    }
  }
  std::sort(out.valid.begin(), out.valid.end(), [](const KeyVersionInfo& a, const KeyVersionInfo& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  std::sort(out.damaged.begin(), out.damaged.end(), [](const DamagedRecord& a, const DamagedRecord& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return out;
}

size_t ReportDamaged(const std::vector<DamagedRecord>& damaged, const std::string& command) {
  for (const auto& d : damaged) {
    std::printf("damaged: %s v%u: %s\n", Printable(d.name, 100).c_str(), d.version, Printable(d.why, 1000).c_str());
  }
  if (damaged.empty()) return 0;
  std::fflush(stdout);  // the lines above first, also when both streams go to one file
  std::fprintf(stderr,
               "keyring-locker: %s: %zu key record(s) damaged (first: %s v%u); the server refuses them. Restore "
               "each from a locker backup or its KV history ('vault kv get -version=1'), and review who may write "
               "the store\n",
               command.c_str(), damaged.size(), Printable(damaged.front().name, 100).c_str(),
               damaged.front().version);
  return damaged.size();
}

}  // namespace keyring_locker
