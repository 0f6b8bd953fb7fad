#include "tests/mysql_harness/component_host.h"

#include <dlfcn.h>

#include <cstring>
#include <mutex>

namespace mysqlh {
namespace {

struct Entry {
  void* implementation;
  int references = 0;
};
std::mutex g_mu;
std::map<std::string, Entry> g_services;  // "<service>.<implementation>" -> entry

Entry* FindByHandle(my_h_service h, std::string* name) {
  for (auto& [n, e] : g_services) {
    if (e.implementation == h) {
      if (name != nullptr) *name = n;
      return &e;
    }
  }
  return nullptr;
}

int RegAcquire(const char* service_name, my_h_service* out) {
  std::lock_guard<std::mutex> lock(g_mu);
  const std::string want = service_name;
  for (auto& [n, e] : g_services) {
    // "svc" finds the first implementation; "svc.impl" exactly that one.
    if (n == want || (want.find('.') == std::string::npos && n.compare(0, want.size() + 1, want + ".") == 0)) {
      ++e.references;
      *out = e.implementation;
      return 0;
    }
  }
  return 1;
}
int RegAcquireRelated(const char* service_name, my_h_service related, my_h_service* out) {
  std::string related_name;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (FindByHandle(related, &related_name) == nullptr) return 1;
  }
  const std::string impl = related_name.substr(related_name.find('.') + 1);
  return RegAcquire((std::string(service_name) + "." + impl).c_str(), out);
}
int RegRelease(my_h_service h) {
  std::lock_guard<std::mutex> lock(g_mu);
  Entry* e = FindByHandle(h, nullptr);
  if (e == nullptr || e->references == 0) return 1;
  --e->references;
  return 0;
}

s_mysql_registry g_registry = {RegAcquire, RegAcquireRelated, RegRelease};
const bool g_registry_registered = [] {
  g_services["registry.mysql_server"] = Entry{&g_registry, 0};
  return true;
}();

}  // namespace

std::unique_ptr<ComponentHost> ComponentHost::Load(const std::string& so_path, std::string* error) {
  (void)g_registry_registered;
  std::unique_ptr<ComponentHost> host(new ComponentHost());
  host->path_ = so_path;
  host->dl_ = dlopen(so_path.c_str(), RTLD_NOW);
  if (host->dl_ == nullptr) {
    *error = std::string("dlopen failed: ") + dlerror();
    return nullptr;
  }
  auto list = reinterpret_cast<list_components_func>(dlsym(host->dl_, "list_components"));
  if (list == nullptr) {
    *error = "list_components is not exported";
    return nullptr;
  }
  host->component_ = list();
  if (host->component_ == nullptr || host->component_->name == nullptr || host->component_->provides == nullptr) {
    *error = "list_components returned no component";
    return nullptr;
  }
  // Requirements first, as the dynamic loader does.
  for (auto* r = host->component_->requires_; r != nullptr && r->name != nullptr; ++r) {
    my_h_service h = nullptr;
    if (RegAcquire(r->name, &h) != 0) {
      *error = std::string("required service ") + r->name + " is not in the registry";
      return nullptr;
    }
    *r->implementation = h;
    host->acquired_.push_back(h);
  }
  if (host->component_->init == nullptr || host->component_->init() != 0) {
    *error = "component init() failed";
    return nullptr;
  }
  host->initialized_ = true;
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto* p = host->component_->provides; p->name != nullptr; ++p) {
    if (g_services.count(p->name) != 0) {
      *error = std::string("service ") + p->name + " is registered twice";
      return nullptr;
    }
    g_services[p->name] = Entry{p->implementation, 0};
  }
  return host;
}

void* ComponentHost::AcquireRelated(const std::string& service) {
  my_h_service reader = nullptr;
  if (RegAcquire("keyring_reader_with_status", &reader) != 0) return nullptr;
  acquired_.push_back(reader);
  if (service == "keyring_reader_with_status") return reader;
  my_h_service h = nullptr;
  if (RegAcquireRelated(service.c_str(), reader, &h) != 0) return nullptr;
  acquired_.push_back(h);
  return h;
}

size_t ComponentHost::outstanding_references() const {
  std::lock_guard<std::mutex> lock(g_mu);
  size_t n = 0;
  for (const auto& [name, e] : g_services) n += static_cast<size_t>(e.references);
  return n;
}

bool ComponentHost::Unload(std::string* error) {
  for (my_h_service h : acquired_) RegRelease(h);
  acquired_.clear();
  if (outstanding_references() != 0) *error += "service references outstanding at unload; ";
  if (initialized_ && component_->deinit() != 0) *error += "deinit() failed; ";
  initialized_ = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto* p = component_->provides; p->name != nullptr; ++p) g_services.erase(p->name);
  }
  if (dl_ != nullptr) {
    dlclose(dl_);
    dl_ = nullptr;
    if (void* still = dlopen(path_.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      dlclose(still);
      *error += "the component stayed loaded after dlclose";
    }
  }
  return error->empty();
}

ComponentHost::~ComponentHost() {
  std::string ignored;
  if (dl_ != nullptr) Unload(&ignored);
}

}  // namespace mysqlh
