/* keyring_locker_wipe_alloc.so: allocation functions for libcurl that wipe
 * every block before giving it back to malloc, so the requests libcurl builds
 * (they carry X-Vault-Token) leave no token copies in freed heap memory and
 * core dumps. A separate library because libcurl keeps calling these for the
 * life of the process: it is linked with -z nodelete and never unloaded,
 * while the plugins that install it can be (docs/security.md). Plain C, no
 * dependency on keyring_locker's code, nothing here can throw. */
#ifndef KEYRING_LOCKER_WIPE_ALLOC_H
#define KEYRING_LOCKER_WIPE_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The file name (and DT_SONAME) the plugins look for next to themselves. */
#define KLK_WIPE_ALLOC_SONAME "keyring_locker_wipe_alloc.so"

/* Signatures of curl_global_init_mem's callbacks. */
void *klk_wipe_malloc(size_t size);
void klk_wipe_free(void *ptr);
void *klk_wipe_realloc(void *ptr, size_t size);
char *klk_wipe_strdup(const char *str);
void *klk_wipe_calloc(size_t count, size_t size);

/* How many times the functions above were called: a caller compares it
 * around a libcurl call to learn whether libcurl really uses them (it keeps
 * the first allocator it was initialised with). */
unsigned long klk_wipe_calls(void);

#ifdef __cplusplus
}
#endif

#endif
