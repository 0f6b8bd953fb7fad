#include "plugin/mariadb/create_policy.h"

#include <algorithm>
#include <cctype>
#include <climits>

namespace keyring_locker::mariadb {
namespace {

constexpr size_t kMaxRanges = 64;  // a policy, not a key list: bounded work per lookup

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// 1..4294967295 in decimal, nothing else.
bool ParseId(const std::string& text, uint32_t* out) {
  if (text.empty() || text.size() > 10) return false;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) return false;
  const unsigned long long v = std::stoull(text);
  if (v < 1 || v > UINT_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

Status Bad(const std::string& item, const std::string& why) {
  return InvalidArgument("keyring_locker_create_keys: \"" + item + "\" " + why +
                         "; write off, on, or key id ranges such as 1-2,100-199 (ids 1..4294967295)");
}

}  // namespace

StatusOr<CreatePolicy> CreatePolicy::Parse(const std::string& raw) {
  std::string text = Trim(raw);
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "off") return Off();
  if (lower == "on") return On();
  if (text.empty()) return Bad(text, "is empty");
  CreatePolicy policy(Mode::kRanges);
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) return Bad(text, "has an empty item");
    if (policy.ranges_.size() == kMaxRanges) return Bad(text, "has more than 64 ranges");
    const size_t dash = item.find('-');
    uint32_t lo = 0, hi = 0;
    if (dash == std::string::npos) {
      if (!ParseId(item, &lo)) return Bad(item, "is not a key id");
      hi = lo;
    } else {
      if (!ParseId(Trim(item.substr(0, dash)), &lo) || !ParseId(Trim(item.substr(dash + 1)), &hi)) {
        return Bad(item, "is not a range of key ids");
      }
      if (lo > hi) return Bad(item, "runs backwards");
    }
    policy.ranges_.emplace_back(lo, hi);
  }
  return policy;
}

bool CreatePolicy::Allows(unsigned key_id) const {
  switch (mode_) {
    case Mode::kOff: return false;
    case Mode::kOn: return true;
    case Mode::kRanges:
      return std::any_of(ranges_.begin(), ranges_.end(),
                         [key_id](const auto& r) { return key_id >= r.first && key_id <= r.second; });
  }
  return false;
}

std::string CreatePolicy::Describe() const {
  if (mode_ == Mode::kOff) return "off";
  if (mode_ == Mode::kOn) return "on";
  std::string out;
  for (const auto& [lo, hi] : ranges_) {
    out += (out.empty() ? "" : ",") + std::to_string(lo);
    if (hi != lo) out += "-" + std::to_string(hi);
  }
  return out;
}

StatusOr<CreatePolicyChoice> ChooseCreatePolicy(const CreatePolicyInputs& in) {
  CreatePolicyChoice choice;
  if (!in.configured.empty()) {
    ASSIGN_OR_RETURN(choice.policy, CreatePolicy::Parse(in.configured));
    choice.source = CreatePolicySource::kConfigured;
    return choice;
  }
  if (!in.marker_default.empty()) {
    auto recorded = CreatePolicy::Parse(in.marker_default);
    if (!recorded.ok()) {
      return InvalidArgument("the datadir marker's create_keys_default is not a valid policy (" +
                             recorded.status().message() + "); set keyring_locker_create_keys explicitly");
    }
    choice.policy = *recorded;
    choice.source = CreatePolicySource::kNewInstallation;
    return choice;
  }
  if (in.first_start_of_datadir && !in.scope_had_keys) {
    choice.policy = *CreatePolicy::Parse(kServerKeyIds);
    choice.source = CreatePolicySource::kNewInstallation;
    return choice;
  }
  choice.policy = CreatePolicy::On();
  choice.source = CreatePolicySource::kExisting;
  choice.warning =
      "keyring_locker_create_keys is not set and this installation existed before the option did, so any "
      "ENCRYPTION_KEY_ID the server asks for is created in the locker (a mistyped id makes a new permanent key). "
      "Set keyring_locker_create_keys to the ids you use (e.g. 1-2,100-199) or off, and create other keys with "
      "'keyring-locker --config FILE ensure ID'; set it to on to keep this behaviour without this warning";
  return choice;
}

}  // namespace keyring_locker::mariadb
