// LockedSlab: where small SecureBuffers live. A page per buffer (the old
// layout) locks 4 KiB for a 32-byte key: 10,000 cached keys were 40 MB of
// locked memory, five times the 8 MiB RLIMIT_MEMLOCK systemd gives services
// on Debian. The slab carves mmap'ed, mlock'ed, MADV_DONTDUMP pages into
// fixed-size slots (32 to 1024 bytes; a page holds slots of one size only),
// so 10,000 AES keys fit in 79 pages (316 KiB).
//
// A freed slot is wiped (OPENSSL_cleanse) before it can be handed out again;
// a page whose last slot is freed is unlocked and unmapped at once, so a
// released key's page leaves the process as before. Pages are never part of
// the malloc heap. Thread-safe: one mutex, taken only on allocation and
// release (never on a key lookup, which reads a buffer it already holds).
//
// The pages of a slab whose mlock failed (RLIMIT_MEMLOCK reached) are still
// used, unlocked; new slots go to locked pages first. SecureBuffer counts
// each buffer placed in an unlocked page as a failed mlock.
#pragma once

#include <cstddef>
#include <cstdint>

namespace keyring_locker::crypto {

struct SlabPage;  // opaque to SecureBuffer

struct SlabSlot {
  uint8_t* data = nullptr;
  size_t capacity = 0;      // the slot's size (>= what was asked for)
  SlabPage* page = nullptr;  // handed back to Free
  bool locked = false;      // the page is mlock'ed
  bool dontdump = false;    // the page is MADV_DONTDUMP
};

struct SlabStats {
  size_t pages = 0;            // pages mapped by the slab
  size_t locked_pages = 0;     // of which mlock'ed
  size_t slots_in_use = 0;
  size_t unlocked_slots = 0;   // slots in use in unlocked pages
  size_t locked_bytes = 0;     // locked_pages * page size
  size_t unlocked_bytes = 0;   // (pages - locked_pages) * page size
};

class LockedSlab {
 public:
  static constexpr size_t kSmallestSlot = 32;
  static constexpr size_t kLargestSlot = 1024;  // larger buffers get pages of their own

  // The process's slab; never destroyed (buffers in static objects may be
  // released after every other static destructor has run).
  static LockedSlab& Instance();

  // A zero-filled slot of at least `size` bytes (1..kLargestSlot); false
  // when `size` is out of range or no page could be mapped.
  bool Allocate(size_t size, SlabSlot* out);
  // Wipes the slot and gives it back; unmaps its page when it was the last.
  void Free(const SlabSlot& slot);

  SlabStats Stats() const;

 private:
  LockedSlab() = default;
};

}  // namespace keyring_locker::crypto
