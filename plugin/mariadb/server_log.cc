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

// The server formats into a 512-byte buffer: longer messages go out as
// several lines, cut at spaces, so the fix at the end is never lost.
constexpr size_t kChunk = 440;

void Print(unsigned long flags, const std::string& message) {
  const std::string text = g_variable_names ? RenameFieldsToVariables(message) : message;
  if (text.size() <= kChunk || !(flags & ME_ERROR_LOG_ONLY)) {
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
