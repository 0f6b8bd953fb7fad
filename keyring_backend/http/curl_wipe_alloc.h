// Puts libcurl on the wiping allocation functions of
// keyring_locker_wipe_alloc.so (wipe_alloc/), so request buffers holding the
// locker token are wiped when libcurl frees them. Best effort by design: if
// the helper is missing or libcurl was initialised by other code first, the
// plugin still works and says once, in the warning returned, that token copies
// may remain in freed memory (a refusal to start would take the database down
// for a hardening measure; docs/security.md).
#pragma once

#include <curl/curl.h>

#include <string>

namespace keyring_locker::http {

// keyring_locker_wipe_alloc.so in the folder of the file holding this code:
// the plugin's folder for a plugin, bin/ for the CLI and test programs.
std::string WipeAllocHelperPath();

// curl_global_init for the process, with the helper's allocator when it can
// be used: the copy already loaded (by name), else `helper_path` (dlopened
// with RTLD_NODELETE, never closed). `*warning` is set when libcurl ends up on
// another allocator; empty when ours is in use. Call once per process (or per
// plugin load: libcurl counts repeated inits and keeps its first allocator).
CURLcode CurlGlobalInitWiping(const std::string& helper_path, std::string* warning);

}  // namespace keyring_locker::http
