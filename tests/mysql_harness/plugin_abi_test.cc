// The keyring plugin as mysqld's loader sees it: exported symbols, the
// descriptor, services, variables, and the seven keyring functions' basic
// contract (NULL user ids, missing keys, server-owned memory).
#include <dlfcn.h>

#include <cstring>

#include "keyring_backend/kmip/kmip_tags.h"
#include "tests/mysql_harness/harness_fixture.h"
#include "tests/mysql_harness/kmip_objects.h"

namespace mysqlh {
namespace {

TEST(PluginAbi, ExportsMatchTheLoader) {
  void* dl = dlopen(PluginPath(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(dl, nullptr) << dlerror();
  auto* version = static_cast<int*>(dlsym(dl, "_mysql_plugin_interface_version_"));
  auto* size = static_cast<int*>(dlsym(dl, "_mysql_sizeof_struct_st_plugin_"));
  auto* decls = static_cast<st_mysql_plugin*>(dlsym(dl, "_mysql_plugin_declarations_"));
  ASSERT_TRUE(version && size && decls);
  EXPECT_EQ(*version, 0x010A);
  EXPECT_EQ(*size, 112);
  // Services start out holding their versions; the server swaps in tables.
  auto* log = static_cast<intptr_t*>(dlsym(dl, "my_plugin_log_service"));
  auto* malloc_svc = static_cast<intptr_t*>(dlsym(dl, "mysql_malloc_service"));
  ASSERT_TRUE(log && malloc_svc);
  EXPECT_EQ(*log, VERSION_my_plugin_log_service);
  EXPECT_EQ(*malloc_svc, VERSION_mysql_malloc_service);

  const st_mysql_plugin& d = decls[0];
  EXPECT_EQ(d.type, MYSQL_KEYRING_PLUGIN);
  EXPECT_STREQ(d.name, "keyring_locker");
  EXPECT_EQ(d.license, 1);  // GPL, like the project
  EXPECT_EQ(d.flags, PLUGIN_OPT_ALLOW_EARLY);
  EXPECT_NE(d.init, nullptr);
  EXPECT_NE(d.check_uninstall, nullptr);
  EXPECT_NE(d.deinit, nullptr);
  EXPECT_EQ(decls[1].info, nullptr) << "declarations must end with an all-zero entry";
  EXPECT_EQ(decls[1].type, 0);
  EXPECT_EQ(decls[1].name, nullptr);

  auto* k = static_cast<st_mysql_keyring*>(d.info);
  EXPECT_EQ(k->interface_version, MYSQL_KEYRING_INTERFACE_VERSION);
  EXPECT_TRUE(k->mysql_key_store && k->mysql_key_fetch && k->mysql_key_remove && k->mysql_key_generate &&
              k->mysql_key_iterator_init && k->mysql_key_iterator_deinit && k->mysql_key_iterator_get_key);

  // keyring_locker_config: a read-only string variable.
  ASSERT_NE(d.system_vars, nullptr);
  ASSERT_NE(d.system_vars[0], nullptr);
  EXPECT_EQ(d.system_vars[1], nullptr);
  auto* var = static_cast<sys_var_str*>(d.system_vars[0]);
  EXPECT_STREQ(var->name, "config");
  EXPECT_EQ(var->flags & PLUGIN_VAR_TYPEMASK, PLUGIN_VAR_STR);
  EXPECT_NE(var->flags & PLUGIN_VAR_READONLY, 0);
  EXPECT_EQ(var->flags & PLUGIN_VAR_THDLOCAL, 0);
  EXPECT_NE(var->value, nullptr);

  // Status variables: prefixed, global, computed by SHOW_FUNC.
  std::vector<std::string> names;
  for (auto* v = static_cast<SHOW_VAR*>(d.status_vars); v->name != nullptr; ++v) {
    names.push_back(v->name);
    EXPECT_EQ(std::string(v->name).rfind("keyring_locker_", 0), 0u) << v->name;
    EXPECT_EQ(v->type, SHOW_FUNC) << v->name;
    EXPECT_EQ(v->scope, SHOW_SCOPE_GLOBAL) << v->name;
    EXPECT_NE(v->value, nullptr) << v->name;
  }
  for (const char* want : {"keyring_locker_cache_hits", "keyring_locker_cache_misses", "keyring_locker_locker_requests",
                           "keyring_locker_locker_errors", "keyring_locker_stale_serves", "keyring_locker_last_error",
                           "keyring_locker_active_endpoint", "keyring_locker_token_ttl_s", "keyring_locker_keys_cached"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  dlclose(dl);
}

TEST(PluginAbi, OnlyTheLoaderSymbolsAreVisible) {
  // Anything else exported could clash with mysqld's own symbols (OpenSSL,
  // curl, json) or keep dlclose from unloading the plugin.
  std::string error;
  auto names = DefinedDynamicSymbols(PluginPath(), &error);
  ASSERT_TRUE(error.empty()) << error;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"_mysql_plugin_declarations_", "_mysql_plugin_interface_version_",
                                             "_mysql_sizeof_struct_st_plugin_", "my_plugin_log_service",
                                             "mysql_malloc_service"}));
}

class PluginBasics : public HarnessTest {};

TEST_F(PluginBasics, InitWithoutConfigFailsWithAHint) {
  std::string error;
  auto host = PluginHost::Load(PluginPath(), &error);
  ASSERT_NE(host, nullptr) << error;
  ClearLog();
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(host->Init("", &error));
  const std::string err = ::testing::internal::GetCapturedStderr();
  // Issue #16: through my_plugin_log_service, as an error, not on stderr.
  bool hinted = false;
  for (const auto& l : LogLines()) {
    if (l.text.find("--keyring-locker-config") == std::string::npos) continue;
    hinted = true;
    EXPECT_EQ(l.level, MY_ERROR_LEVEL) << l.text;
  }
  EXPECT_TRUE(hinted);
  EXPECT_EQ(err.find("keyring_locker"), std::string::npos) << err;
  EXPECT_EQ(LogHandleMismatches(), 0u);
}

TEST_F(PluginBasics, StoreFetchGenerateRemoveWithServerMemory) {
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  // Missing key: success with no key.
  auto missing = host->Fetch("nope");
  EXPECT_FALSE(missing.error);
  EXPECT_FALSE(missing.found);
  // The daemon proxy's health probe.
  auto probe = host->Fetch("dummy_daemon_proxy_keyring_id");
  EXPECT_FALSE(probe.error);
  EXPECT_FALSE(probe.found);

  std::vector<uint8_t> bytes(32);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  EXPECT_FALSE(host->Store("k1", "AES", bytes));
  EXPECT_TRUE(host->Store("k1", "AES", std::vector<uint8_t>(32, 9))) << "store must never overwrite";
  auto f = host->Fetch("k1");
  ASSERT_FALSE(f.error);
  ASSERT_TRUE(f.found);
  EXPECT_EQ(f.key, bytes);
  EXPECT_EQ(f.type, "AES");

  EXPECT_FALSE(host->Generate("g1", "AES", 32));
  EXPECT_TRUE(host->Generate("g1", "AES", 32));
  auto g = host->Fetch("g1");
  ASSERT_TRUE(g.found);
  EXPECT_EQ(g.key.size(), 32u);

  // Only the types and lengths MySQL's own keyrings accept (issue #15: "XYZ"
  // was stored and served back).
  EXPECT_TRUE(host->Generate("x1", "XYZ", 32));
  EXPECT_TRUE(host->Store("x1", "XYZ", bytes));
  EXPECT_TRUE(host->Store("x2", "AES", std::vector<uint8_t>(17, 1)));
  EXPECT_TRUE(host->Generate("x3", "RSA", 100));
  EXPECT_FALSE(host->Fetch("x1").found);
  EXPECT_FALSE(host->Generate("r1", "RSA", 256));
  EXPECT_FALSE(host->Generate("d1", "DSA", 128));
  EXPECT_FALSE(host->Remove("r1"));
  EXPECT_FALSE(host->Remove("d1"));

  // A user's key of the same id is a different key.
  EXPECT_FALSE(host->Store("k1", "SECRET", {1, 2, 3}, "root@localhost"));
  auto u = host->Fetch("k1", "root@localhost");
  ASSERT_TRUE(u.found);
  EXPECT_EQ(u.key, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(u.type, "SECRET");

  EXPECT_FALSE(host->Remove("k1"));
  EXPECT_FALSE(host->Fetch("k1").found);
  EXPECT_TRUE(host->Fetch("k1", "root@localhost").found);
  EXPECT_FALSE(host->Store("k1", "AES", std::vector<uint8_t>(32, 5)));  // a new generation
  EXPECT_EQ(host->Fetch("k1").key, std::vector<uint8_t>(32, 5));

  std::vector<std::pair<std::string, std::string>> keys;
  ASSERT_TRUE(host->Iterate(&keys));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::pair<std::string, std::string>>{
                      {"g1", ""}, {"k1", ""}, {"k1", "root@localhost"}}));

  auto status = host->StatusVariables();
  EXPECT_GT(std::stoll(status["keyring_locker_locker_requests"]), 0);
  EXPECT_EQ(status["keyring_locker_active_endpoint"], LockerEndpoint());
  EXPECT_EQ(status["keyring_locker_locker_errors"], "0");

  StopPlugin(host);
  EXPECT_EQ(Allocations().outstanding, 0u) << "the server freed everything the plugin handed out";
  EXPECT_EQ(Allocations().foreign_frees, 0u) << "every block the server freed came from its malloc service";
  EXPECT_EQ(LogHandleMismatches(), 0u);
}

TEST_F(PluginBasics, KeyNamesInTheLockerFollowTheDocumentedMapping) {
  auto host = StartPlugin("mysql/names");
  ASSERT_NE(host, nullptr);
  EXPECT_FALSE(host->Store("x/y", "SECRET", {1}, "a/b%c"));
  EXPECT_FALSE(host->Store("p/q", "SECRET", {2}));
  EXPECT_FALSE(host->Store("z", "SECRET", {3}, ""));  // "" is the server's own, like NULL
  EXPECT_EQ(host->Fetch("z").key, std::vector<uint8_t>{3});
  std::vector<std::pair<std::string, std::string>> keys;
  ASSERT_TRUE(host->Iterate(&keys));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::pair<std::string, std::string>>{{"p/q", ""}, {"x/y", "a/b%c"}, {"z", ""}}));
  // docs/mysql.md: "/<key_id>" for a server key with '/', "<user escaped>/<key_id>"
  // otherwise, each percent-encoded into one path segment: a KV folder, or
  // the segment before "/<version>" of a KMIP object's Name.
  std::vector<std::string> folders;
  if (kmip()) {
    std::string error;
    auto objects = KmipObjectsOfScope(*kmip_, KeyPrefix(), "mysql/names", &error);
    ASSERT_TRUE(error.empty()) << error;
    for (const auto& [name, object] : objects) {
      EXPECT_EQ(object.state, keyring_locker::kmip::enums::kStateActive) << name;
      EXPECT_EQ(name.substr(name.rfind('/')), "/1") << name;
      folders.push_back(name.substr(0, name.rfind('/') + 1));
    }
  } else {
    auto list = locker_->Call("LIST", "secret/metadata/keyring_locker/mysql/names/keys");
    ASSERT_EQ(list.status, 200);
    folders = list.body["data"]["keys"].get<std::vector<std::string>>();
  }
  std::sort(folders.begin(), folders.end());
  EXPECT_EQ(folders, (std::vector<std::string>{"%2Fp%2Fq/", "a%252Fb%2525c%2Fx%2Fy/", "z/"}));
  StopPlugin(host);
}

TEST_F(PluginBasics, LogsNeverContainKeyBytes) {
  auto host = StartPlugin();
  ASSERT_NE(host, nullptr);
  std::vector<uint8_t> bytes(32, 0x41);  // "AAAA..." would show up verbatim
  EXPECT_FALSE(host->Store("secret", "AES", bytes));
  EXPECT_TRUE(host->Store("secret", "AES", bytes));
  StopPlugin(host);
  for (const auto& l : LogLines()) {
    EXPECT_EQ(l.text.find("AAAAAAAA"), std::string::npos) << l.text;
    if (locker_) {
      EXPECT_EQ(l.text.find(locker_->root_token()), std::string::npos) << l.text;
    }
  }
}

}  // namespace
}  // namespace mysqlh

namespace mysqlh {
namespace {

unsigned long HelperCalls() {
  void* helper = dlopen("keyring_locker_wipe_alloc.so", RTLD_NOW | RTLD_NOLOAD);
  if (helper == nullptr) return 0;
  auto calls = reinterpret_cast<unsigned long (*)()>(dlsym(helper, "klk_wipe_calls"));
  const unsigned long n = calls != nullptr ? calls() : 0;
  dlclose(helper);
  return n;
}

bool LoggedWipeWarning() {
  for (const auto& l : LogLines())
    if (l.text.find("wiping allocator") != std::string::npos) return true;
  return false;
}

// libcurl frees through keyring_locker_wipe_alloc.so (docs/security.md): the
// helper is found next to the plugin, outlives it (libcurl keeps calling it),
// and does not keep the plugin itself from unloading or loading again.
TEST_F(PluginBasics, LibcurlUsesTheWipingHelperWhichOutlivesThePlugin) {
  KLK_VAULT_ONLY("only the Vault session makes requests through libcurl");
  for (int load = 0; load < 2; ++load) {
    ClearLog();
    auto host = StartPlugin();
    ASSERT_NE(host, nullptr);
    EXPECT_FALSE(LoggedWipeWarning()) << "load " << load;
    const unsigned long before = HelperCalls();
    EXPECT_FALSE(host->Fetch("wipe_probe").error);  // a locker request through libcurl
    EXPECT_GT(HelperCalls(), before) << "libcurl did not allocate through the helper, load " << load;
    StopPlugin(host);  // fails the test if the plugin stayed loaded
    EXPECT_GT(HelperCalls(), 0u) << "the helper must stay loaded for libcurl";
  }
}

}  // namespace
}  // namespace mysqlh
