#include "plugin/mariadb/server_log.h"

#include <mysql/plugin.h>
#include <mysql/service_my_print_error.h>
#include <mysqld_error.h>

#include <atomic>

#include "plugin/mariadb/sysvar_config.h"

namespace keyring_locker::mariadb {
namespace {

// my_printf_error formats into a 512-byte buffer; longer messages are cut
// there. Passing the text as a %s argument keeps '%' in paths harmless.
std::atomic<bool> g_variable_names{false};

void Print(unsigned long flags, const std::string& message) {
  const std::string text = g_variable_names ? RenameFieldsToVariables(message) : message;
  my_printf_error(ER_UNKNOWN_ERROR, "keyring_locker: %s", flags, text.c_str());
}

}  // namespace

void UseVariableNamesInMessages(bool on) { g_variable_names = on; }

void LogError(const std::string& message) { Print(ME_ERROR_LOG_ONLY, message); }
void LogWarning(const std::string& message) { Print(ME_ERROR_LOG_ONLY | ME_WARNING, message); }
void LogNote(const std::string& message) { Print(ME_ERROR_LOG_ONLY | ME_NOTE, message); }
void ClientError(const std::string& message) { Print(ME_ERROR_LOG, message); }

}  // namespace keyring_locker::mariadb
