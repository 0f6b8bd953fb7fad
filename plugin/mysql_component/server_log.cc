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

// What LogComponentErr puts in LOG_ITEM_SRV_COMPONENT: "component:" and
// the component's LOG_COMPONENT_TAG.
constexpr const char* kComponentItem = "component:component_keyring_locker";
// LOG_BUFF_MAX: the server formats a line's message into a buffer this big,
// so it never keeps more than this minus the terminating NUL.
constexpr size_t kLogBuffMax = 8192;

// Slot numbers in log_builtins' method table of the calls made here
// (include/mysql/components/services/log_builtins.h of each release).
struct LogBuiltinsSlots {
  const char* name;
  int item_set_int, item_set_cstring, line_item_set, line_init, line_exit, line_submit, errcode_by_errsymbol;
};
// 38 methods: ..., item_set_cstring, item_set_with_key, item_set,
// line_item_set_with_key, line_item_set, line_init, line_exit, ...,
// line_get_output_buffer, five iterator calls, line_submit, message,
// sanitize, errmsg_by_errcode, errcode_by_errsymbol, ...
constexpr LogBuiltinsSlots kSlotsWithoutLineSetFlag = {"without line_set_flag", 8, 11, 15, 16, 17, 26, 30};
// line_set_flag inserted after item_set_cstring (slot 12); the rest one further.
constexpr LogBuiltinsSlots kSlotsWithLineSetFlag = {"with line_set_flag", 8, 11, 16, 17, 18, 27, 31};

// The one place that maps a server version to a method table. A wrong table
// makes the first log line call some other method with the wrong arguments,
// which crashes mysqld, so only layouts read in the released headers are
// used, and every other version logs to stderr:
//   - 8.0.39 .. 8.0.x and 8.4.0 .. 8.4.7: no line_set_flag (read in
//     8.0.39, 8.0.42, 8.0.44 and 8.4.6);
//   - 8.4.8 and later 8.4, 9.3 and later 9.x: line_set_flag at slot 12
//     (read in 8.4.9, 9.3 and 9.7; 8.4.7 and 8.4.8 were not read: the
//     change lies between 8.4.6 and 8.4.9 and is placed at 8.4.8);
//   - 8.0.0 .. 8.0.38 (older tables not all checked), 8.1 .. 8.3 and
//     9.0 .. 9.2 (not checked; 9.0 probably still without line_set_flag),
//     10 and later, and anything unparsable: no table.
// Version strings look like "8.4.3-log", "9.3.0-commercial", "8.0.39-30".
const LogBuiltinsSlots* VerifiedSlotsFor(const std::string& version) {
  unsigned major = 0, minor = 0, patch = 0;
  if (std::sscanf(version.c_str(), "%u.%u.%u", &major, &minor, &patch) != 3) return nullptr;
  if (major == 8 && minor == 0) return patch >= 39 ? &kSlotsWithoutLineSetFlag : nullptr;
  if (major == 8 && minor == 4) return patch <= 7 ? &kSlotsWithoutLineSetFlag : &kSlotsWithLineSetFlag;
  if (major == 9 && minor >= 3) return &kSlotsWithLineSetFlag;
  return nullptr;
}

// ER_LOG_PRINTF_MSG is a small positive number in every release; a table
// that does not match the server answers with whatever the called slot
// returns (often a pointer).
bool PlausibleErrcode(long long code) { return code >= 1 && code <= 65535; }

// The message as LogComponentErr(prio, ER_LOG_PRINTF_MSG, "%s", message)
// words it, cut where the server's LOG_BUFF_MAX buffer would cut it (backed
// off to a UTF-8 character boundary so the line stays valid UTF-8).
std::string ServerLogMessage(const std::string& message) {
  std::string text = std::string("Component ") + kName + " reported: '" + message + "'";
  if (text.size() > kLogBuffMax - 1) {
    size_t cut = kLogBuffMax - 1;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  return text;
}

struct ServerLog {
  std::mutex mu;
  abi::Registry* registry = nullptr;
  abi::Handle log_builtins = nullptr;  // acquired handle, null = stderr
  const LogBuiltinsSlots* slots = nullptr;
  long long errcode = 0;  // ER_LOG_PRINTF_MSG as the server numbers it
  bool fallback_announced = false;
  // The server's table is not one to call (unverified version, implausible
  // ER_LOG_PRINTF_MSG): later keyring_loads do not try again.
  bool table_refused = false;
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
// the registry does not offer it (yet) or it does not answer.
std::string ServerVersion(abi::Registry* registry) {
  abi::Handle h = nullptr;
  if (registry->acquire("component_sys_variable_register", &h) != 0 || h == nullptr) return "";
  char buf[128] = {};
  void* value = buf;
  size_t length = sizeof(buf) - 1;
  auto* sysvar = static_cast<abi::SysVariableRegister*>(h);
  std::string version;
  if (sysvar->get_variable != nullptr && sysvar->get_variable("mysql_server", "version", &value, &length) == 0 &&
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
  if (version.empty()) {
    return "the server's version could not be read through component_sys_variable_register (not in the registry yet?)";
  }
  const LogBuiltinsSlots* slots = VerifiedSlotsFor(version);
  if (slots == nullptr) {
    s.table_refused = true;
    return "log_builtins layout of MySQL " + version + " is not verified by keyring_locker";
  }
  abi::Handle h = nullptr;
  if (s.registry->acquire("log_builtins", &h) != 0 || h == nullptr) return "the registry offers no log_builtins (yet)";
  auto lookup = Slot<abi::LogErrcodeBySymbol>(h, slots->errcode_by_errsymbol);
  const long long code = lookup != nullptr ? lookup("ER_LOG_PRINTF_MSG") : 0;
  if (!PlausibleErrcode(code)) {
    s.registry->release(h);
    s.table_refused = true;
    return "log_builtins of MySQL " + version + " (taken as the table " + slots->name +
           ") answered ER_LOG_PRINTF_MSG with " + std::to_string(code) + ", not an error code between 1 and 65535";
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
  const std::string text = ServerLogMessage(message);
  bool failed = set_int(item_set(ll, abi::kLogItemLogPrio), Prio(severity));
  failed = set_int(item_set(ll, abi::kLogItemSqlErrcode), s.errcode) || failed;
  failed = set_cstring(item_set(ll, abi::kLogItemSrvSubsys), "Server") || failed;
  failed = set_cstring(item_set(ll, abi::kLogItemSrvComponent), kComponentItem) || failed;
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
  if (s.log_builtins != nullptr || s.registry == nullptr || s.table_refused) return;
  const std::string why = TryAttach(s);
  if (!why.empty() && !s.fallback_announced) {
    s.fallback_announced = true;
    ToStderr(Severity::kNote, why + "; logging to stderr");
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
  s.table_refused = false;
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
