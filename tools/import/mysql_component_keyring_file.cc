#include "tools/import/mysql_component_keyring_file.h"

#include "keyring_backend/json/strict_json.h"
#include "plugin/mysql/mysql_key_model.h"

namespace keyring_locker::import {
namespace {

using nlohmann::json;

const json* StringField(const json& element, const char* field) {
  auto it = element.find(field);
  return it == element.end() || !it->is_string() ? nullptr : &*it;
}

}  // namespace

StatusOr<ImportSource> ParseMysqlComponentKeyringFile(const std::string& content) {
  ImportSource source;
  source.server = KeyServer::kMySql;
  source.model = KeyModel::kGenerations;
  if (content.compare(0, 21, "Keyring file version:") == 0) {
    return InvalidArgument("not component_keyring_file's JSON: this is the keyring_file plugin's data file; use the "
                           "format mysql_keyring_file");
  }
  StrictJson parsed = ParseStrictJson(content);
  if (parsed.value.is_discarded() || !parsed.value.is_object()) {
    return InvalidArgument("not component_keyring_file's data file: not a JSON object (truncated or another file?)");
  }
  if (!parsed.duplicate.empty()) {
    WipeJsonStrings(&parsed.value);
    return InvalidArgument("the keyring file has the field \"" + parsed.duplicate +
                           "\" twice: damaged or edited by hand, the import cannot tell which one the component used");
  }
  json& doc = parsed.value;
  const json* version = StringField(doc, "version");
  auto elements = doc.find("elements");
  if (version == nullptr || elements == doc.end() || !elements->is_array()) {
    WipeJsonStrings(&doc);
    return InvalidArgument("not component_keyring_file's data file: it needs a string \"version\" and an array "
                           "\"elements\"");
  }
  if (version->get_ref<const std::string&>() != "1.0") {
    const std::string v = version->get_ref<const std::string&>().substr(0, 16);
    WipeJsonStrings(&doc);
    return InvalidArgument("component_keyring_file data version \"" + v + "\" is not known (1.0 is)");
  }
  size_t index = 0;
  for (const json& element : *elements) {
    ImportItem item;
    item.origin = "element " + std::to_string(index++);
    item.name = item.origin;
    const json* user = element.is_object() ? StringField(element, "user") : nullptr;
    const json* id = element.is_object() ? StringField(element, "data_id") : nullptr;
    const json* type = element.is_object() ? StringField(element, "data_type") : nullptr;
    const json* data = element.is_object() ? StringField(element, "data") : nullptr;
    if (user == nullptr || id == nullptr || type == nullptr || data == nullptr) {
      item.error = "needs the string fields user, data_id, data_type and data";
      source.items.push_back(std::move(item));
      continue;
    }
    const std::string& key_id = id->get_ref<const std::string&>();
    const std::string& user_id = user->get_ref<const std::string&>();
    if (key_id.empty() || key_id.find('\0') != std::string::npos || user_id.find('\0') != std::string::npos) {
      item.error = "data_id is empty or holds a NUL byte: not a key MySQL could ask for";
    } else if (key_id.size() > mysql::kMaxIdLength || user_id.size() > mysql::kMaxIdLength) {
      item.error = "data_id or user is longer than 1024 bytes, which the keyring_locker adapters refuse";
    } else {
      item.name = mysql::KeyName(key_id.c_str(), user_id.c_str());
    }
    item.type = type->get_ref<const std::string&>();
    if (item.error.empty()) {
      auto bytes = DecodeHexKey(data->get_ref<const std::string&>());
      if (bytes.ok()) {
        item.bytes = std::move(bytes).value();
      } else {
        item.error = "data: " + bytes.status().message();
      }
    }
    source.items.push_back(std::move(item));
  }
  WipeJsonStrings(&doc);
  if (source.items.empty()) source.warnings.push_back("the keyring file holds no keys");
  CheckItems(source);
  return source;
}

}  // namespace keyring_locker::import
