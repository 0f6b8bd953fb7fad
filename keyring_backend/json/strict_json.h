// JSON from outside (locker replies, the config file), parsed so that two
// equal keys in one object are an error. nlohmann keeps the last of them
// silently: a reply carrying two "wrapped" or "plaintext" fields would let
// whatever sits between us and the locker decide which one a reader sees,
// and a config with a second "verify": false further down would hide a
// mistake.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keyring_locker {

// A parser callback that records the first duplicate key, as a dotted path
// ("data.wrapped"). Pass it with std::ref to nlohmann::json::parse.
class DuplicateKeyFinder {
 public:
  bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed);
  // Empty when no object held a key twice.
  const std::string& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> seen_;
  std::vector<std::string> path_;
  std::string duplicate_;
};

struct StrictJson {
  nlohmann::json value;   // discarded (is_discarded()) when the text is not JSON
  std::string duplicate;  // first duplicate key's path; empty if none
  bool ok() const { return !value.is_discarded() && duplicate.empty(); }
};

// Never throws on bad input: a syntax error gives a discarded value.
StrictJson ParseStrictJson(const std::string& text);

// Wipes every string in `j` (a reply that carried a token or key bytes)
// before the tree frees them. Iterative, so a deeply nested reply cannot
// exhaust the stack; never throws (out of memory leaves the rest unwiped).
void WipeJsonStrings(nlohmann::json* j) noexcept;

}  // namespace keyring_locker
