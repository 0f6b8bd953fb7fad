#include "devlocker/policy.h"

#include <regex>
#include <set>

namespace devlocker {

const char* const kDefaultPolicy = R"(
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
)";

namespace {

struct Rule {
  std::string glob;
  std::regex pattern;
  std::set<std::string> caps;
};

// Vault glob -> anchored regex: escape everything, then give `+` and a
// trailing `*` their meaning.
std::regex GlobToRegex(const std::string& glob) {
  std::string re;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*' && i + 1 == glob.size()) {
      re += ".*";
    } else if (c == '+') {
      re += "[^/]+";
    } else {
      if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) re += '\\';
      re += c;
    }
  }
  return std::regex(re);
}

std::vector<Rule> Parse(const std::string& hcl) {
  static const std::regex block(
      R"re(path\s+"([^"]*)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\})re");
  static const std::regex quoted(R"re("([^"]*)")re");
  std::vector<Rule> rules;
  for (std::sregex_iterator it(hcl.begin(), hcl.end(), block), end; it != end; ++it) {
    Rule rule{(*it)[1].str(), GlobToRegex((*it)[1].str()), {}};
    const std::string caps = (*it)[2].str();
    for (std::sregex_iterator c(caps.begin(), caps.end(), quoted); c != end; ++c)
      rule.caps.insert((*c)[1].str());
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace

bool ValidatePolicy(const std::string& hcl, std::string* error) {
  if (Parse(hcl).empty()) {
    *error = "failed to parse policy: expected at least one rule like "
             "path \"secret/data/app/*\" { capabilities = [\"read\"] }";
    return false;
  }
  return true;
}

bool PolicyAllows(const std::vector<std::string>& hcl_texts, const std::string& path,
                  const std::vector<std::string>& any_of) {
  bool granted = false;
  for (const auto& text : hcl_texts) {
    for (const auto& rule : Parse(text)) {
      if (!std::regex_match(path, rule.pattern)) continue;
      if (rule.caps.count("deny")) return false;
      for (const auto& cap : any_of)
        if (rule.caps.count(cap)) granted = true;
    }
  }
  return granted;
}

bool PolicyGrantsUnder(const std::vector<std::string>& hcl_texts, const std::string& mount) {
  if (PolicyAllows(hcl_texts, mount, {"create", "read", "update", "delete", "list", "sudo", "patch"})) return true;
  for (const auto& text : hcl_texts) {
    for (const auto& rule : Parse(text)) {
      if (rule.caps.count("deny") || rule.caps.empty()) continue;
      if (rule.glob.compare(0, mount.size(), mount) == 0) return true;
    }
  }
  return false;
}

std::vector<std::string> PolicyCapabilities(const std::vector<std::string>& hcl_texts, const std::string& path) {
  std::set<std::string> caps;  // ordered: Vault sorts the list it returns
  for (const auto& text : hcl_texts) {
    for (const auto& rule : Parse(text)) {
      if (!std::regex_match(path, rule.pattern)) continue;
      if (rule.caps.count("deny")) return {"deny"};
      caps.insert(rule.caps.begin(), rule.caps.end());
    }
  }
  if (caps.empty()) return {"deny"};
  return {caps.begin(), caps.end()};
}

}  // namespace devlocker
