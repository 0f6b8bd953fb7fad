#include "plugin/mysql_component/component_state.h"

#include <sys/stat.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "common/safe_file.h"
#include "crypto/secure_buffer.h"
#include "keyring_backend/http/operation_deadline.h"

namespace keyring_locker::mysql_component {
namespace {

std::mutex g_mu;  // serializes loads and guards g_current
std::shared_ptr<Instance> g_current;

// Through the shared reader (common/safe_file.h): a FIFO or device in
// place of the config must not hang the server start.
StatusOr<std::string> ReadConfigText(const std::string& path) {
  ReadFileOptions options;
  options.open.what = "component configuration";
  options.open.not_regular_fix = "replace it with the JSON configuration file";
  // Whoever can write it can point the server at their own locker.
  options.refused_mode = S_IWOTH;
  options.mode_problem = "is world-writable: anyone could point the server at their own locker";
  options.mode_fix = "chmod o-w " + path;
  options.wipe = true;  // an inline secret may sit in it
  StatusOr<std::string> text = ReadRegularFile(path, options);
  if (!text.ok()) {
    return Status(text.status().code(),
                  text.status().message() + " (see docs/mysql.md: the configuration lives in the "
                  "plugin directory, or in the data directory with read_local_config)");
  }
  Status no_nul = CheckNoNulByte(*text, path);
  if (!no_nul.ok()) {
    crypto::WipeString(&*text);
    return no_nul;
  }
  return text;
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
  for (std::string& w : InsecureDirectoryWarnings(path, "component configuration"))
    config.warnings.push_back(std::move(w));
  return std::make_pair(std::move(config), path);
}

}  // namespace

std::shared_ptr<Instance> Current() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_current;
}

Status Load(const char* component_path, const char* instance_path) {
  std::lock_guard<std::mutex> lock(g_mu);
  ASSIGN_OR_RETURN(auto read, ReadConfig(component_path, instance_path));
  for (const auto& w : read.first.warnings) Log(Severity::kWarning, w);
  // At server start a briefly unreachable locker is not fatal (keys are
  // served once it answers); a reload must prove the new locker works
  // before it replaces one that does.
  const bool reload = g_current != nullptr;
  // One timeouts.total_ms for the whole open (login, mount checks, the
  // scope's versions): a slow locker delays the start or the reload by one
  // budget at most. At start a cut open is not fatal (see above).
  OperationDeadline budget(read.first.call_budget());
  auto backend = Backend::Open(read.first, /*require_locker=*/reload);
  if (!backend.ok()) return backend.status().Annotate("loading " + read.second);
  auto instance = std::make_shared<Instance>();
  instance->backend = std::move(backend).value();
  for (const auto& w : instance->backend->warnings()) Log(Severity::kWarning, w);
  instance->ops = std::make_unique<mysql::KeyringOps>(instance->backend->keys());
  instance->config_file = read.second;
  const std::string last_error = instance->backend->status().keys.last_error;
  if (!last_error.empty()) Log(Severity::kWarning, "not everything was read from the locker at start (keys are served once it answers): " + last_error);
  Log(Severity::kNote, std::string(reload ? "reloaded " : "loaded ") + read.second + ": " + instance->backend->status().locker);
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
