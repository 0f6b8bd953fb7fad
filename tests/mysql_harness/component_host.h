// The server side for the keyring component: a minimal registry (acquire /
// acquire_related / release by name, with reference counts checked at
// unload) and the loading steps mysqld's dynamic loader takes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/mysql_harness/mysql_abi.h"

namespace mysqlh {

// The server's error-log services as a component reaches them through the
// registry: log_builtins (only the calls LogComponentErr makes are real;
// every other slot is a trap that counts) and component_sys_variable_register
// (get_variable of mysql_server's "version", which picks the log_builtins
// layout). Submitted lines are recorded.
struct ComponentLogLine {
  long long prio = -1;     // enum loglevel: 1 error, 2 warning, 3 information
  long long errcode = -1;  // LOG_ITEM_SQL_ERRCODE
  std::string subsystem;   // LOG_ITEM_SRV_SUBSYS
  std::string component;   // LOG_ITEM_SRV_COMPONENT
  std::string message;     // LOG_ITEM_LOG_MESSAGE
};
// ER_LOG_PRINTF_MSG as this harness's errcode_by_errsymbol answers it.
constexpr long long kErLogPrintfMsg = 11071;
struct ServerLogOptions {
  std::string version = "8.4.3";  // picks the method table (LogBuiltinsTableOf)
  bool log_builtins = true;       // false: the registry has none (a keyring loaded very early)
  bool sys_variables = true;
  // What errcode_by_errsymbol("ER_LOG_PRINTF_MSG") answers: another value
  // plays a method table that does not match the server.
  long long er_log_printf_msg = kErLogPrintfMsg;
};
// The log_builtins method table a server of that version has, as far as
// the harness knows from the released headers: without line_set_flag (8.0.39
// to 8.0.x, 8.4.0 to 8.4.7), with it at slot 12 (8.4.8 and later 8.4, 9.3
// and later 9.x), or unknown (every other version): then every slot is a
// trap, as nothing may be called through a table nobody checked.
enum class LogBuiltinsTable { kWithoutLineSetFlag, kWithLineSetFlag, kUnknown };
LogBuiltinsTable LogBuiltinsTableOf(const std::string& version);
void InstallServerLogServices(const ServerLogOptions& options);
LogBuiltinsTable InstalledLogBuiltinsTable();
void RemoveServerLogServices();
std::vector<ComponentLogLine> ComponentLogLines();
void ClearComponentLog();
size_t LogBuiltinsTrapCalls();  // calls into slots LogComponentErr never uses
size_t OpenLogLines();          // line_init without line_exit

class ComponentHost {
 public:
  // dlopen(RTLD_NOW), list_components(), satisfy "requires" from the
  // registry, init(), register "provides". Empty error = loaded.
  static std::unique_ptr<ComponentHost> Load(const std::string& so_path, std::string* error);
  ~ComponentHost();
  // Releases, deinit(), unregister, dlclose, and a check that it is gone.
  bool Unload(std::string* error);

  const mysql_component_t& component() const { return *component_; }
  // The server's way in (mysql_server_keyring_lockable_imp.cc): the
  // default keyring_reader_with_status, then the others from the same
  // implementation via acquire_related. Null if any is missing.
  template <typename T>
  T* Acquire(const std::string& service) {
    return static_cast<T*>(AcquireRelated(service));
  }
  size_t outstanding_references() const;

 private:
  ComponentHost() = default;
  void* AcquireRelated(const std::string& service);
  std::string path_;
  void* dl_ = nullptr;
  mysql_component_t* component_ = nullptr;
  bool initialized_ = false;
  std::vector<my_h_service> acquired_;
};

}  // namespace mysqlh
