#include "plugin/mariadb/sysvar_config.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace keyring_locker::mariadb {
namespace {

constexpr const char* kSource = "keyring_locker_* system variables";

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    // An empty item is kept so ParseConfig reports "a,,b" instead of hiding it.
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

nlohmann::json::json_pointer JsonPointer(std::string dotted) {
  std::replace(dotted.begin(), dotted.end(), '.', '/');
  return nlohmann::json::json_pointer("/" + dotted);
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// One variable's JSON value. Checked variable by variable so a message can
// name the culprit: whole-document errors (dump()'s UTF-8 check, stoll's
// range) could only say "one of the variables". The value itself is not
// repeated: it may not be printable.
StatusOr<nlohmann::json> ToJsonValue(const SettingSpec& spec, const std::string& text) {
  const std::string name = std::string("keyring_locker_") + spec.suffix;
  nlohmann::json value;
  try {
    switch (spec.kind) {
      case SettingKind::kString: value = text; break;
      case SettingKind::kList: value = SplitList(text); break;
      case SettingKind::kInteger:  // non-digits stay a string: ParseConfig names the variable and the range
      case SettingKind::kIntOrWord:
        value = AllDigits(text) ? nlohmann::json(std::stoll(text)) : nlohmann::json(text);
        break;
    }
  } catch (const std::out_of_range&) {
    return InvalidArgument(name + " is too large (" + std::to_string(text.size()) +
                           " digits); use a value within the range docs/configuration.md gives for it");
  }
  try {
    (void)value.dump();  // throws on invalid UTF-8
  } catch (const nlohmann::json::type_error&) {
    return InvalidArgument(name + " is not valid UTF-8 text; write the value in UTF-8 (check the encoding of "
                           "my.cnf or of the command line that sets it)");
  }
  return value;
}

}  // namespace

const std::vector<SettingSpec>& SettingSpecs() {
  static const std::vector<SettingSpec> specs = {
      {"urls", "locker.urls", SettingKind::kList},
      {"namespace", "locker.namespace", SettingKind::kString},
      {"kv_mount", "locker.kv_mount", SettingKind::kString},
      {"kv_version", "locker.kv_version", SettingKind::kIntOrWord},
      {"transit_mount", "locker.transit_mount", SettingKind::kString},
      {"transit_key", "locker.transit_key", SettingKind::kString},
      {"key_prefix", "keys.prefix", SettingKind::kString},
      {"scope", "keys.scope", SettingKind::kString},
      {"auth_method", "auth.method", SettingKind::kString},
      {"token_file", "auth.token_file", SettingKind::kString},
      {"token_env", "auth.token_env", SettingKind::kString},
      {"approle_mount", "auth.approle.mount", SettingKind::kString},
      {"approle_role_id", "auth.approle.role_id", SettingKind::kString},
      {"approle_secret_id_file", "auth.approle.secret_id_file", SettingKind::kString},
      {"approle_secret_id_env", "auth.approle.secret_id_env", SettingKind::kString},
      {"cert_mount", "auth.cert.mount", SettingKind::kString},
      {"cert_role", "auth.cert.role", SettingKind::kString},
      {"ca_file", "tls.ca_file", SettingKind::kString},
      {"ca_dir", "tls.ca_dir", SettingKind::kString},
      {"client_cert", "tls.client_cert", SettingKind::kString},
      {"client_key", "tls.client_key", SettingKind::kString},
      {"tls_min_version", "tls.min_version", SettingKind::kString},
      {"connect_timeout_ms", "timeouts.connect_ms", SettingKind::kInteger},
      {"total_timeout_ms", "timeouts.total_ms", SettingKind::kInteger},
      {"max_retries", "retries.max", SettingKind::kInteger},
      {"version_refresh_s", "cache.version_refresh_s", SettingKind::kInteger},
      {"audit_path", "audit.path", SettingKind::kString},
      {"audit_actor", "audit.actor", SettingKind::kString},
  };
  return specs;
}

StatusOr<std::string> SettingsToJson(const SettingValues& values) {
  try {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& [suffix, text] : values) {
      const auto& specs = SettingSpecs();
      auto spec = std::find_if(specs.begin(), specs.end(),
                               [&](const SettingSpec& s) { return suffix == s.suffix; });
      if (spec == specs.end()) {
        return InvalidArgument("keyring_locker_" + suffix + " is not a connection setting of this plugin");
      }
      ASSIGN_OR_RETURN(nlohmann::json value, ToJsonValue(*spec, text));
      doc[JsonPointer(spec->json_path)] = std::move(value);
    }
    return doc.dump();
  } catch (const std::exception& e) {
    // Out of memory, or a value ToJsonValue let through by mistake.
    return InvalidArgument(std::string("keyring_locker_* system variables: the settings could not be turned into a "
                                       "configuration (") + e.what() + ")");
  }
}

std::string RenameFieldsToVariables(const std::string& message) {
  std::string out = message;
  for (const auto& spec : SettingSpecs()) {
    const std::string from = spec.json_path;
    const std::string to = std::string("keyring_locker_") + spec.suffix;
    size_t pos = 0;
    while ((pos = out.find(from, pos)) != std::string::npos) {
      const size_t end = pos + from.size();
      const bool whole = (pos == 0 || (!IsWordChar(out[pos - 1]) && out[pos - 1] != '.')) &&
                         (end == out.size() || !IsWordChar(out[end]));
      if (whole) {
        out.replace(pos, from.size(), to);
        pos += to.size();
      } else {
        pos = end;
      }
    }
  }
  return out;
}

StatusOr<Config> BuildConfig(const std::string& config_file, const SettingValues& values) {
  if (!config_file.empty()) {
    if (!values.empty()) {
      std::string names;
      for (const auto& [suffix, text] : values) names += (names.empty() ? "" : ", ") + ("keyring_locker_" + suffix);
      return InvalidArgument("keyring_locker_config_file is set and so are " + names +
                             "; the connection settings come from one place only: remove those variables and put "
                             "the settings into " + config_file + ", or unset keyring_locker_config_file");
    }
    return LoadConfigFile(config_file);
  }
  if (values.empty()) {
    return InvalidArgument(
        "no configuration: set keyring_locker_config_file to the JSON config file, or set at least "
        "keyring_locker_urls, keyring_locker_scope and keyring_locker_auth_method (with its credentials) "
        "in the [mariadbd] section of my.cnf");
  }
  ASSIGN_OR_RETURN(std::string json, SettingsToJson(values));
  auto config = ParseConfig(json, kSource);
  if (!config.ok()) {
    return Status(config.status().code(), RenameFieldsToVariables(config.status().message()));
  }
  for (auto& w : config->warnings) w = RenameFieldsToVariables(w);
  return config;
}

}  // namespace keyring_locker::mariadb
