// The command line's frame: one CLI11 app, global options (--config, --json)
// and a table of commands, each added by its own file (tools/commands.h).
// Every command returns its exit status; none throws into main.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "keyring_backend/backend.h"

namespace keyring_locker {

// Exit statuses shared by every command (sysexits.h's EX_USAGE for usage).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // a check failed, an item was refused, the locker said no
inline constexpr int kExitUsage = 64;

struct Cli {
  CLI::App app{"keyring-locker: the operator's tool for keyring_locker's keys and lockers", "keyring-locker"};
  std::string config_path;  // --config FILE: the same JSON file the server plugin reads
  bool json = false;        // --json: one JSON document on stdout instead of text

  Cli();

  // Adds a command; `action` runs after the whole line parsed (so options
  // may come in any order) and returns the exit status.
  CLI::App* AddCommand(const std::string& name, const std::string& help, std::function<int()> action);

  // Parses argv and runs the chosen command.
  int Run(int argc, char** argv);

 private:
  std::map<const CLI::App*, std::function<int()>> actions_;
};

// Loads --config and opens the backend, printing the config's and backend's
// warnings on stderr. `command` names the caller in the error for a missing
// --config.
StatusOr<std::unique_ptr<Backend>> OpenBackend(const Cli& cli, const std::string& command);

// "keyring-locker: <status>" on stderr; returns kExitFailed. With --json the
// error also goes to stdout as {"error": ...} so scripts get one document.
int Fail(const Cli& cli, const Status& s);

// One JSON document on stdout, indented, with a newline.
void PrintJson(const nlohmann::json& doc);

// A key version typed by the operator: 1..0xFFFFFFFE, else a clear error.
StatusOr<uint32_t> ParseVersion(const std::string& text, const std::string& what);


}  // namespace keyring_locker
