// All dev locker state lives in one JSON document guarded by one mutex: the
// server is a test fixture, so simplicity and exact persistence beat speed.
//
// Layout:
//   tokens:     { <token id>: {accessor, ns, policies[], creation_time, creation_ttl,
//                              expire_time (0 = never), max_expire (0 = none),
//                              explicit_max_ttl, period, renewable, path} }
//   namespaces: { "" | "a/b": {mounts: {"secret/": Mount}, auth: {"approle/": Mount},
//                              policies: {name: HCL text}} }
//   Mount = {type, options{version}?, accessor, description, data{...engine state}}
#pragma once

#include <mutex>
#include <string>

#include "devlocker/util.h"

namespace devlocker {

class State {
 public:
  explicit State(std::string data_file) : data_file_(std::move(data_file)) {}

  // Reads --data FILE when given and present; otherwise starts with the
  // default mounts (secret/ kv v2, transit/, auth approle/ and cert/).
  bool Load(std::string* error);
  // Atomic write (temp + fsync + rename, mode 0600); no-op without --data.
  bool Save(std::string* error);

  std::mutex& mutex() { return mutex_; }
  json& doc() { return doc_; }  // caller holds mutex()

  static json NewNamespace(bool with_default_engines);
  static json NewMount(const std::string& type, const std::string& kv_version);

 private:
  std::string data_file_;
  std::mutex mutex_;
  json doc_;
};

}  // namespace devlocker
