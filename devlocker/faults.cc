#include "devlocker/faults.h"

#include <cctype>
#include <chrono>
#include <set>

namespace devlocker {

namespace {
const std::set<std::string> kActions = {"status", "delay",     "drop",      "hang",
                                        "slow",   "redirect",  "malformed", "truncate",
                                        "oversized", "expire_tokens"};

std::string NormalizeMethod(std::string m) {
  for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return m == "PUT" ? "POST" : m;
}
}  // namespace

json Fault::ToJson() const {
  return json{{"id", id},           {"path_prefix", path_prefix}, {"method", method},
              {"action", action},   {"status", status},           {"retry_after", retry_after},
              {"delay_ms", delay_ms}, {"location", location},     {"size_bytes", size_bytes},
              {"count", count}};
}

std::optional<Fault> Faults::Add(const json& spec, std::string* error) {
  Fault f;
  f.action = StringField(spec, "action");
  if (!kActions.count(f.action)) {
    *error = "unknown fault action '" + f.action +
             "': use status, delay, drop, hang, slow, redirect, malformed, truncate, oversized "
             "or expire_tokens";
    return std::nullopt;
  }
  f.path_prefix = StringField(spec, "path_prefix");
  f.method = NormalizeMethod(StringField(spec, "method"));
  f.status = static_cast<int>(IntField(spec, "status", f.action == "redirect" ? 307 : 500));
  f.retry_after = static_cast<int>(IntField(spec, "retry_after", 0));
  f.delay_ms = static_cast<int>(IntField(spec, "delay_ms", f.action == "hang" ? 60000 : 0));
  f.location = StringField(spec, "location");
  f.size_bytes = IntField(spec, "size_bytes", 33 * 1024 * 1024);
  f.count = static_cast<int>(IntField(spec, "count", -1));
  if (f.status < 100 || f.status > 599) {
    *error = "fault status must be an HTTP status between 100 and 599";
    return std::nullopt;
  }
  if (f.action == "redirect" && f.location.empty()) {
    *error = "redirect fault needs 'location' (e.g. https://127.0.0.1:8201)";
    return std::nullopt;
  }
  if (f.count == 0 || f.count < -1) {
    *error = "fault count must be positive, or -1 for until cleared";
    return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  f.id = "fault-" + std::to_string(next_id_++);
  if (f.action != "expire_tokens") faults_.push_back(f);
  return f;
}

json Faults::List() {
  std::lock_guard<std::mutex> lock(mutex_);
  json out = json::array();
  for (const auto& f : faults_) out.push_back(f.ToJson());
  return out;
}

void Faults::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
}

std::optional<Fault> Faults::Take(const std::string& method, const std::string& full_path) {
  const std::string m = NormalizeMethod(method);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    std::string prefix = it->path_prefix;
    if (prefix.empty() || prefix[0] != '/') prefix = "/v1/" + prefix;
    if (full_path.compare(0, prefix.size(), prefix) != 0) continue;
    if (!it->method.empty() && it->method != m) continue;
    Fault f = *it;
    if (it->count > 0 && --it->count == 0) faults_.erase(it);
    return f;
  }
  return std::nullopt;
}

bool Faults::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return shutdown_; });
}

void Faults::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

bool Faults::shutting_down() {
  std::lock_guard<std::mutex> lock(mutex_);
  return shutdown_;
}

}  // namespace devlocker
