// keyring-locker: the operator's command line. Talks to the locker with the
// same config file and core as the server plugins, so what works here works
// in the server. Never prints key bytes: a key is shown by a short SHA-256
// fingerprint only. Each command lives in its own file (tools/commands.h).
#include <cstdio>
#include <exception>

#include "tools/commands.h"

int main(int argc, char** argv) {
  try {
    keyring_locker::Cli cli;
    keyring_locker::AddKeyCommands(cli);
    keyring_locker::AddInspectCommand(cli);
    keyring_locker::AddImportCommand(cli);
    keyring_locker::AddAuditCommand(cli);
    keyring_locker::AddCheckCommand(cli);
    keyring_locker::AddBundleCommands(cli);
    keyring_locker::AddMigrateCommand(cli);
    return cli.Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "keyring-locker: internal error: %s\n", e.what());
    return 70;
  }
}
