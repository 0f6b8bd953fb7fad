// Writes to the server's error log through the my_print_error service (the
// only logging service a dynamic plugin can rely on in MariaDB 10.11), and
// reports statement errors to the client. Messages carry names, paths and
// numbers only, never key bytes or tokens (Status messages are built that way).
#pragma once

#include <string>

namespace keyring_locker::mariadb {

// When the plugin is configured through keyring_locker_* variables, messages
// from the core name the variable instead of the JSON field ("locker.urls").
void UseVariableNamesInMessages(bool on);

// Where messages go. kServerLog: the server's error log (ME_ERROR_LOG_ONLY).
// kConsole: mariadb-backup's --backup/--prepare, whose message hook
// (my_message_stderr) drops every ME_ERROR_LOG_ONLY and ME_NOTE message, so
// the plugin's cause and fix would never reach the operator; there they are
// printed as plain messages, which that hook writes to stderr, each tagged
// with its level.
enum class LogRoute { kServerLog, kConsole };
void SetLogRoute(LogRoute route);

void LogError(const std::string& message);
void LogWarning(const std::string& message);
void LogNote(const std::string& message);
// The error of the current statement (SET GLOBAL ...), also written to the log.
void ClientError(const std::string& message);
// A warning on the current statement (SHOW WARNINGS), written to the log too
// when `also_log`. Outside a statement the server writes it to the log anyway.
void StatementWarning(const std::string& message, bool also_log);

}  // namespace keyring_locker::mariadb
