#include "devlocker/state.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/durable_file.h"

namespace devlocker {

json State::NewMount(const std::string& type, const std::string& kv_version) {
  json m = {{"type", type}, {"accessor", type + "_" + NewUuid().substr(0, 8)},
            {"description", ""}, {"options", nullptr}, {"data", json::object()}};
  if (type == "kv") {
    m["options"] = json{{"version", kv_version}};
    m["data"] = json{{"entries", json::object()},
                     {"config", {{"max_versions", 10}, {"cas_required", false}}}};
  } else if (type == "transit") {
    m["data"] = json{{"keys", json::object()}, {"config", {{"disable_upsert", false}}}};
  } else if (type == "approle") {
    m["data"] = json{{"roles", json::object()}};
  } else if (type == "cert") {
    m["data"] = json{{"certs", json::object()}};
  }
  return m;
}

json State::NewNamespace(bool with_default_engines) {
  // A fresh Vault namespace only has the token backend; the root namespace of
  // a dev server also has secret/ (kv v2). We add transit, approle and cert
  // because every keyring_locker test needs them.
  json ns = {{"mounts", json::object()},
             {"auth", {{"token/", NewMount("token", "")}}},
             {"policies", json::object()}};
  if (with_default_engines) {
    ns["mounts"]["secret/"] = NewMount("kv", "2");
    ns["mounts"]["transit/"] = NewMount("transit", "");
    ns["auth"]["approle/"] = NewMount("approle", "");
    ns["auth"]["cert/"] = NewMount("cert", "");
  }
  return ns;
}

bool State::Load(std::string* error) {
  doc_ = json{{"tokens", json::object()}, {"namespaces", {{"", NewNamespace(true)}}}};
  if (data_file_.empty()) return true;
  std::ifstream in(data_file_);
  if (!in) return true;  // first start: the file appears on the first change
  std::stringstream ss;
  ss << in.rdbuf();
  json loaded = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!loaded.is_object() || !loaded.contains("tokens") || !loaded.contains("namespaces")) {
    *error = "--data file " + data_file_ + " is not a devlocker state document; remove it to start fresh";
    return false;
  }
  doc_ = std::move(loaded);
  return true;
}

bool State::Save(std::string* error) {
  if (data_file_.empty()) return true;
  const keyring_locker::Status written = keyring_locker::WriteFileDurably(data_file_, doc_.dump(), 0600);
  if (!written.ok()) {
    *error = "cannot write --data file: " + written.message() + "; check free space and permissions";
    return false;
  }
  return true;
}

}  // namespace devlocker
