#include "plugin/mysql_component/server_log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common/rfc3339.h"
#include "plugin/mysql_component/component_abi.h"

namespace keyring_locker::mysql_component {
namespace {

constexpr const char* kName = "component_keyring_locker";

// Slot numbers in log_builtins' method table of the calls made here
// (include/mysql/components/services/log_builtins.h of each release).
struct LogBuiltinsSlots {
  const char* servers;
  int item_set_int, item_set_cstring, line_item_set, line_init, line_exit, line_submit, errcode_by_errsymbol;
};
// 8.0.24 .. 8.4: ..., item_set_cstring, item_set_with_key, item_set,
// line_item_set_with_key, line_item_set, line_init, line_exit, ...,
// line_get_output_buffer, five iterator calls, line_submit, message,
// sanitize, errmsg_by_errcode, errcode_by_errsymbol, ...
constexpr LogBuiltinsSlots kSlots80 = {"8.0.24 to 8.4", 8, 11, 15, 16, 17, 26, 30};
// 9.x: line_set_flag inserted after item_set_cstring; the rest one further.
constexpr LogBuiltinsSlots kSlots9 = {"9.x", 8, 11, 16, 17, 18, 27, 31};

// "8.4.3-log", "9.1.0-commercial", "8.0.36-28" (Percona).
const LogBuiltinsSlots* SlotsFor(const std::string& version) {
  unsigned major = 0, minor = 0, patch = 0;
  if (std::sscanf(version.c_str(), "%u.%u.%u", &major, &minor, &patch) != 3) return nullptr;
  if (major == 8 && ((minor == 0 && patch >= 24) || (minor >= 1 && minor <= 4))) return &kSlots80;
  if (major == 9) return &kSlots9;
  return nullptr;  // a layout nobody checked: never guess a method table
}

struct ServerLog {
  std::mutex mu;
  abi::Registry* registry = nullptr;
  abi::Handle log_builtins = nullptr;  // acquired handle, null = stderr
  const LogBuiltinsSlots* slots = nullptr;
  long long errcode = 0;  // ER_LOG_PRINTF_MSG as the server numbers it
  bool fallback_announced = false;
};
ServerLog& State() {
  static ServerLog s;
  return s;
}

template <typename F>
F Slot(abi::Handle service, int index) {
  return reinterpret_cast<F>(static_cast<void* const*>(service)[index]);
}

const char* Label(Severity s) {
  switch (s) {
    case Severity::kError: return "Error";
    case Severity::kWarning: return "Warning";
    case Severity::kNote: return "Note";
  }
  return "Error";
}
long long Prio(Severity s) {
  switch (s) {
    case Severity::kError: return abi::kErrorLevel;
    case Severity::kWarning: return abi::kWarningLevel;
    case Severity::kNote: return abi::kInformationLevel;
  }
  return abi::kErrorLevel;
}

void ToStderr(Severity severity, const std::string& message) {
  std::fprintf(stderr, "%s [%s] [%s] %s\n", NowRfc3339().c_str(), Label(severity), kName, message.c_str());
}

// The server's version through component_sys_variable_register; empty if
// the registry does not offer it (yet).
std::string ServerVersion(abi::Registry* registry) {
  abi::Handle h = nullptr;
  if (registry->acquire("component_sys_variable_register", &h) != 0 || h == nullptr) return "";
  char buf[128] = {};
  void* value = buf;
  size_t length = sizeof(buf) - 1;
  auto* sysvar = static_cast<abi::SysVariableRegister*>(h);
  std::string version;
  if (sysvar->get_variable != nullptr && !sysvar->get_variable("mysql_server", "version", &value, &length) &&
      length < sizeof(buf)) {
    version.assign(static_cast<const char*>(value), strnlen(static_cast<const char*>(value), length));
  }
  registry->release(h);
  return version;
}

// Under s.mu. Empty = attached; otherwise why not.
std::string TryAttach(ServerLog& s) {
  const char* forced = std::getenv("KEYRING_LOCKER_MYSQL_LOG");
  if (forced != nullptr && std::strcmp(forced, "stderr") == 0) return "KEYRING_LOCKER_MYSQL_LOG=stderr is set";
  const std::string version = ServerVersion(s.registry);
  if (version.empty()) return "the registry offers no component_sys_variable_register to read the server's version from (yet)";
  const LogBuiltinsSlots* slots = SlotsFor(version);
  if (slots == nullptr) {
    return "server version " + version + " is not one whose log_builtins layout this build knows (8.0.24 to 8.4, 9.x)";
  }
  abi::Handle h = nullptr;
  if (s.registry->acquire("log_builtins", &h) != 0 || h == nullptr) return "the registry offers no log_builtins (yet)";
  auto lookup = Slot<abi::LogErrcodeBySymbol>(h, slots->errcode_by_errsymbol);
  const long long code = lookup != nullptr ? lookup("ER_LOG_PRINTF_MSG") : 0;
  if (code <= 0) {
    s.registry->release(h);
    return "the server's log_builtins does not know ER_LOG_PRINTF_MSG";
  }
  s.log_builtins = h;
  s.slots = slots;
  s.errcode = code;
  return "";
}

// Under s.mu, attached. False if the server refused the line.
bool Submit(ServerLog& s, Severity severity, const std::string& message) {
  const LogBuiltinsSlots& k = *s.slots;
  auto line_init = Slot<abi::LogLineInit>(s.log_builtins, k.line_init);
  auto line_exit = Slot<abi::LogLineExit>(s.log_builtins, k.line_exit);
  auto item_set = Slot<abi::LogLineItemSet>(s.log_builtins, k.line_item_set);
  auto set_int = Slot<abi::LogItemSetInt>(s.log_builtins, k.item_set_int);
  auto set_cstring = Slot<abi::LogItemSetCstring>(s.log_builtins, k.item_set_cstring);
  auto submit = Slot<abi::LogLineSubmit>(s.log_builtins, k.line_submit);
  abi::LogLine* ll = line_init();
  if (ll == nullptr) return false;
  // As LogComponentErr(prio, ER_LOG_PRINTF_MSG, "%s", message) words it.
  const std::string text = std::string("Component ") + kName + " reported: '" + message + "'";
  bool failed = set_int(item_set(ll, abi::kLogItemLogPrio), Prio(severity));
  failed = set_int(item_set(ll, abi::kLogItemSqlErrcode), s.errcode) || failed;
  failed = set_cstring(item_set(ll, abi::kLogItemSrvSubsys), "Server") || failed;
  failed = set_cstring(item_set(ll, abi::kLogItemSrvComponent), kName) || failed;
  failed = set_cstring(item_set(ll, abi::kLogItemLogMessage), text.c_str()) || failed;
  if (!failed) submit(ll);  // the server copies what it keeps (buffered start-up lines too)
  line_exit(ll);
  return !failed;
}

}  // namespace

void AttachServerLog(void* registry) {
  ServerLog& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (registry != nullptr) s.registry = static_cast<abi::Registry*>(registry);
  if (s.log_builtins != nullptr || s.registry == nullptr) return;
  const std::string why = TryAttach(s);
  if (!why.empty() && !s.fallback_announced) {
    s.fallback_announced = true;
    ToStderr(Severity::kNote, "logging to stderr with a severity prefix, not through the server's error-log "
                              "services: " + why);
  }
}

void DetachServerLog() {
  ServerLog& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.log_builtins != nullptr && s.registry != nullptr) s.registry->release(s.log_builtins);
  s.log_builtins = nullptr;
  s.slots = nullptr;
  s.registry = nullptr;
  s.fallback_announced = false;
}

bool ServerLogAttached() {
  ServerLog& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.log_builtins != nullptr;
}

void Log(Severity severity, const std::string& message) {
  ServerLog& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.log_builtins != nullptr && Submit(s, severity, message)) return;
  ToStderr(severity, message);
}

}  // namespace keyring_locker::mysql_component
