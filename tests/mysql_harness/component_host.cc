#include "tests/mysql_harness/component_host.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>

namespace mysqlh {
namespace {

struct Entry {
  void* implementation;
  int references = 0;
};
std::mutex g_mu;
std::map<std::string, Entry> g_services;  // "<service>.<implementation>" -> entry

Entry* FindByHandle(my_h_service h, std::string* name) {
  for (auto& [n, e] : g_services) {
    if (e.implementation == h) {
      if (name != nullptr) *name = n;
      return &e;
    }
  }
  return nullptr;
}

int RegAcquire(const char* service_name, my_h_service* out) {
  std::lock_guard<std::mutex> lock(g_mu);
  const std::string want = service_name;
  for (auto& [n, e] : g_services) {
    // "svc" finds the first implementation; "svc.impl" exactly that one.
    if (n == want || (want.find('.') == std::string::npos && n.compare(0, want.size() + 1, want + ".") == 0)) {
      ++e.references;
      *out = e.implementation;
      return 0;
    }
  }
  return 1;
}
int RegAcquireRelated(const char* service_name, my_h_service related, my_h_service* out) {
  std::string related_name;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (FindByHandle(related, &related_name) == nullptr) return 1;
  }
  const std::string impl = related_name.substr(related_name.find('.') + 1);
  return RegAcquire((std::string(service_name) + "." + impl).c_str(), out);
}
int RegRelease(my_h_service h) {
  std::lock_guard<std::mutex> lock(g_mu);
  Entry* e = FindByHandle(h, nullptr);
  if (e == nullptr || e->references == 0) return 1;
  --e->references;
  return 0;
}

s_mysql_registry g_registry = {RegAcquire, RegAcquireRelated, RegRelease};
const bool g_registry_registered = [] {
  g_services["registry.mysql_server"] = Entry{&g_registry, 0};
  return true;
}();

// ---- log_builtins and component_sys_variable_register ----

// The method tables in declaration order (include/mysql/components/services/
// log_builtins.h of each release), written down by name here, apart from
// the component's slot numbers.
const std::vector<std::string>& LogBuiltinsMethods(LogBuiltinsTable table) {
  static const std::vector<std::string> without_flag = {
      "wellknown_by_type", "wellknown_by_name", "wellknown_get_type", "wellknown_get_name", "item_inconsistent",
      "item_generic_type", "item_string_class", "item_numeric_class", "item_set_int", "item_set_float",
      "item_set_lexstring", "item_set_cstring", "item_set_with_key", "item_set", "line_item_set_with_key",
      "line_item_set", "line_init", "line_exit", "line_item_count", "line_item_types_seen",
      "line_get_output_buffer", "line_item_iter_acquire", "line_item_iter_release", "line_item_iter_first",
      "line_item_iter_next", "line_item_iter_current", "line_submit", "message", "sanitize", "errmsg_by_errcode",
      "errcode_by_errsymbol", "label_from_prio", "parse_iso8601_timestamp", "open_errstream", "write_errstream",
      "dedicated_errstream", "close_errstream", "reopen_errstream"};
  static const std::vector<std::string> with_flag = [] {
    std::vector<std::string> m = without_flag;
    m.insert(m.begin() + 12, "line_set_flag");  // after item_set_cstring
    return m;
  }();
  // A table of the right length whose methods nobody wrote down: all traps.
  static const std::vector<std::string> unknown(with_flag.size(), "unknown");
  switch (table) {
    case LogBuiltinsTable::kWithoutLineSetFlag: return without_flag;
    case LogBuiltinsTable::kWithLineSetFlag: return with_flag;
    case LogBuiltinsTable::kUnknown: break;
  }
  return unknown;
}

struct HItem {
  unsigned type = 0;
  bool is_int = false, is_string = false;
  long long i = 0;
  std::string s;
};
struct HLine {
  std::deque<HItem> items;  // stable addresses: the component holds item pointers
};

std::mutex g_log_mu;
std::vector<ComponentLogLine> g_log_lines;
size_t g_traps = 0;
size_t g_open_lines = 0;
std::string g_version;
long long g_er_log_printf_msg = kErLogPrintfMsg;
LogBuiltinsTable g_table = LogBuiltinsTable::kUnknown;
std::vector<void*> g_log_table;

void* Trap() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  ++g_traps;
  return nullptr;
}
void* LineInit() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  ++g_open_lines;
  return new HLine();
}
void LineExit(void* ll) {
  if (ll == nullptr) return;
  std::lock_guard<std::mutex> lock(g_log_mu);
  --g_open_lines;
  delete static_cast<HLine*>(ll);
}
void* LineItemSet(void* ll, unsigned type) {
  if (ll == nullptr) return nullptr;
  auto* line = static_cast<HLine*>(ll);
  line->items.emplace_back();
  line->items.back().type = type;
  return &line->items.back();
}
bool ItemSetInt(void* lid, long long v) {
  if (lid == nullptr) return true;
  auto* item = static_cast<HItem*>(lid);
  item->is_int = true;
  item->i = v;
  return false;
}
bool ItemSetCstring(void* lid, const char* v) {
  if (lid == nullptr) return true;
  auto* item = static_cast<HItem*>(lid);
  item->is_string = true;
  item->s = v == nullptr ? "" : v;
  return false;
}
int LineSubmit(void* ll) {
  if (ll == nullptr) return 0;
  ComponentLogLine out;
  for (const HItem& item : static_cast<HLine*>(ll)->items) {
    switch (item.type) {
      case 1u << 16: out.prio = item.is_int ? item.i : -2; break;
      case 1u << 1: out.errcode = item.is_int ? item.i : -2; break;
      case 1u << 9: out.subsystem = item.s; break;
      case 1u << 10: out.component = item.s; break;
      case 1u << 19: out.message = item.s; break;
      default: break;
    }
  }
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log_lines.push_back(out);
  return static_cast<int>(static_cast<HLine*>(ll)->items.size());
}
long long ErrcodeBySymbol(const char* symbol) {
  if (symbol == nullptr || std::strcmp(symbol, "ER_LOG_PRINTF_MSG") != 0) return 0;
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_er_log_printf_msg;
}

// DECLARE_BOOL_METHOD: mysql_service_status_t (int), 0 = success. Failures
// answer 0x100, which a caller reading a one-byte bool would take for success.
constexpr int kSysVarFailure = 0x100;
int GetVariable(const char* component, const char* name, void** value, size_t* length) {
  if (component == nullptr || name == nullptr || value == nullptr || *value == nullptr || length == nullptr)
    return kSysVarFailure;
  if (std::strcmp(component, "mysql_server") != 0 || std::strcmp(name, "version") != 0) return kSysVarFailure;
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (*length < g_version.size() + 1) {
    *length = g_version.size() + 1;
    return kSysVarFailure;
  }
  std::memcpy(*value, g_version.c_str(), g_version.size() + 1);
  *length = g_version.size();
  return 0;
}
int RegisterVariableTrap() {
  Trap();
  return 1;
}
struct SysVarRegister {
  int (*register_variable)();  // not used by the component
  int (*get_variable)(const char*, const char*, void**, size_t*);
};
SysVarRegister g_sysvar = {RegisterVariableTrap, GetVariable};

}  // namespace

// Written from the release headers on its own, not taken from the
// component, so a wrong boundary in either shows as a failing test.
LogBuiltinsTable LogBuiltinsTableOf(const std::string& version) {
  int major = -1, minor = -1, patch = -1;
  if (std::sscanf(version.c_str(), "%d.%d.%d", &major, &minor, &patch) != 3) return LogBuiltinsTable::kUnknown;
  const bool v8_0_late = major == 8 && minor == 0 && patch >= 39;
  const bool v8_4_early = major == 8 && minor == 4 && patch <= 7;
  const bool v8_4_late = major == 8 && minor == 4 && patch >= 8;
  const bool v9_late = major == 9 && minor >= 3;
  if (v8_0_late || v8_4_early) return LogBuiltinsTable::kWithoutLineSetFlag;
  if (v8_4_late || v9_late) return LogBuiltinsTable::kWithLineSetFlag;
  return LogBuiltinsTable::kUnknown;
}

LogBuiltinsTable InstalledLogBuiltinsTable() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_table;
}

void InstallServerLogServices(const ServerLogOptions& options) {
  RemoveServerLogServices();
  {
    std::lock_guard<std::mutex> lock(g_log_mu);
    g_version = options.version;
    g_er_log_printf_msg = options.er_log_printf_msg;
    g_table = LogBuiltinsTableOf(options.version);
    g_log_table.clear();
    for (const std::string& m : LogBuiltinsMethods(g_table)) {
      void* f = reinterpret_cast<void*>(&Trap);
      if (m == "line_init") f = reinterpret_cast<void*>(&LineInit);
      if (m == "line_exit") f = reinterpret_cast<void*>(&LineExit);
      if (m == "line_item_set") f = reinterpret_cast<void*>(&LineItemSet);
      if (m == "item_set_int") f = reinterpret_cast<void*>(&ItemSetInt);
      if (m == "item_set_cstring") f = reinterpret_cast<void*>(&ItemSetCstring);
      if (m == "line_submit") f = reinterpret_cast<void*>(&LineSubmit);
      if (m == "errcode_by_errsymbol") f = reinterpret_cast<void*>(&ErrcodeBySymbol);
      g_log_table.push_back(f);
    }
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (options.log_builtins) g_services["log_builtins.mysql_server"] = Entry{g_log_table.data(), 0};
  if (options.sys_variables) g_services["component_sys_variable_register.mysql_server"] = Entry{&g_sysvar, 0};
}

void RemoveServerLogServices() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_services.erase("log_builtins.mysql_server");
  g_services.erase("component_sys_variable_register.mysql_server");
}

std::vector<ComponentLogLine> ComponentLogLines() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_log_lines;
}
void ClearComponentLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log_lines.clear();
  g_traps = 0;
}
size_t LogBuiltinsTrapCalls() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_traps;
}
size_t OpenLogLines() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  return g_open_lines;
}

std::unique_ptr<ComponentHost> ComponentHost::Load(const std::string& so_path, std::string* error) {
  (void)g_registry_registered;
  std::unique_ptr<ComponentHost> host(new ComponentHost());
  host->path_ = so_path;
  host->dl_ = dlopen(so_path.c_str(), RTLD_NOW);
  if (host->dl_ == nullptr) {
    *error = std::string("dlopen failed: ") + dlerror();
    return nullptr;
  }
  auto list = reinterpret_cast<list_components_func>(dlsym(host->dl_, "list_components"));
  if (list == nullptr) {
    *error = "list_components is not exported";
    return nullptr;
  }
  host->component_ = list();
  if (host->component_ == nullptr || host->component_->name == nullptr || host->component_->provides == nullptr) {
    *error = "list_components returned no component";
    return nullptr;
  }
  // Requirements first, as the dynamic loader does.
  for (auto* r = host->component_->requires_; r != nullptr && r->name != nullptr; ++r) {
    my_h_service h = nullptr;
    if (RegAcquire(r->name, &h) != 0) {
      *error = std::string("required service ") + r->name + " is not in the registry";
      return nullptr;
    }
    *r->implementation = h;
    host->acquired_.push_back(h);
  }
  if (host->component_->init == nullptr || host->component_->init() != 0) {
    *error = "component init() failed";
    return nullptr;
  }
  host->initialized_ = true;
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto* p = host->component_->provides; p->name != nullptr; ++p) {
    if (g_services.count(p->name) != 0) {
      *error = std::string("service ") + p->name + " is registered twice";
      return nullptr;
    }
    g_services[p->name] = Entry{p->implementation, 0};
  }
  return host;
}

void* ComponentHost::AcquireRelated(const std::string& service) {
  my_h_service reader = nullptr;
  if (RegAcquire("keyring_reader_with_status", &reader) != 0) return nullptr;
  acquired_.push_back(reader);
  if (service == "keyring_reader_with_status") return reader;
  my_h_service h = nullptr;
  if (RegAcquireRelated(service.c_str(), reader, &h) != 0) return nullptr;
  acquired_.push_back(h);
  return h;
}

size_t ComponentHost::outstanding_references() const {
  std::lock_guard<std::mutex> lock(g_mu);
  size_t n = 0;
  for (const auto& [name, e] : g_services) n += static_cast<size_t>(e.references);
  return n;
}

bool ComponentHost::Unload(std::string* error) {
  for (my_h_service h : acquired_) RegRelease(h);
  acquired_.clear();
  // As the dynamic loader: no unload while the component's services are in
  // use; after deinit() nothing it acquired itself (log services) may be held.
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto* p = component_->provides; p->name != nullptr; ++p) {
      auto it = g_services.find(p->name);
      if (it != g_services.end() && it->second.references != 0) *error += std::string(p->name) + " still in use; ";
    }
  }
  if (initialized_ && component_->deinit() != 0) *error += "deinit() failed; ";
  initialized_ = false;
  if (outstanding_references() != 0) *error += "service references outstanding after deinit; ";
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto* p = component_->provides; p->name != nullptr; ++p) g_services.erase(p->name);
  }
  if (dl_ != nullptr) {
    dlclose(dl_);
    dl_ = nullptr;
    if (void* still = dlopen(path_.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      dlclose(still);
      *error += "the component stayed loaded after dlclose";
    }
  }
  return error->empty();
}

ComponentHost::~ComponentHost() {
  std::string ignored;
  if (dl_ != nullptr) Unload(&ignored);
}

}  // namespace mysqlh
