/* See keyring_locker_wipe_alloc.h. Every function counts its call and then
 * does what the libc function of the same name does, except that memory is
 * wiped (explicit_bzero: not optimised away) before it goes back to malloc. */
#define _GNU_SOURCE
#include "keyring_locker_wipe_alloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define KLK_EXPORT __attribute__((visibility("default")))

static unsigned long calls;

static void count(void) { __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED); }

/* Wipes the whole usable block, not just what was asked for: malloc may hand
 * out more and libcurl's buffers grow into it. */
static void wipe_and_free(void *ptr) {
  if (ptr == NULL) return;
  explicit_bzero(ptr, malloc_usable_size(ptr));
  free(ptr);
}

KLK_EXPORT void *klk_wipe_malloc(size_t size) {
  count();
  return malloc(size);
}

KLK_EXPORT void klk_wipe_free(void *ptr) {
  count();
  wipe_and_free(ptr);
}

/* Never libc realloc: it may move the data and free the old block unwiped.
 * A shrink keeps the block (its tail is wiped when it is freed). */
KLK_EXPORT void *klk_wipe_realloc(void *ptr, size_t size) {
  count();
  if (ptr == NULL) return malloc(size);
  if (size == 0) { /* glibc's realloc(p, 0): frees p, returns NULL */
    wipe_and_free(ptr);
    return NULL;
  }
  size_t old = malloc_usable_size(ptr);
  if (size <= old) return ptr;
  void *grown = malloc(size);
  if (grown == NULL) return NULL; /* ptr stays valid, as with realloc */
  memcpy(grown, ptr, old);
  wipe_and_free(ptr);
  return grown;
}

KLK_EXPORT char *klk_wipe_strdup(const char *str) {
  count();
  size_t n = strlen(str) + 1;
  char *copy = malloc(n);
  if (copy != NULL) memcpy(copy, str, n);
  return copy;
}

KLK_EXPORT void *klk_wipe_calloc(size_t count_, size_t size) {
  count();
  return calloc(count_, size);
}

KLK_EXPORT unsigned long klk_wipe_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
