// keyring_locker_* status variables (SHOW GLOBAL STATUS): computed when the
// server asks, from Backend::status(). Never key bytes or tokens.
#include <array>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <utility>

#include "plugin/mysql/plugin_state.h"

namespace keyring_locker::mysql {
namespace {

constexpr size_t kShowBufferSize = 1024;

struct StatusField {
  const char* name;
  std::function<long long(const BackendStatus&)> number;   // set for numbers
  std::function<std::string(const BackendStatus&)> text;   // set for strings
};

const StatusField kFields[] = {
    {"keyring_locker_cache_hits", [](const BackendStatus& s) { return static_cast<long long>(s.keys.cache.hits); }, nullptr},
    {"keyring_locker_cache_misses", [](const BackendStatus& s) { return static_cast<long long>(s.keys.cache.misses); }, nullptr},
    {"keyring_locker_keys_cached", [](const BackendStatus& s) { return static_cast<long long>(s.keys.cache.entries); }, nullptr},
    {"keyring_locker_locker_requests", [](const BackendStatus& s) { return static_cast<long long>(s.keys.locker_requests); }, nullptr},
    {"keyring_locker_locker_errors", [](const BackendStatus& s) { return static_cast<long long>(s.keys.locker_errors); }, nullptr},
    {"keyring_locker_stale_serves", [](const BackendStatus& s) { return static_cast<long long>(s.keys.stale_serves); }, nullptr},
    {"keyring_locker_token_ttl_s", [](const BackendStatus& s) { return static_cast<long long>(s.auth.ttl.count()); }, nullptr},
    {"keyring_locker_last_error", nullptr, [](const BackendStatus& s) { return s.keys.last_error; }},
    {"keyring_locker_active_endpoint", nullptr, [](const BackendStatus& s) { return s.http.active_endpoint; }},
};
constexpr size_t kFieldCount = sizeof(kFields) / sizeof(kFields[0]);

// One C callback per field: the server passes no context pointer.
template <size_t I>
int ShowField(abi::Thd*, abi::StatusVariable* var, char* buffer) {
  try {
    BackendStatus status;
    bool have = false;
    {
      std::shared_lock<std::shared_mutex> lock(StateMutex());
      if (State() != nullptr && State()->backend) {
        status = State()->backend->status();
        have = true;
      }
    }
    var->scope = abi::kScopeGlobal;
    var->value = buffer;
    if (kFields[I].number) {
      var->type = abi::kShowLongLong;
      const long long v = have ? kFields[I].number(status) : 0;
      std::memcpy(buffer, &v, sizeof v);
    } else {
      var->type = abi::kShowChar;
      const std::string v = have ? kFields[I].text(status) : std::string();
      std::snprintf(buffer, kShowBufferSize, "%s", v.c_str());
    }
    return 0;
  } catch (...) {
    return 1;
  }
}

template <size_t... I>
constexpr std::array<abi::ShowFunction, sizeof...(I)> MakeShowFunctions(std::index_sequence<I...>) {
  return {&ShowField<I>...};
}
const auto kShowFunctions = MakeShowFunctions(std::make_index_sequence<kFieldCount>());

}  // namespace

abi::StatusVariable kStatusVariables[kFieldCount + 1] = {};

namespace {
// Fills kStatusVariables before the server can read them (static init at dlopen).
struct StatusTableInit {
  StatusTableInit() {
    for (size_t i = 0; i < kFieldCount; ++i) {
      kStatusVariables[i] = abi::StatusVariable{kFields[i].name, reinterpret_cast<char*>(kShowFunctions[i]),
                                                abi::kShowFunc, abi::kScopeGlobal};
    }
  }
} status_table_init;
}  // namespace

}  // namespace keyring_locker::mysql
