#include "tools/cli.h"

#include <cstdio>

#include "crypto/crypto.h"

namespace keyring_locker {

Cli::Cli() {
  app.add_option("--config", config_path, "the keyring_locker JSON config (the server plugin's file)")
      ->type_name("FILE");
  app.add_flag("--json", json, "print one JSON document on stdout (for scripts)");
  app.require_subcommand(1);
}

CLI::App* Cli::AddCommand(const std::string& name, const std::string& help, std::function<int()> action) {
  CLI::App* sub = app.add_subcommand(name, help);
  sub->fallthrough();  // --config / --json after the command too
  sub->footer("Global options, before or after the command: --config FILE, --json.");
  actions_[sub] = std::move(action);
  return sub;
}

int Cli::Run(int argc, char** argv) {
  // Set last so the commands do not inherit it.
  app.footer(
      "Run 'keyring-locker COMMAND --help' for a command's arguments. --config and --json may also\n"
      "follow the command. Exit status: 0 ok, 1 failed (the reason on stderr), 64 usage.\n"
      "Docs: docs/cli.md (in the package: /usr/share/doc/keyring-locker/cli.md.gz).");
  // CLI11 would call an unknown command "a subcommand is required": name it.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    bool known = false;
    for (const auto& entry : actions_) known = known || entry.first->check_name(arg);
    if (known) break;
    std::fprintf(stderr, "keyring-locker: unknown command '%s'; run 'keyring-locker --help' for the list\n",
                 arg.c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints the help, or the error and a hint
    return rc == 0 ? kExitOk : kExitUsage;
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    auto it = actions_.find(sub);
    if (it != actions_.end()) return it->second();
  }
  std::fprintf(stderr, "keyring-locker: no command given; run 'keyring-locker --help'\n");
  return kExitUsage;
}

StatusOr<std::unique_ptr<Backend>> OpenBackend(const Cli& cli, const std::string& command) {
  if (cli.config_path.empty()) {
    return InvalidArgument(command + " needs --config FILE: the keyring_locker JSON config naming the locker");
  }
  ASSIGN_OR_RETURN(Config config, LoadConfigFile(cli.config_path));
  for (const auto& w : config.warnings) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, Backend::Open(config));
  for (const auto& w : backend->warnings()) std::fprintf(stderr, "keyring-locker: WARNING: %s\n", w.c_str());
  return backend;
}

int Fail(const Cli& cli, const Status& s) {
  std::fprintf(stderr, "keyring-locker: %s\n", s.ToString().c_str());
  if (cli.json) PrintJson({{"error", s.ToString()}});
  return kExitFailed;
}

void PrintJson(const nlohmann::json& doc) {
  // Invalid UTF-8 (a foreign key name) is replaced, never thrown on.
  std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

StatusOr<uint32_t> ParseVersion(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || end == text.c_str() || *end != '\0' || v == 0 || v > 0xFFFFFFFEul) {
    return InvalidArgument(what + ": VERSION must be a positive number (1, 2, ...), not '" + text + "'");
  }
  return static_cast<uint32_t>(v);
}


}  // namespace keyring_locker
