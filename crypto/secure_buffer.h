// SecureBuffer: the only type that holds key material in keyring_locker.
// Memory is mmap'ed separately from the heap, mlock'ed (best effort: a failed
// mlock is counted, not fatal, because mysqld often runs with a small
// RLIMIT_MEMLOCK), excluded from core dumps with MADV_DONTDUMP, and wiped with
// OPENSSL_cleanse before it is returned. Move-only; never printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace keyring_locker::crypto {

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
  // True if the pages behind this buffer were marked MADV_DONTDUMP.
  bool ExcludedFromCoreDumps() const { return dontdump_; }

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // bytes mmap'ed (page multiple)
  bool dontdump_ = false;
};

// Wipes a std::string that held a secret (a token, base64 key bytes in a
// request body) with OPENSSL_cleanse, then clears it.
void WipeString(std::string* s);

}  // namespace keyring_locker::crypto
