#include "plugin/mysql_component/component_state.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker::mysql_component {
namespace {

std::mutex g_mu;  // serializes loads and guards g_current
std::shared_ptr<Instance> g_current;

StatusOr<std::string> ReadConfigText(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return NotFound(path + ": cannot read the component configuration; create it (JSON, see docs/mysql.md) "
                    "in the plugin directory or point read_local_config at the data directory");
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    return PermissionDenied(path + ": is world-writable; anyone could point the server at their own locker "
                            "(chmod o-w " + path + ")");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Unavailable(path + ": could not be read; check its permissions for the mysqld user");
  return text.str();
}

std::string Join(const char* dir, const char* file) {
  std::string d = dir == nullptr ? "" : dir;
  if (!d.empty() && d.back() != '/') d += '/';
  return d + file;
}

// The shared schema plus one component-only key, read_local_config.
StatusOr<std::pair<Config, std::string>> ReadConfig(const char* component_path, const char* instance_path) {
  std::string path = Join(component_path, kConfigFileName);
  ASSIGN_OR_RETURN(std::string text, ReadConfigText(path));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument(path + ": is not a JSON object");
  auto local = doc.find("read_local_config");
  if (local != doc.end()) {
    if (!local->is_boolean()) return InvalidArgument(path + ": read_local_config must be true or false");
    if (local->get<bool>()) {
      if (instance_path == nullptr || *instance_path == '\0') {
        return FailedPrecondition(path + ": read_local_config is true but the server gave no data directory");
      }
      path = Join(instance_path, kConfigFileName);
      ASSIGN_OR_RETURN(text, ReadConfigText(path));
      doc = nlohmann::json::parse(text, nullptr, false);
      if (doc.is_discarded() || !doc.is_object()) return InvalidArgument(path + ": is not a JSON object");
    }
    doc.erase("read_local_config");
  }
  ASSIGN_OR_RETURN(Config config, ParseConfig(doc.dump(), path));
  return std::make_pair(std::move(config), path);
}

}  // namespace

void Log(const char* level, const std::string& message) {
  char when[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s [%s] [%s] %s\n", when, level, kComponentName, message.c_str());
}

std::shared_ptr<Instance> Current() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_current;
}

Status Load(const char* component_path, const char* instance_path) {
  std::lock_guard<std::mutex> lock(g_mu);
  ASSIGN_OR_RETURN(auto read, ReadConfig(component_path, instance_path));
  for (const auto& w : read.first.warnings) Log("Warning", w);
  // At server start a briefly unreachable locker is not fatal (keys are
  // served once it answers); a reload must prove the new locker works
  // before it replaces one that does.
  const bool reload = g_current != nullptr;
  // One timeouts.total_ms for the whole open (login, mount checks, the
  // scope's versions): a slow locker delays the start or the reload by one
  // budget at most. At start a cut open is not fatal (see above).
  OperationDeadline budget(read.first.http.total_timeout);
  auto backend = Backend::Open(read.first, /*require_locker=*/reload);
  if (!backend.ok()) return backend.status().Annotate("loading " + read.second);
  auto instance = std::make_shared<Instance>();
  instance->backend = std::move(backend).value();
  for (const auto& w : instance->backend->warnings()) Log("Warning", w);
  instance->ops = std::make_unique<mysql::KeyringOps>(instance->backend->keys());
  instance->config_file = read.second;
  const std::string last_error = instance->backend->status().keys.last_error;
  if (!last_error.empty()) Log("Warning", "not everything was read from the locker at start (keys are served once it answers): " + last_error);
  Log("Note", std::string(reload ? "reloaded " : "loaded ") + read.second + ": " + instance->backend->status().locker);
  g_current = std::move(instance);
  return Status::Ok();
}

void Unload() {
  std::shared_ptr<Instance> old;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    old.swap(g_current);
  }
  // Destroyed here, outside the lock: joins the Backend's threads.
}

}  // namespace keyring_locker::mysql_component
