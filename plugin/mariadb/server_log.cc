#include "plugin/mariadb/server_log.h"

#include <mysql/plugin.h>
#include <mysql/service_my_print_error.h>
#include <mysqld_error.h>

#include <algorithm>
#include <atomic>

#include "plugin/mariadb/sysvar_config.h"

namespace keyring_locker::mariadb {
namespace {

// my_printf_error formats into a 512-byte buffer; longer messages are cut
// there. Passing the text as a %s argument keeps '%' in paths harmless.
std::atomic<bool> g_variable_names{false};
std::atomic<LogRoute> g_route{LogRoute::kServerLog};

// The server formats into a 512-byte buffer: longer messages go out as
// several lines, cut at spaces, so the fix at the end is never lost.
constexpr size_t kChunk = 440;

// The level my_message_stderr would not show: it prints the text alone.
const char* LevelTag(unsigned long flags) {
  if (flags & ME_NOTE) return "[Note] ";
  if (flags & ME_WARNING) return "[Warning] ";
  return "[ERROR] ";
}

void Print(unsigned long flags, const std::string& message) {
  std::string text = g_variable_names ? RenameFieldsToVariables(message) : message;
  // A statement's error is one message (the client sees it whole); log lines
  // are cut into chunks instead.
  const bool statement_error = !(flags & ME_ERROR_LOG_ONLY);
  if (g_route == LogRoute::kConsole && !statement_error) {
    // Flags 0: mariadb-backup's hook prints it ("mariabackup: ..."). No
    // statement runs there, so it reaches no client instead.
    text = LevelTag(flags) + text;
    flags = 0;
  }
  if (text.size() <= kChunk || statement_error) {
    my_printf_error(ER_UNKNOWN_ERROR, "keyring_locker: %s", flags, text.substr(0, kChunk + 60).c_str());
    if (text.size() > kChunk + 60) Print(ME_ERROR_LOG_ONLY, "(full message) " + text);
    return;
  }
  size_t start = 0;
  bool first = true;
  while (start < text.size()) {
    size_t end = std::min(text.size(), start + kChunk);
    if (end < text.size()) {
      const size_t space = text.rfind(' ', end);
      if (space != std::string::npos && space > start) end = space;
    }
    my_printf_error(ER_UNKNOWN_ERROR, first ? "keyring_locker: %s" : "keyring_locker: ... %s", flags,
                    text.substr(start, end - start).c_str());
    first = false;
    start = end + (end < text.size() && text[end] == ' ' ? 1 : 0);
  }
}

}  // namespace

void UseVariableNamesInMessages(bool on) { g_variable_names = on; }
void SetLogRoute(LogRoute route) { g_route = route; }

void LogError(const std::string& message) { Print(ME_ERROR_LOG_ONLY, message); }
void LogWarning(const std::string& message) { Print(ME_ERROR_LOG_ONLY | ME_WARNING, message); }
void LogNote(const std::string& message) { Print(ME_ERROR_LOG_ONLY | ME_NOTE, message); }
void ClientError(const std::string& message) { Print(ME_ERROR_LOG, message); }
void StatementWarning(const std::string& message, bool also_log) {
  const std::string text = g_variable_names ? RenameFieldsToVariables(message) : message;
  if (!also_log || text.size() <= kChunk) {
    Print(ME_WARNING | (also_log ? ME_ERROR_LOG : 0), message);
    return;
  }
  // Too long for one line: the log gets it whole, in chunks, as before
  // the warning existed (one match per failure for log scanners); the
  // statement gets the first 500 characters.
  Print(ME_ERROR_LOG_ONLY, message);
  my_printf_error(ER_UNKNOWN_ERROR, "keyring_locker: %s", ME_WARNING, text.substr(0, kChunk + 60).c_str());
}

}  // namespace keyring_locker::mariadb
