// The component's error log: the server's log_builtins service, as MySQL's
// own components log (LogComponentErr: a severity, the ER_LOG_PRINTF_MSG
// code, subsystem "Server", the component's name), so every line carries a
// severity and an error code and shows in performance_schema.error_log.
//
// Keyring components load early, from the manifest, possibly before the
// registry offers log_builtins; then, or when the server's version is not
// one whose log_builtins layout was verified (server_log.cc), lines go to
// stderr with a severity prefix (mysqld sends stderr to its error log) and
// one Note says why.
#pragma once

#include <string>

namespace keyring_locker::mysql_component {

enum class Severity { kError, kWarning, kNote };

// Acquires component_sys_variable_register (for the server's version) and
// log_builtins through `registry` (abi::Registry*). Idempotent; called at
// init and again at every keyring_load, so a server whose log services
// appear after the component was loaded gets them at the first load.
void AttachServerLog(void* registry);
// Releases what AttachServerLog acquired (component deinit).
void DetachServerLog();
bool ServerLogAttached();

void Log(Severity severity, const std::string& message);

}  // namespace keyring_locker::mysql_component
