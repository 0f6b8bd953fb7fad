// SecureBuffer: the only type that holds key material in keyring_locker.
// Memory is mmap'ed separately from the heap, mlock'ed (best effort: a failed
// mlock is counted and reported to the MlockObserver, not fatal, because
// mysqld often runs with a small RLIMIT_MEMLOCK), excluded from core dumps
// with MADV_DONTDUMP, and wiped with OPENSSL_cleanse before it is returned.
// Buffers of up to 1 KiB share locked pages (crypto/locked_slab.h: a slot
// each, so 10,000 cached keys lock 79 pages, not 10,000); larger ones get
// pages of their own. Move-only; never printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/locked_slab.h"

namespace keyring_locker::crypto {

// Process-wide locked-memory accounting of live SecureBuffers, in whole
// pages (what RLIMIT_MEMLOCK counts): the slab's pages plus the pages of
// buffers too large for it.
struct MemoryLockStats {
  size_t mlock_failures = 0;    // allocations that did not get locked memory, since the start
  size_t unlocked_buffers = 0;  // live buffers whose pages are not locked (may reach swap)
  size_t unlocked_bytes = 0;
  size_t locked_bytes = 0;
};

// Told at the 1st, 10th, 100th, 1000th ... failed mlock, on the allocating
// thread, with no SecureBuffer lock held (there is none: the counters are
// atomics). Must not throw and must not allocate SecureBuffers. Set once at
// plugin init; nullptr turns it off (plugin deinit).
using MlockObserver = void (*)(const MemoryLockStats& stats) noexcept;
void SetMlockObserver(MlockObserver observer);
// The warning an adapter logs from its observer: problem, risk and fix, in one
// place for every adapter. `unit` names the server's systemd unit ("mariadb").
std::string UnlockedMemoryWarning(const MemoryLockStats& stats, const std::string& unit);

class SecureBuffer {
 public:
  SecureBuffer() = default;
  explicit SecureBuffer(size_t size);  // zero-filled; size 0 allocates nothing
  static SecureBuffer CopyOf(const void* data, size_t size);
  static SecureBuffer CopyOf(const std::string& s) { return CopyOf(s.data(), s.size()); }

  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  ~SecureBuffer();

  SecureBuffer Clone() const { return CopyOf(data_, size_); }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Shrink the logical size (e.g. after decoding); bytes past it are wiped.
  void Truncate(size_t new_size);
  // Constant-time comparison (CRYPTO_memcmp).
  bool Equals(const SecureBuffer& other) const;
  bool Equals(const void* data, size_t size) const;  // constant time for equal sizes

  // Process-wide counters, for status variables and tests.
  static size_t LiveBuffers();   // buffers currently allocated
  static size_t MlockFailures(); // allocations whose mlock failed
  static MemoryLockStats LockStats();
  // True if the pages behind this buffer were marked MADV_DONTDUMP.
  bool ExcludedFromCoreDumps() const { return dontdump_; }

 private:
  void Release();
  void ReleaseMapping();  // a buffer with pages of its own
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes owned: the slab slot, or the mapping (page multiple)
  SlabPage* slab_page_ = nullptr;  // the slab page holding data_; nullptr: a mapping of its own
  bool locked_ = false;  // mlock succeeded: which counter Release gives back to
  bool dontdump_ = false;
};

// Wipes a std::string that held a secret (a token, base64 key bytes in a
// request body) with OPENSSL_cleanse, then clears it.
void WipeString(std::string* s);

}  // namespace keyring_locker::crypto
