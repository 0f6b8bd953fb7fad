// keyring-locker: the operator's command line. Talks to the locker with the
// same config file and core as the server plugins, so what works here works
// in the server. Never prints key bytes: a key is shown by a short SHA-256
// fingerprint only.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "keyring_backend/audit/audit_log.h"
#include "keyring_backend/backend.h"
#include "tools/inspect_command.h"
#include "tools/scope_records.h"

namespace keyring_locker {
namespace {

constexpr const char* kUsage =
    "usage: keyring-locker --config FILE COMMAND [ARGS]\n"
    "       keyring-locker audit-verify AUDIT_LOG_FILE\n"
    "%s"
    "commands:\n"
    "  health              locker reachability, seal state, token TTL\n"
    "  list                every key version in the scope (metadata only); damaged\n"
    "                      records are named (\"damaged: NAME vN: why\"), exit 1\n"
    "  ensure NAME         create version 1 of NAME if it has none\n"
    "  rotate NAME         create the next version of NAME\n"
    "  fingerprint NAME V  SHA-256 fingerprint (first 8 bytes) of a key version\n"
    "  demo                ensure keys 1 and 2, rotate 1, fetch back, print status\n"
    "  deleted             soft-deleted keys (MySQL key_remove) still recoverable\n"
    "  restore NAME V      undelete version V of NAME (its latest generation)\n"
    "  purge-deleted DAYS  destroy key documents deleted at least DAYS days ago\n";

std::string Fingerprint(const KeyHandle& k) {
  crypto::Bytes h = crypto::Sha256(k->bytes.data(), k->bytes.size());
  return crypto::HexEncode(h.data(), 8);
}

void PrintStatus(Backend& b) {
  BackendStatus s = b.status();
  std::printf("locker:            %s\n", s.locker.c_str());
  std::printf("active endpoint:   %s\n", s.http.active_endpoint.c_str());
  std::printf("cache:             %zu keys, %llu hits, %llu misses, %llu collapsed waits\n", s.keys.cache.entries,
              static_cast<unsigned long long>(s.keys.cache.hits), static_cast<unsigned long long>(s.keys.cache.misses),
              static_cast<unsigned long long>(s.keys.cache.collapsed_waits));
  std::printf("locker requests:   %llu (%llu errors, %llu stale serves)\n",
              static_cast<unsigned long long>(s.keys.locker_requests),
              static_cast<unsigned long long>(s.keys.locker_errors),
              static_cast<unsigned long long>(s.keys.stale_serves));
  std::printf("http:              %llu requests, %llu retries, %llu failovers\n",
              static_cast<unsigned long long>(s.http.requests), static_cast<unsigned long long>(s.http.retries),
              static_cast<unsigned long long>(s.http.failovers));
  std::printf("token:             ttl %llds, renewable %s, %llu renewals, %llu logins\n",
              static_cast<long long>(s.auth.ttl.count()), s.auth.renewable ? "yes" : "no",
              static_cast<unsigned long long>(s.auth.renewals), static_cast<unsigned long long>(s.auth.logins));
  if (!s.keys.last_error.empty()) std::printf("last error:        %s\n", s.keys.last_error.c_str());
}

int Fail(const Status& s) {
  std::fprintf(stderr, "keyring-locker: %s\n", s.ToString().c_str());
  return 1;
}

int RunDemo(Backend& b) {
  KeyService& keys = b.keys();
  for (const char* name : {"1", "2"}) {
    auto v = keys.EnsureKey(name);
    if (!v.ok()) return Fail(v.status());
    std::printf("key %s: latest version %u\n", name, *v);
  }
  auto rotated = keys.Rotate("1");
  if (!rotated.ok()) return Fail(rotated.status());
  std::printf("rotated key 1 -> version %u\n", *rotated);
  for (uint32_t v = 1; v <= *rotated; ++v) {
    auto k = keys.Get("1", v);
    if (!k.ok()) return Fail(k.status());
    std::printf("key 1 version %u: %zu bytes, fingerprint %s\n", v, (*k)->bytes.size(), Fingerprint(*k).c_str());
  }
  PrintStatus(b);
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "inspect") return RunInspect({args.begin() + 1, args.end()});
  if (args.size() == 2 && args[0] == "audit-verify") {
    AuditVerifyReport r = VerifyAuditLog(args[1]);
    std::printf("%s: %llu lines, %s\n", args[1].c_str(), static_cast<unsigned long long>(r.lines),
                r.ok ? "chain intact" : ("BROKEN at line " + std::to_string(r.first_bad_line) + ": " + r.problem).c_str());
    return r.ok ? 0 : 2;
  }
  if (args.size() < 3 || args[0] != "--config") {
    std::fprintf(stderr, kUsage, kInspectUsage);
    return 64;
  }
  auto config = LoadConfigFile(args[1]);
  if (!config.ok()) return Fail(config.status());
  for (const auto& w : config->warnings) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  const std::string cmd = args[2];
  auto backend = Backend::Open(*config);
  if (!backend.ok()) return Fail(backend.status());
  Backend& b = **backend;
  for (const auto& w : b.warnings()) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  if (cmd == "health") {
    auto h = b.store().Health();
    if (!h.ok()) return Fail(h.status());
    std::printf("health:            %s\n", h->detail.c_str());
    PrintStatus(b);
    return h->reachable && !h->sealed ? 0 : 1;
  }
  if (cmd == "list") {
    auto records = ReadScopeRecords(b);
    if (!records.ok()) return Fail(records.status());
    // BOUND "no": written before key binding (docs/security.md, keys.unbound_documents).
    std::printf("%-40s %8s %-5s %6s %-21s %-8s %-5s %s\n", "NAME", "VERSION", "TYPE", "BYTES", "CREATED", "ORIGIN",
                "BOUND", "CREATOR");
    for (const auto& k : records->valid) {
      std::printf("%-40s %8u %-5s %6zu %-21s %-8s %-5s %s\n", k.name.c_str(), k.version, k.type.c_str(), k.length,
                  k.created.c_str(), k.origin.c_str(), k.bound ? "yes" : "no", k.creator.c_str());
    }
    return ReportDamaged(records->damaged, "list") == 0 ? 0 : 1;
  }
  if ((cmd == "ensure" || cmd == "rotate") && args.size() == 4) {
    auto v = cmd == "ensure" ? b.keys().EnsureKey(args[3]) : b.keys().Rotate(args[3]);
    if (!v.ok()) return Fail(v.status());
    std::printf("%s: latest version %u\n", args[3].c_str(), *v);
    return 0;
  }
  if (cmd == "fingerprint" && args.size() == 5) {
    auto k = b.keys().Get(args[3], static_cast<uint32_t>(std::strtoul(args[4].c_str(), nullptr, 10)));
    if (!k.ok()) return Fail(k.status());
    std::printf("%s\n", Fingerprint(*k).c_str());
    return 0;
  }
  if (cmd == "demo") return RunDemo(b);
  if (cmd == "deleted" && args.size() == 3) {
    auto list = b.keys().ListDeleted(Sweep::kPerRequest);
    if (!list.ok()) return Fail(list.status());
    std::printf("%-40s %8s %-21s %-8s %s\n", "NAME", "VERSION", "DELETED", "STATE", "DELETED BY");
    for (const auto& d : *list) {
      std::printf("%-40s %8u %-21s %-8s %s\n", d.name.c_str(), d.version, d.deleted_at.c_str(),
                  d.purged ? "purged" : "held", d.deleted_by.c_str());
    }
    return 0;
  }
  if (cmd == "restore" && args.size() == 5) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(args[4].c_str(), &end, 10);
    if (end == args[4].c_str() || *end != '\0' || v == 0 || v > 0xFFFFFFFEul) {
      return Fail(InvalidArgument("restore: VERSION must be a positive number (see the 'deleted' command)"));
    }
    Status s = b.keys().Restore(args[3], static_cast<uint32_t>(v));
    if (!s.ok()) return Fail(s);
    std::printf("%s: version %lu restored\n", args[3].c_str(), v);
    return 0;
  }
  if (cmd == "purge-deleted" && args.size() == 4) {
    char* end = nullptr;
    const long days = std::strtol(args[3].c_str(), &end, 10);
    if (end == args[3].c_str() || *end != '\0' || days < 0 || days > 36500) {
      return Fail(InvalidArgument("purge-deleted: DAYS must be a number of days, 0..36500"));
    }
    auto n = b.keys().PurgeDeleted(std::chrono::hours(24) * days, Sweep::kPerRequest);
    if (!n.ok()) return Fail(n.status());
    std::printf("purged %zu deleted key version(s)\n", *n);
    return 0;
  }
  std::fprintf(stderr, kUsage, kInspectUsage);
  return 64;
}

}  // namespace
}  // namespace keyring_locker

int main(int argc, char** argv) {
  try {
    return keyring_locker::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyring-locker: internal error: %s\n", e.what());
    return 70;
  }
}
