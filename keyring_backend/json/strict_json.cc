#include "keyring_backend/json/strict_json.h"

#include <functional>

#include "crypto/secure_buffer.h"

namespace keyring_locker {

using nlohmann::json;

bool DuplicateKeyFinder::operator()(int depth, json::parse_event_t event, json& parsed) {
  switch (event) {
    case json::parse_event_t::object_start:
      seen_.emplace_back();
      path_.emplace_back();
      break;
    case json::parse_event_t::object_end:
      if (!seen_.empty()) seen_.pop_back(), path_.pop_back();
      break;
    case json::parse_event_t::key:
      if (!seen_.empty() && parsed.is_string()) {
        const std::string& key = parsed.get_ref<const std::string&>();
        path_.back() = key;
        if (!seen_.back().insert(key).second && duplicate_.empty()) {
          for (const auto& p : path_) duplicate_ += (duplicate_.empty() ? "" : ".") + p;
        }
      }
      break;
    default:
      break;
  }
  return true;
}

StrictJson ParseStrictJson(const std::string& text) {
  StrictJson out;
  DuplicateKeyFinder finder;
  out.value = json::parse(text, std::ref(finder), /*allow_exceptions=*/false);
  out.duplicate = finder.duplicate();
  return out;
}

void WipeJsonStrings(json* j) noexcept {
  try {
    std::vector<json*> pending{j};
    while (!pending.empty()) {
      json* v = pending.back();
      pending.pop_back();
      if (v->is_string()) {
        crypto::WipeString(&v->get_ref<std::string&>());
      } else if (v->is_structured()) {
        for (json& child : *v) pending.push_back(&child);
      }
    }
  } catch (...) {
    // A destructor calls this: inside the server a throw would terminate it.
  }
}

}  // namespace keyring_locker
