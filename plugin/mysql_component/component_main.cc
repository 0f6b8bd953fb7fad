// component_keyring_locker: the component descriptor mysqld finds through
// list_components(), providing the eight keyring services under the
// implementation name "component_keyring_locker".
#include "crypto/secure_buffer.h"
#include "plugin/mysql_component/component_services.h"
#include "plugin/mysql_component/component_state.h"

namespace keyring_locker::mysql_component {
namespace {

void* g_registry = nullptr;  // abi::Registry: the way to the server's log services (server_log.h)

// SecureBuffer's observer: one warning at the 1st, 10th, 100th ... failed
// mlock (key memory that may be swapped out must not go unnoticed).
void WarnUnlockedMemory(const crypto::MemoryLockStats& stats) noexcept {
  try {
    Log(Severity::kWarning, crypto::UnlockedMemoryWarning(stats, "mysql"));
  } catch (...) {
  }
}

// The configuration is read by keyring_load->load; the observer is set
// before it, so the first key buffer is covered.
abi::ServiceStatus Init() {
  try {
    AttachServerLog(g_registry);  // stderr, said once, if the registry has no log services yet
    crypto::SetMlockObserver(&WarnUnlockedMemory);
    return 0;
  } catch (...) {
    return 1;
  }
}
abi::ServiceStatus Deinit() {
  try {
    Unload();
    crypto::SetMlockObserver(nullptr);
    DetachServerLog();  // releases the handles before the registry goes away
    return 0;
  } catch (...) {
    return 1;
  }
}

abi::ServiceRef g_provides[] = {
    {"keyring_reader_with_status.component_keyring_locker", &kReaderService},
    {"keyring_writer.component_keyring_locker", &kWriterService},
    {"keyring_generator.component_keyring_locker", &kGeneratorService},
    {"keyring_keys_metadata_iterator.component_keyring_locker", &kIteratorService},
    {"keyring_component_status.component_keyring_locker", &kStatusService},
    {"keyring_component_metadata_query.component_keyring_locker", &kMetadataService},
    {"keyring_load.component_keyring_locker", &kLoadService},
    {"keyring_aes.component_keyring_locker", &kAesService},
    {nullptr, nullptr}};
abi::PlaceholderRef g_requires[] = {{"registry", &g_registry}, {nullptr, nullptr}};
abi::MetadataRef g_metadata[] = {{"mysql.author", "keyring_locker authors"},
                                 {"mysql.license", "GPL"},
                                 {"component_keyring_locker_service", "1"},
                                 {nullptr, nullptr}};
abi::Component g_component = {kComponentName, g_provides, g_requires, g_metadata, Init, Deinit};

}  // namespace
}  // namespace keyring_locker::mysql_component

// The library's one entry point: mysqld reads one component from it.
extern "C" __attribute__((visibility("default"))) keyring_locker::mysql_component::abi::Component* list_components() {
  return &keyring_locker::mysql_component::g_component;
}
