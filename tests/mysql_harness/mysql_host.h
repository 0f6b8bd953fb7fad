// The server side of the harness: what mysqld provides to a keyring plugin
// (plugin services, system variable storage, the loader's checks) and the
// way it calls the plugin. Strict on purpose: every memory block the server
// frees must have come from its own malloc service, the log service must be
// called with the handle init() received, and the plugin must really unload.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/mysql_harness/mysql_abi.h"

namespace mysqlh {

// ---- the server's allocator and log, shared by plugin and component hosts ----
struct AllocationStats {
  size_t outstanding = 0;  // blocks handed out and not yet freed
  size_t foreign_frees = 0;  // frees of blocks the service never handed out
};
AllocationStats Allocations();
void ServerFree(void* p);  // my_free
mysql_malloc_service_st* MallocService();

struct LogLine {
  int level;
  std::string text;
};
std::vector<LogLine> LogLines();
void ClearLog();
size_t LogHandleMismatches();  // log calls with a handle init() never received

class PluginHost {
 public:
  // dlopen(RTLD_NOW) as plugin_dl_add does, the loader's version and size
  // checks, then the service pointers replaced by ours. Empty error = loaded.
  static std::unique_ptr<PluginHost> Load(const std::string& so_path, std::string* error);
  ~PluginHost();

  // Sets keyring_locker_config, checks the descriptor as plugin_add does
  // (type, keyring interface, early load) and calls init().
  bool Init(const std::string& config_path, std::string* error);
  // deinit(), dlclose(), and a check that the object is really gone.
  bool Unload(std::string* error);

  const st_mysql_plugin& descriptor() const { return *descriptor_; }
  const st_mysql_keyring& keyring() const { return *static_cast<st_mysql_keyring*>(descriptor_->info); }
  void* dl() const { return dl_; }
  int exported_interface_version() const { return interface_version_; }

  // The calls the server makes, with the server's memory handling.
  struct Fetched {
    bool error = true;
    bool found = false;
    std::vector<uint8_t> key;
    std::string type;
  };
  Fetched Fetch(const std::string& id, const char* user = nullptr);
  bool Generate(const std::string& id, const std::string& type, size_t len, const char* user = nullptr);
  bool Store(const std::string& id, const std::string& type, const std::vector<uint8_t>& key, const char* user = nullptr);
  bool Remove(const std::string& id, const char* user = nullptr);
  // (key_id, user_id) pairs via iterator_init / get_key / deinit; false on error.
  bool Iterate(std::vector<std::pair<std::string, std::string>>* out);
  std::map<std::string, std::string> StatusVariables();

 private:
  PluginHost() = default;
  std::string path_;
  void* dl_ = nullptr;
  st_mysql_plugin* descriptor_ = nullptr;
  int interface_version_ = 0;
  bool initialized_ = false;
  std::string config_value_;
  char plugin_int_[64] = {};  // stands in for the server's st_plugin_int
};

}  // namespace mysqlh

namespace mysqlh {
// Names of the symbols an ELF shared object defines in .dynsym (reads the
// file; no loader involved).
std::vector<std::string> DefinedDynamicSymbols(const std::string& so_path, std::string* error);
}  // namespace mysqlh
