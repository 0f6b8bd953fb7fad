// Each file under tools/ that defines commands adds them here; main calls
// every Add*Commands in the order `--help` lists them.
#pragma once

#include "tools/cli.h"

namespace keyring_locker {

// health, list, ensure, rotate, fingerprint, demo, deleted, undelete,
// purge-deleted (tools/key_commands.cc).
void AddKeyCommands(Cli& cli);
// inspect (tools/inspect_command.cc).
void AddInspectCommand(Cli& cli);
// import (tools/import_command.cc; readers in tools/import/).
void AddImportCommand(Cli& cli);
// audit-verify (tools/key_commands.cc).
void AddAuditCommand(Cli& cli);
// check (tools/check_command.cc, tools/check_*.cc).
void AddCheckCommand(Cli& cli);
// export, restore (tools/bundle_command.cc).
void AddBundleCommands(Cli& cli);
// migrate (tools/migrate_command.cc).
void AddMigrateCommand(Cli& cli);

}  // namespace keyring_locker
