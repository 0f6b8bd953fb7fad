#include "crypto/secure_buffer.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace keyring_locker::crypto {
namespace {

std::atomic<size_t> g_live_buffers{0};
std::atomic<size_t> g_mlock_failures{0};

size_t PageSize() {
  static const size_t page = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

}  // namespace

// An mmap failure cannot be reported from a constructor without an exception,
// and exceptions must not reach the server; the buffer is left empty instead
// and every producer of key material checks size() against what it asked for.
SecureBuffer::SecureBuffer(size_t size) {
  if (size == 0) return;
  const size_t page = PageSize();
  if (size > SIZE_MAX - page) return;
  const size_t mapped = (size + page - 1) / page * page;
  // A private anonymous mapping per buffer keeps key bytes off the malloc
  // heap, where freed chunks are recycled unwiped and land in core dumps.
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  if (mlock(p, mapped) != 0) g_mlock_failures.fetch_add(1, std::memory_order_relaxed);
#ifdef MADV_DONTDUMP
  dontdump_ = madvise(p, mapped, MADV_DONTDUMP) == 0;
#endif
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
  mapped_ = mapped;
  g_live_buffers.fetch_add(1, std::memory_order_relaxed);
}

SecureBuffer SecureBuffer::CopyOf(const void* data, size_t size) {
  SecureBuffer out(size);
  if (out.size_ == size && size != 0) std::memcpy(out.data_, data, size);
  return out;
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), mapped_(other.mapped_), dontdump_(other.dontdump_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.mapped_ = 0;
  other.dontdump_ = false;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    mapped_ = other.mapped_;
    dontdump_ = other.dontdump_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.mapped_ = 0;
    other.dontdump_ = false;
  }
  return *this;
}

SecureBuffer::~SecureBuffer() { Release(); }

void SecureBuffer::Release() {
  if (data_ == nullptr) return;
  // The whole mapping, not just size_: Truncate may have shortened size_ and
  // OPENSSL_cleanse cannot be optimised away like a plain memset.
  OPENSSL_cleanse(data_, mapped_);
  munlock(data_, mapped_);
  munmap(data_, mapped_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
  dontdump_ = false;
  g_live_buffers.fetch_sub(1, std::memory_order_relaxed);
}

void SecureBuffer::Truncate(size_t new_size) {
  if (new_size >= size_) return;
  OPENSSL_cleanse(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

bool SecureBuffer::Equals(const SecureBuffer& other) const { return Equals(other.data_, other.size_); }

bool SecureBuffer::Equals(const void* data, size_t size) const {
  if (size_ != size) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(data_, data, size_) == 0;
}

size_t SecureBuffer::LiveBuffers() { return g_live_buffers.load(std::memory_order_relaxed); }
size_t SecureBuffer::MlockFailures() { return g_mlock_failures.load(std::memory_order_relaxed); }

void WipeString(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(&(*s)[0], s->size());
  s->clear();
}

}  // namespace keyring_locker::crypto
