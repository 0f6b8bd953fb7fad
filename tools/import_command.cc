// keyring-locker import FORMAT SOURCE [--apply]: brings the keys another
// keyring holds into the locker under the names and versions keyring_locker's
// adapters ask for, so tables encrypted under the old keyring stay readable.
// Dry run unless --apply; create-only and idempotent (tools/import/import_run.h).
// Never prints key bytes: a key is shown by its fingerprint only.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "crypto/crypto.h"
#include "common/safe_file.h"
#include "tools/commands.h"
#include "tools/import/file_key_management.h"
#include "tools/import/hashicorp_kv.h"
#include "tools/import/import_run.h"
#include "tools/import/mysql_component_keyring_file.h"
#include "tools/import/mysql_keyring_file.h"
#include "tools/progress.h"

namespace keyring_locker {
namespace {

using nlohmann::json;
using import::ImportSource;
using import::ItemResult;
using import::Outcome;

struct ImportArgs {
  std::string format;
  std::string source;
  bool apply = false;
  std::string filekey;     // file_key_management
  std::string digest;      // file_key_management: file_key_management_digest
  unsigned pbkdf2 = 0;     // file_key_management: file_key_management_use_pbkdf2
  std::string vault_url;   // hashicorp
  std::string mount;
  std::string token_file;
  std::string ca_file;
  std::string ns;
};

constexpr size_t kMysqlFileMaxBytes = 64 * 1024 * 1024;

StatusOr<std::string> ReadSource(const std::string& path, size_t max_bytes) {
  ReadFileOptions o;
  o.open.what = "import SOURCE";
  o.max_bytes = max_bytes;
  o.wipe = true;  // key files: every buffer they pass through is wiped
  return ReadRegularFile(path, o);
}

StatusOr<ImportSource> ReadFileSource(const ImportArgs& a) {
  const size_t cap = a.format == "file_key_management" ? import::kFileKeyManagementMaxBytes : kMysqlFileMaxBytes;
  ASSIGN_OR_RETURN(std::string content, ReadSource(a.source, cap));
  StatusOr<ImportSource> parsed = InvalidArgument("unknown format");
  if (a.format == "file_key_management") {
    import::FileKeyManagementOptions o;
    o.filekey = a.filekey;
    if (!a.digest.empty()) o.kdf.digest = a.digest;
    o.kdf.pbkdf2_iterations = a.pbkdf2;
    parsed = import::ParseFileKeyManagement(content, o);
  } else if (a.format == "mysql_keyring_file") {
    parsed = import::ParseMysqlKeyringFile(content);
  } else {
    parsed = import::ParseMysqlComponentKeyringFile(content);
  }
  import::WipeString(content);
  return parsed.ok() ? std::move(parsed) : parsed.status().Annotate(a.source);
}

StatusOr<ImportSource> ReadVaultSource(const ImportArgs& a, bool show_progress) {
  import::HashicorpOptions o;
  o.vault_url = a.vault_url.empty() ? a.source : a.vault_url;
  o.mount = a.mount;
  o.ca_file = a.ca_file;
  o.ns = a.ns;
  if (!a.token_file.empty()) {
    ASSIGN_OR_RETURN(o.token, ReadSecretFile(a.token_file, "--token-file"));
  } else if (const char* env = std::getenv("VAULT_TOKEN"); env != nullptr && *env != '\0') {
    o.token = env;  // as the plugin does when its token option is empty
  }
  // For the dev locker in tests only (never https-less in production).
  o.allow_plain_http = std::getenv("KLK_IMPORT_ALLOW_PLAIN_HTTP") != nullptr;
  Progress bar("key ids", 0, show_progress);
  auto source = import::ReadHashicorpKv(o, [&bar] { bar.Step(); });
  import::WipeString(o.token);
  return source;
}

StatusOr<std::unique_ptr<Backend>> OpenFor(const Cli& cli, KeyServer server) {
  ASSIGN_OR_RETURN(Config config, LoadConfigFile(cli.config_path));
  for (const auto& w : config.warnings) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  // The rules of the server that will read these keys: MariaDB's adapter
  // refuses anything but AES 16/24/32, so such a key must not be written.
  config.keys.rules.server = server;
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, Backend::Open(config, true, false));
  for (const auto& w : backend->warnings()) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  return backend;
}

std::string VersionText(const ImportSource& s, const ItemResult& r) {
  if (r.version != 0) return std::to_string(r.version);
  return s.model == import::KeyModel::kGenerations ? "new" : "-";
}

int Report(const Cli& cli, const ImportArgs& a, const ImportSource& source, const std::vector<ItemResult>& results,
           bool locker_checked) {
  const import::ImportSummary sum = import::Summarize(results);
  if (cli.json) {
    json items = json::array();
    for (const auto& r : results) {
      json j = {{"name", r.name}, {"type", r.type}, {"bytes", r.length}, {"fingerprint", r.fingerprint},
                {"origin", r.origin}, {"result", import::OutcomeName(r.outcome)}};
      j["version"] = r.version == 0 ? json(nullptr) : json(r.version);
      if (!r.detail.empty()) j["detail"] = r.detail;
      items.push_back(std::move(j));
    }
    PrintJson({{"format", a.format},
               {"source", a.format == "hashicorp" && !a.vault_url.empty() ? a.vault_url : a.source},
               {"applied", a.apply},
               {"locker_checked", locker_checked},
               {"items", items},
               {"warnings", source.warnings},
               {"summary",
                {{"would_write", sum.would_write}, {"written", sum.written}, {"already_present", sum.present},
                 {"conflict", sum.conflict}, {"failed", sum.failed}, {"ok", sum.ok()}}}});
    return sum.ok() ? kExitOk : kExitFailed;
  }
  for (const auto& w : source.warnings) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  std::printf("import %s: %s\n", a.format.c_str(),
              a.apply ? "applied" : (locker_checked ? "dry run, nothing written (--apply writes)"
                                                    : "dry run without --config: the locker was not asked"));
  std::printf("%-40s %8s %-6s %5s %-16s %s\n", "NAME", "VERSION", "TYPE", "BYTES", "FINGERPRINT", "RESULT");
  for (const auto& r : results) {
    std::printf("%-40s %8s %-6s %5zu %-16s %s\n", r.name.c_str(), VersionText(source, r).c_str(), r.type.c_str(),
                r.length, r.fingerprint.empty() ? "-" : r.fingerprint.c_str(), import::OutcomeName(r.outcome));
  }
  for (const auto& r : results) {
    if (!r.detail.empty()) {
      std::fprintf(stderr, "keyring-locker: %s %s (%s): %s\n", import::OutcomeName(r.outcome), r.name.c_str(),
                   r.origin.c_str(), r.detail.c_str());
    }
  }
  std::printf("%zu would write, %zu written, %zu already present, %zu conflict, %zu failed\n", sum.would_write,
              sum.written, sum.present, sum.conflict, sum.failed);
  return sum.ok() ? kExitOk : kExitFailed;
}

int Import(const Cli& cli, const ImportArgs& a) {
  const bool file_format = a.format != "hashicorp";
  if (file_format && a.source.empty()) {
    std::fprintf(stderr, "keyring-locker: import %s needs SOURCE, the file to read\n", a.format.c_str());
    return kExitUsage;
  }
  if (!file_format && a.source.empty() && a.vault_url.empty()) {
    std::fprintf(stderr, "keyring-locker: import hashicorp needs --vault-url (the plugin's vault_url) or SOURCE\n");
    return kExitUsage;
  }
  if (a.format != "file_key_management" && (!a.filekey.empty() || !a.digest.empty() || a.pbkdf2 != 0)) {
    std::fprintf(stderr, "keyring-locker: --filekey, --digest and --use-pbkdf2 are for file_key_management only\n");
    return kExitUsage;
  }
  if (!a.digest.empty()) {
    import::SaltedKdf kdf;
    kdf.digest = a.digest;
    if (Status s = import::CheckKdf(kdf); !s.ok()) {
      std::fprintf(stderr, "keyring-locker: %s\n", s.message().c_str());
      return kExitUsage;
    }
  }
  if (file_format && (!a.vault_url.empty() || !a.mount.empty() || !a.token_file.empty() || !a.ca_file.empty() ||
                      !a.ns.empty())) {
    std::fprintf(stderr,
                 "keyring-locker: --vault-url, --mount, --token-file, --ca-file and --namespace are for "
                 "hashicorp only\n");
    return kExitUsage;
  }
  if (a.apply && cli.config_path.empty()) {
    std::fprintf(stderr, "keyring-locker: import --apply needs --config FILE: the locker to write to\n");
    return kExitUsage;
  }
  const bool show = Progress::Wanted(cli.json);
  auto source = file_format ? ReadFileSource(a) : ReadVaultSource(a, show);
  if (!source.ok()) return Fail(cli, source.status().Annotate("import " + a.format));

  std::vector<ItemResult> results;
  const bool locker = !cli.config_path.empty();
  if (!locker) {
    // Dry run on the source alone: what it holds and what it refuses.
    for (const auto& item : source->items) {
      ItemResult r;
      r.name = item.name;
      r.version = item.version;
      r.type = item.type;
      r.origin = item.origin;
      if (item.error.empty()) {
        r.length = item.bytes.size();
        r.fingerprint = crypto::KeyFingerprint(item.bytes);
        r.outcome = Outcome::kWouldWrite;
      } else {
        r.detail = item.error;
      }
      results.push_back(std::move(r));
    }
    return Report(cli, a, *source, results, false);
  }
  auto backend = OpenFor(cli, source->server);
  if (!backend.ok()) return Fail(cli, backend.status());
  {
    Progress bar(a.apply ? "keys written" : "keys checked", source->items.size(), show);
    import::ImportRunOptions o;
    o.apply = a.apply;
    o.on_item = [&bar] { bar.Step(); };
    results = import::RunImport((*backend)->keys(), *source, o);
  }
  if (a.apply && import::Summarize(results).written > 0) {
    // Read back through a second service whose cache holds nothing: the
    // bytes come from the locker, not from what this one just wrote.
    auto fresh = OpenFor(cli, source->server);
    if (!fresh.ok()) return Fail(cli, fresh.status().Annotate("opening the locker again to verify"));
    import::VerifyWritten((*fresh)->keys(), *source, results);
  }
  return Report(cli, a, *source, results, true);
}

}  // namespace

void AddImportCommand(Cli& cli) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* sub = cli.AddCommand(
      "import",
      "bring another keyring's keys into the locker, keeping ids and versions (dry run unless --apply)",
      [&cli, a] { return Import(cli, *a); });
  sub->add_option("FORMAT", a->format,
                  "file_key_management (MariaDB key file, plain or encrypted), hashicorp (MariaDB\n"
                  "hashicorp_key_management's Vault KV), mysql_keyring_file (MySQL keyring_file's data file),\n"
                  "mysql_component_keyring_file (component_keyring_file's JSON)")
      ->required()
      ->check(CLI::IsMember(
          {"file_key_management", "hashicorp", "mysql_keyring_file", "mysql_component_keyring_file"}));
  sub->add_option("SOURCE", a->source, "the file to read (hashicorp: the Vault URL, or use --vault-url)");
  sub->add_flag("--apply", a->apply, "write the missing keys, then read each back and compare fingerprints");
  sub->add_option("--filekey", a->filekey,
                  "file_key_management: the file key, as file_key_management_filekey takes it:\n"
                  "SECRET or FILE:/path (prefer FILE:, a secret on the command line is visible in ps)")
      ->type_name("KEY");
  sub->add_option("--digest", a->digest,
                  "file_key_management: the server's file_key_management_digest (MariaDB 11; default sha1)")
      ->type_name("sha1|sha224|sha256|sha384|sha512");
  sub->add_option("--use-pbkdf2", a->pbkdf2,
                  "file_key_management: the server's file_key_management_use_pbkdf2 iterations (0: none)")
      ->type_name("N");
  sub->add_option("--vault-url", a->vault_url, "hashicorp: the plugin's vault_url, https://HOST:PORT/v1/MOUNT")
      ->type_name("URL");
  sub->add_option("--mount", a->mount, "hashicorp: the KV v2 mount, if not in --vault-url")->type_name("MOUNT");
  sub->add_option("--token-file", a->token_file, "hashicorp: file holding a token that can list and read the mount "
                  "(default: $VAULT_TOKEN)")->type_name("FILE");
  sub->add_option("--ca-file", a->ca_file, "hashicorp: CA bundle for the Vault's certificate")->type_name("FILE");
  sub->add_option("--namespace", a->ns, "hashicorp: Vault Enterprise / OpenBao namespace")->type_name("NS");
  sub->footer("Exit status: 0 every key imported or present, 1 any item failed or conflicted, 64 usage.\n"
              "Global options, before or after the command: --config FILE, --json. Docs: docs/cli.md, \"import\".");
}

}  // namespace keyring_locker
