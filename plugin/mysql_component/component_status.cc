// keyring_component_status, keyring_component_metadata_query (the rows of
// performance_schema.keyring_component_status) and keyring_load.
#include <cstring>

#include "plugin/mysql_component/component_services.h"
#include "plugin/mysql_component/component_state.h"

namespace keyring_locker::mysql_component {
namespace {

int IsInitialized() { return Current() != nullptr ? 1 : 0; }

using Rows = std::vector<std::pair<std::string, std::string>>;

Rows StatusRows() {
  Rows rows = {{"Component_name", kComponentName},
               {"Author", "keyring_locker authors"},
               {"License", "GPL"},
               {"Implementation_name", kComponentName},
               {"Version", "0.1.0"}};
  auto in = Current();
  if (!in) {
    rows.emplace_back("Component_status", "Disabled");
    return rows;
  }
  const BackendStatus s = in->backend->status();
  const Config& c = in->backend->config();
  rows.emplace_back("Component_status", "Active");
  rows.emplace_back("Config_file", in->config_file);
  rows.emplace_back("Locker", s.locker);
  rows.emplace_back("Scope", c.keys.prefix + "/" + c.keys.scope);
  rows.emplace_back("Active_endpoint", s.http.active_endpoint);
  rows.emplace_back("Locker_health", s.keys.last_error.empty() ? "ok" : "error");
  rows.emplace_back("Last_error", s.keys.last_error);
  rows.emplace_back("Cache_entries", std::to_string(s.keys.cache.entries));
  rows.emplace_back("Cache_hits", std::to_string(s.keys.cache.hits));
  rows.emplace_back("Cache_misses", std::to_string(s.keys.cache.misses));
  rows.emplace_back("Locker_requests", std::to_string(s.keys.locker_requests));
  rows.emplace_back("Locker_errors", std::to_string(s.keys.locker_errors));
  rows.emplace_back("Stale_serves", std::to_string(s.keys.stale_serves));
  rows.emplace_back("Token_ttl_seconds", std::to_string(s.auth.ttl.count()));
  return rows;
}

struct RowIterator {
  Rows rows;
  size_t pos = 0;
};

int MetaInit(abi::Handle* out) {
  if (out == nullptr) return 1;
  try {
    *out = new RowIterator{StatusRows(), 0};
    return 0;
  } catch (...) {
    *out = nullptr;
    return 1;
  }
}
int MetaDeinit(abi::Handle h) {
  delete static_cast<RowIterator*>(h);
  return 0;
}
int MetaIsValid(abi::Handle h) {
  auto* it = static_cast<RowIterator*>(h);
  return it != nullptr && it->pos < it->rows.size() ? 1 : 0;
}
int MetaNext(abi::Handle h) {
  auto* it = static_cast<RowIterator*>(h);
  if (it == nullptr || it->pos >= it->rows.size()) return 1;
  ++it->pos;
  return it->pos < it->rows.size() ? 0 : 1;
}
int MetaGetLength(abi::Handle h, size_t* key_len, size_t* value_len) {
  if (MetaIsValid(h) != 1 || key_len == nullptr || value_len == nullptr) return 1;
  const auto& row = static_cast<RowIterator*>(h)->rows[static_cast<RowIterator*>(h)->pos];
  *key_len = row.first.size();
  *value_len = row.second.size();
  return 0;
}
int MetaGet(abi::Handle h, char* key, size_t key_len, char* value, size_t value_len) {
  if (MetaIsValid(h) != 1 || key == nullptr || value == nullptr) return 1;
  const auto& row = static_cast<RowIterator*>(h)->rows[static_cast<RowIterator*>(h)->pos];
  if (key_len <= row.first.size() || value_len <= row.second.size()) return 1;
  std::memcpy(key, row.first.c_str(), row.first.size() + 1);
  std::memcpy(value, row.second.c_str(), row.second.size() + 1);
  return 0;
}

int LoadConfig(const char* component_path, const char* instance_path) {
  try {
    AttachServerLog(nullptr);  // a second chance: the server's log services may exist by now
    Status s = Load(component_path, instance_path);
    if (!s.ok()) {
      Log(Severity::kError, s.ToString() + (Current() ? " (the previous configuration stays in service)" : ""));
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    Log(Severity::kError, std::string("load: internal error: ") + e.what());
  } catch (...) {
    Log(Severity::kError, "load: internal error");
  }
  return 1;
}

}  // namespace

abi::ComponentStatus kStatusService = {IsInitialized};
abi::MetadataQuery kMetadataService = {MetaInit, MetaDeinit, MetaIsValid, MetaNext, MetaGetLength, MetaGet};
abi::Load kLoadService = {LoadConfig};

}  // namespace keyring_locker::mysql_component
