// The commands on one scope's keys: what the server would see, and the
// operator's few writes (ensure, rotate, undelete, purge). Never prints key
// bytes: a key is shown by its fingerprint only.
#include <chrono>
#include <cstdio>
#include <string>

#include "crypto/crypto.h"
#include "keyring_backend/audit/audit_log.h"
#include "tools/commands.h"
#include "tools/scope_records.h"

namespace keyring_locker {
namespace {

using nlohmann::json;

json StatusJson(Backend& b) {
  const BackendStatus s = b.status();
  return {{"locker", s.locker},
          {"active_endpoint", s.http.active_endpoint},
          {"cache", {{"entries", s.keys.cache.entries}, {"hits", s.keys.cache.hits}, {"misses", s.keys.cache.misses}}},
          {"locker_requests", s.keys.locker_requests},
          {"locker_errors", s.keys.locker_errors},
          {"http", {{"requests", s.http.requests}, {"retries", s.http.retries}, {"failovers", s.http.failovers}}},
          {"token", {{"ttl_s", s.auth.ttl.count()}, {"renewable", s.auth.renewable}}},
          {"tls_verify", s.tls_verify},
          {"last_error", s.keys.last_error}};
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

// Runs `body` on an opened backend; a failure to open is reported as such.
template <typename Body>
int WithBackend(const Cli& cli, const std::string& command, Body body) {
  auto backend = OpenBackend(cli, command);
  if (!backend.ok()) return Fail(cli, backend.status());
  return body(**backend);
}

int Health(const Cli& cli, Backend& b) {
  auto h = b.store().Health();
  if (!h.ok()) return Fail(cli, h.status());
  const bool good = h->reachable && !h->sealed;
  if (cli.json) {
    json doc = StatusJson(b);
    doc["health"] = {{"detail", h->detail}, {"reachable", h->reachable}, {"sealed", h->sealed}, {"ok", good}};
    PrintJson(doc);
  } else {
    std::printf("health:            %s\n", h->detail.c_str());
    PrintStatus(b);
  }
  return good ? kExitOk : kExitFailed;
}

int List(const Cli& cli, Backend& b) {
  auto records = ReadScopeRecords(b);
  if (!records.ok()) return Fail(cli, records.status());
  if (cli.json) {
    json keys = json::array(), damaged = json::array();
    for (const auto& k : records->valid) {
      keys.push_back({{"name", k.name}, {"version", k.version}, {"type", k.type}, {"bytes", k.length},
                      {"created", k.created}, {"origin", k.origin}, {"bound", k.bound}, {"creator", k.creator}});
    }
    for (const auto& d : records->damaged) damaged.push_back({{"name", d.name}, {"version", d.version}, {"why", d.why}});
    PrintJson({{"keys", keys}, {"damaged", damaged}});
    return records->damaged.empty() ? kExitOk : kExitFailed;
  }
  // BOUND "no": written before key binding (docs/security.md, keys.unbound_documents).
  std::printf("%-40s %8s %-5s %6s %-21s %-8s %-5s %s\n", "NAME", "VERSION", "TYPE", "BYTES", "CREATED", "ORIGIN",
              "BOUND", "CREATOR");
  for (const auto& k : records->valid) {
    std::printf("%-40s %8u %-5s %6zu %-21s %-8s %-5s %s\n", k.name.c_str(), k.version, k.type.c_str(), k.length,
                k.created.c_str(), k.origin.c_str(), k.bound ? "yes" : "no", k.creator.c_str());
  }
  return ReportDamaged(records->damaged, "list") == 0 ? kExitOk : kExitFailed;
}

int PrintLatest(const Cli& cli, const std::string& name, const StatusOr<uint32_t>& v) {
  if (!v.ok()) return Fail(cli, v.status());
  if (cli.json) {
    PrintJson({{"name", name}, {"latest_version", *v}});
  } else {
    std::printf("%s: latest version %u\n", name.c_str(), *v);
  }
  return kExitOk;
}

int PrintFingerprint(const Cli& cli, Backend& b, const std::string& name, const std::string& version_text) {
  auto version = ParseVersion(version_text, "fingerprint");
  if (!version.ok()) return Fail(cli, version.status());
  auto k = b.keys().Get(name, *version);
  if (!k.ok()) return Fail(cli, k.status());
  const std::string fp = crypto::KeyFingerprint((*k)->bytes);
  if (cli.json) {
    PrintJson({{"name", name}, {"version", *version}, {"fingerprint", fp}});
  } else {
    std::printf("%s\n", fp.c_str());
  }
  return kExitOk;
}

int Demo(const Cli& cli, Backend& b) {
  KeyService& keys = b.keys();
  for (const char* name : {"1", "2"}) {
    auto v = keys.EnsureKey(name);
    if (!v.ok()) return Fail(cli, v.status());
    std::printf("key %s: latest version %u\n", name, *v);
  }
  auto rotated = keys.Rotate("1");
  if (!rotated.ok()) return Fail(cli, rotated.status());
  std::printf("rotated key 1 -> version %u\n", *rotated);
  for (uint32_t v = 1; v <= *rotated; ++v) {
    auto k = keys.Get("1", v);
    if (!k.ok()) return Fail(cli, k.status());
    std::printf("key 1 version %u: %zu bytes, fingerprint %s\n", v, (*k)->bytes.size(),
                crypto::KeyFingerprint((*k)->bytes).c_str());
  }
  PrintStatus(b);
  return kExitOk;
}

int Deleted(const Cli& cli, Backend& b) {
  auto list = b.keys().ListDeleted(Sweep::kPerRequest);
  if (!list.ok()) return Fail(cli, list.status());
  if (cli.json) {
    json rows = json::array();
    for (const auto& d : *list) {
      rows.push_back({{"name", d.name}, {"version", d.version}, {"deleted_at", d.deleted_at},
                      {"state", d.purged ? "purged" : "held"}, {"deleted_by", d.deleted_by}});
    }
    PrintJson({{"deleted", rows}});
    return kExitOk;
  }
  std::printf("%-40s %8s %-21s %-8s %s\n", "NAME", "VERSION", "DELETED", "STATE", "DELETED BY");
  for (const auto& d : *list) {
    std::printf("%-40s %8u %-21s %-8s %s\n", d.name.c_str(), d.version, d.deleted_at.c_str(),
                d.purged ? "purged" : "held", d.deleted_by.c_str());
  }
  return kExitOk;
}

int Undelete(const Cli& cli, Backend& b, const std::string& name, const std::string& version_text) {
  auto version = ParseVersion(version_text, "undelete");
  if (!version.ok()) return Fail(cli, version.status());
  Status s = b.keys().Restore(name, *version);
  if (!s.ok()) return Fail(cli, s);
  if (cli.json) {
    PrintJson({{"name", name}, {"version", *version}, {"undeleted", true}});
  } else {
    std::printf("%s: version %u restored\n", name.c_str(), *version);
  }
  return kExitOk;
}

int PurgeDeleted(const Cli& cli, Backend& b, long days) {
  auto n = b.keys().PurgeDeleted(std::chrono::hours(24) * days, Sweep::kPerRequest);
  if (!n.ok()) return Fail(cli, n.status());
  if (cli.json) {
    PrintJson({{"purged", *n}});
  } else {
    std::printf("purged %zu deleted key version(s)\n", *n);
  }
  return kExitOk;
}

}  // namespace

void AddKeyCommands(Cli& cli) {
  cli.AddCommand("health", "locker reachability, seal state, token TTL", [&cli] {
    return WithBackend(cli, "health", [&](Backend& b) { return Health(cli, b); });
  });
  cli.AddCommand("list",
                 "every key version in the scope (metadata only); damaged records are named\n"
                 "(\"damaged: NAME vN: why\"), exit 1",
                 [&cli] { return WithBackend(cli, "list", [&](Backend& b) { return List(cli, b); }); });

  auto name = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  CLI::App* ensure = cli.AddCommand("ensure", "create version 1 of NAME if it has none", [&cli, name] {
    return WithBackend(cli, "ensure", [&](Backend& b) { return PrintLatest(cli, *name, b.keys().EnsureKey(*name)); });
  });
  ensure->add_option("NAME", *name, "key name (a MariaDB key id, or a MySQL key id)")->required();
  CLI::App* rotate = cli.AddCommand("rotate", "create the next version of NAME", [&cli, name] {
    return WithBackend(cli, "rotate", [&](Backend& b) { return PrintLatest(cli, *name, b.keys().Rotate(*name)); });
  });
  rotate->add_option("NAME", *name, "key name")->required();
  CLI::App* fingerprint =
      cli.AddCommand("fingerprint", "SHA-256 fingerprint (first 8 bytes) of a key version", [&cli, name, version] {
        return WithBackend(cli, "fingerprint",
                           [&](Backend& b) { return PrintFingerprint(cli, b, *name, *version); });
      });
  fingerprint->add_option("NAME", *name, "key name")->required();
  fingerprint->add_option("VERSION", *version, "key version (1, 2, ...)")->required();
  cli.AddCommand("demo", "ensure keys 1 and 2, rotate 1, fetch back, print status", [&cli] {
    return WithBackend(cli, "demo", [&](Backend& b) { return Demo(cli, b); });
  });
  cli.AddCommand("deleted", "soft-deleted keys (MySQL key_remove) still recoverable", [&cli] {
    return WithBackend(cli, "deleted", [&](Backend& b) { return Deleted(cli, b); });
  });
  CLI::App* undelete =
      cli.AddCommand("undelete", "undelete version VERSION of NAME (its latest generation)", [&cli, name, version] {
        return WithBackend(cli, "undelete", [&](Backend& b) { return Undelete(cli, b, *name, *version); });
      });
  undelete->add_option("NAME", *name, "key name, as 'deleted' lists it")->required();
  undelete->add_option("VERSION", *version, "key version, as 'deleted' lists it")->required();
  auto days = std::make_shared<long>(0);
  CLI::App* purge = cli.AddCommand("purge-deleted", "destroy key documents deleted at least DAYS days ago", [&cli, days] {
    return WithBackend(cli, "purge-deleted", [&](Backend& b) { return PurgeDeleted(cli, b, *days); });
  });
  purge->add_option("DAYS", *days, "days since deletion, 0..36500")->required()->check(CLI::Range(0L, 36500L));
}

void AddAuditCommand(Cli& cli) {
  auto file = std::make_shared<std::string>();
  CLI::App* sub = cli.AddCommand("audit-verify", "check the audit log's hash chain, line by line", [&cli, file] {
    AuditVerifyReport r = VerifyAuditLog(*file);
    if (cli.json) {
      PrintJson({{"file", *file}, {"lines", r.lines}, {"ok", r.ok}, {"first_bad_line", r.first_bad_line},
                 {"problem", r.problem}});
    } else {
      std::printf("%s: %llu lines, %s\n", file->c_str(), static_cast<unsigned long long>(r.lines),
                  r.ok ? "chain intact"
                       : ("BROKEN at line " + std::to_string(r.first_bad_line) + ": " + r.problem).c_str());
    }
    return r.ok ? kExitOk : 2;
  });
  sub->add_option("AUDIT_LOG_FILE", *file, "the audit log (keys.audit_log in the config)")->required();
}

}  // namespace keyring_locker
