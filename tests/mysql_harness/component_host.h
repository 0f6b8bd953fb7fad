// The server side for the keyring component: a minimal registry (acquire /
// acquire_related / release by name, with reference counts checked at
// unload) and the loading steps mysqld's dynamic loader takes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/mysql_harness/mysql_abi.h"

namespace mysqlh {

class ComponentHost {
 public:
  // dlopen(RTLD_NOW), list_components(), satisfy "requires" from the
  // registry, init(), register "provides". Empty error = loaded.
  static std::unique_ptr<ComponentHost> Load(const std::string& so_path, std::string* error);
  ~ComponentHost();
  // Releases, deinit(), unregister, dlclose, and a check that it is gone.
  bool Unload(std::string* error);

  const mysql_component_t& component() const { return *component_; }
  // The server's way in (mysql_server_keyring_lockable_imp.cc): the
  // default keyring_reader_with_status, then the others from the same
  // implementation via acquire_related. Null if any is missing.
  template <typename T>
  T* Acquire(const std::string& service) {
    return static_cast<T*>(AcquireRelated(service));
  }
  size_t outstanding_references() const;

 private:
  ComponentHost() = default;
  void* AcquireRelated(const std::string& service);
  std::string path_;
  void* dl_ = nullptr;
  mysql_component_t* component_ = nullptr;
  bool initialized_ = false;
  std::vector<my_h_service> acquired_;
};

}  // namespace mysqlh
