#include "crypto/secure_buffer.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>

namespace keyring_locker::crypto {
namespace {

std::atomic<size_t> g_live_buffers{0};
std::atomic<size_t> g_mlock_failures{0};
std::atomic<size_t> g_unlocked_buffers{0};
std::atomic<size_t> g_unlocked_bytes{0};
std::atomic<size_t> g_locked_bytes{0};
std::atomic<MlockObserver> g_observer{nullptr};

bool IsPowerOfTen(size_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

// One warning per decade of failures: enough to notice a growing problem
// without a log line per cached key. `own_mapping` bytes: a buffer with pages
// of its own (a slab slot's page is counted by the slab).
void CountMlockFailure(size_t own_mapping) {
  if (own_mapping != 0) {
    g_unlocked_buffers.fetch_add(1, std::memory_order_relaxed);
    g_unlocked_bytes.fetch_add(own_mapping, std::memory_order_relaxed);
  }
  const size_t failures = g_mlock_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!IsPowerOfTen(failures)) return;
  if (MlockObserver observer = g_observer.load(std::memory_order_acquire)) {
    MemoryLockStats stats = SecureBuffer::LockStats();
    stats.mlock_failures = failures;  // the decade reached, even if others raced past it
    observer(stats);
  }
}

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
  SlabSlot slot;
  if (size <= LockedSlab::kLargestSlot && LockedSlab::Instance().Allocate(size, &slot)) {
    data_ = slot.data;
    size_ = size;
    mapped_ = slot.capacity;
    slab_page_ = slot.page;
    locked_ = slot.locked;
    dontdump_ = slot.dontdump;
    g_live_buffers.fetch_add(1, std::memory_order_relaxed);
    if (!locked_) CountMlockFailure(0);
    return;
  }
  const size_t page = PageSize();
  if (size > SIZE_MAX - page) return;
  const size_t mapped = (size + page - 1) / page * page;
  // A private anonymous mapping per buffer keeps key bytes off the malloc
  // heap, where freed chunks are recycled unwiped and land in core dumps.
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  locked_ = mlock(p, mapped) == 0;
  if (locked_) {
    g_locked_bytes.fetch_add(mapped, std::memory_order_relaxed);
  } else {
    CountMlockFailure(mapped);
  }
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
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      slab_page_(std::exchange(other.slab_page_, nullptr)),
      locked_(std::exchange(other.locked_, false)),
      dontdump_(std::exchange(other.dontdump_, false)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    slab_page_ = std::exchange(other.slab_page_, nullptr);
    locked_ = std::exchange(other.locked_, false);
    dontdump_ = std::exchange(other.dontdump_, false);
  }
  return *this;
}

SecureBuffer::~SecureBuffer() { Release(); }

void SecureBuffer::Release() {
  if (data_ == nullptr) return;
  if (slab_page_ != nullptr) {
    LockedSlab::Instance().Free(SlabSlot{data_, mapped_, slab_page_, locked_, dontdump_});  // wipes the slot
  } else {
    ReleaseMapping();
  }
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
  slab_page_ = nullptr;
  locked_ = false;
  dontdump_ = false;
  g_live_buffers.fetch_sub(1, std::memory_order_relaxed);
}

void SecureBuffer::ReleaseMapping() {
  // The whole mapping, not just size_: Truncate may have shortened size_ and
  // OPENSSL_cleanse cannot be optimised away like a plain memset.
  OPENSSL_cleanse(data_, mapped_);
  if (locked_) {
    munlock(data_, mapped_);
    g_locked_bytes.fetch_sub(mapped_, std::memory_order_relaxed);
  } else {
    g_unlocked_buffers.fetch_sub(1, std::memory_order_relaxed);
    g_unlocked_bytes.fetch_sub(mapped_, std::memory_order_relaxed);
  }
  munmap(data_, mapped_);
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

MemoryLockStats SecureBuffer::LockStats() {
  const SlabStats slab = LockedSlab::Instance().Stats();
  MemoryLockStats s;
  s.mlock_failures = g_mlock_failures.load(std::memory_order_relaxed);
  s.unlocked_buffers = g_unlocked_buffers.load(std::memory_order_relaxed) + slab.unlocked_slots;
  s.unlocked_bytes = g_unlocked_bytes.load(std::memory_order_relaxed) + slab.unlocked_bytes;
  s.locked_bytes = g_locked_bytes.load(std::memory_order_relaxed) + slab.locked_bytes;
  return s;
}

void SetMlockObserver(MlockObserver observer) { g_observer.store(observer, std::memory_order_release); }

std::string UnlockedMemoryWarning(const MemoryLockStats& stats, const std::string& unit) {
  return "key memory could not be locked in RAM (mlock failed " + std::to_string(stats.mlock_failures) +
         " times so far): raise the locked-memory limit: LimitMEMLOCK= in the systemd unit of " + unit +
         " / ulimit -l, or give the server CAP_IPC_LOCK; until then " + std::to_string(stats.unlocked_buffers) +
         " key buffers (" + std::to_string(stats.unlocked_bytes) +
         " bytes) may be swapped to disk (they stay out of core dumps: MADV_DONTDUMP)";
}

void WipeString(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(&(*s)[0], s->size());
  s->clear();
}

}  // namespace keyring_locker::crypto
