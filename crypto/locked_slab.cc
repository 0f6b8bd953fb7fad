#include "crypto/locked_slab.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <mutex>
#include <vector>

// Under AddressSanitizer, free slots and the bytes of a slot past what was
// asked for are poisoned: an overrun into the next key's slot is reported
// instead of read silently (a page per buffer at least ended in unmapped
// memory sometimes; slots sit back to back).
#if defined(__SANITIZE_ADDRESS__)
#define KLK_SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KLK_SLAB_ASAN 1
#endif
#endif
// The slab's state is never destroyed (see Instance()). When the plugin or
// component is unloaded (dlclose), the static pointer to it goes with the
// library's data, so LeakSanitizer would call it a leak: it is told the
// object is meant to live on, and what it reaches counts as reachable.
#ifdef KLK_SLAB_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define KLK_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define KLK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define KLK_LIVES_ON(p) __lsan_ignore_object(p)
#else
#define KLK_POISON(p, n) ((void)(p), (void)(n))
#define KLK_UNPOISON(p, n) ((void)(p), (void)(n))
#define KLK_LIVES_ON(p) ((void)(p))
#endif

namespace keyring_locker::crypto {

struct SlabPage {
  uint8_t* base = nullptr;
  size_t slot_size = 0;
  size_t class_index = 0;
  std::vector<uint16_t> free_slots;  // indexes of free slots; the last is handed out next
  size_t used = 0;
  size_t partial_at = SIZE_MAX;  // position in its class's partial list; SIZE_MAX = full
  bool locked = false;
  bool dontdump = false;
};

namespace {

constexpr std::array<size_t, 6> kSlotSizes = {32, 64, 128, 256, 512, 1024};
static_assert(kSlotSizes.front() == LockedSlab::kSmallestSlot && kSlotSizes.back() == LockedSlab::kLargestSlot);

size_t PageSize() {
  static const size_t page = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

struct SlabState {
  std::mutex mu;
  // Per slot size: pages with at least one free slot.
  std::array<std::vector<SlabPage*>, kSlotSizes.size()> partial;
  SlabStats stats;
};

SlabState& State() {
  static SlabState* state = [] {
    auto* s = new SlabState;  // never destroyed: see Instance()
    KLK_LIVES_ON(s);
    return s;
  }();
  return *state;
}

size_t ClassOf(size_t size) {
  for (size_t i = 0; i < kSlotSizes.size(); ++i) {
    if (size <= kSlotSizes[i]) return i;
  }
  return kSlotSizes.size();
}

void AddPartial(SlabState& s, SlabPage* page) {
  auto& list = s.partial[page->class_index];
  page->partial_at = list.size();
  list.push_back(page);
}

void RemovePartial(SlabState& s, SlabPage* page) {
  auto& list = s.partial[page->class_index];
  const size_t at = page->partial_at;
  list[at] = list.back();
  list[at]->partial_at = at;
  list.pop_back();
  page->partial_at = SIZE_MAX;
}

// A fresh page for slots of kSlotSizes[class_index]: mapped, locked if the
// limit allows, kept out of core dumps. nullptr if mmap failed.
SlabPage* MapPage(size_t class_index) {
  const size_t page_size = PageSize();
  void* p = mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* page = new SlabPage;
  page->base = static_cast<uint8_t*>(p);
  page->slot_size = kSlotSizes[class_index];
  page->class_index = class_index;
  page->locked = mlock(p, page_size) == 0;
#ifdef MADV_DONTDUMP
  page->dontdump = madvise(p, page_size, MADV_DONTDUMP) == 0;
#endif
  KLK_POISON(page->base, page_size);  // every slot free
  const size_t slots = page_size / page->slot_size;
  page->free_slots.reserve(slots);
  // Handed out from the back: slot 0 first, so a page fills from its start.
  for (size_t i = slots; i > 0; --i) page->free_slots.push_back(static_cast<uint16_t>(i - 1));
  return page;
}

void UnmapPage(SlabPage* page) {
  const size_t page_size = PageSize();
  KLK_UNPOISON(page->base, page_size);  // the address may be mapped again, by anyone
  if (page->locked) munlock(page->base, page_size);
  munmap(page->base, page_size);
  delete page;
}

void CountPage(SlabStats& st, const SlabPage& page, bool add) {
  const size_t page_size = PageSize();
  const size_t sign_pages = add ? 1 : static_cast<size_t>(-1);
  st.pages += sign_pages;
  if (page.locked) {
    st.locked_pages += sign_pages;
    st.locked_bytes += add ? page_size : static_cast<size_t>(0) - page_size;
  } else {
    st.unlocked_bytes += add ? page_size : static_cast<size_t>(0) - page_size;
  }
}

}  // namespace

LockedSlab& LockedSlab::Instance() {
  static LockedSlab* slab = [] {
    auto* s = new LockedSlab;  // never destroyed: see the header
    KLK_LIVES_ON(s);
    return s;
  }();
  return *slab;
}

bool LockedSlab::Allocate(size_t size, SlabSlot* out) {
  if (size == 0) return false;
  const size_t class_index = ClassOf(size);
  if (class_index >= kSlotSizes.size()) return false;
  SlabState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  SlabPage* page = nullptr;
  SlabPage* unlocked_with_room = nullptr;
  for (SlabPage* p : s.partial[class_index]) {
    if (p->locked) {
      page = p;
      break;
    }
    unlocked_with_room = p;
  }
  if (page == nullptr) {
    // No locked page has room: a new page, locked if the limit allows; if
    // it does not, fill an unlocked page that has room before mapping more.
    SlabPage* fresh = MapPage(class_index);
    if (fresh != nullptr && (fresh->locked || unlocked_with_room == nullptr)) {
      page = fresh;
      CountPage(s.stats, *page, true);
      AddPartial(s, page);
    } else {
      if (fresh != nullptr) UnmapPage(fresh);
      page = unlocked_with_room;
    }
  }
  if (page == nullptr) return false;
  const uint16_t index = page->free_slots.back();
  page->free_slots.pop_back();
  ++page->used;
  if (page->free_slots.empty()) RemovePartial(s, page);
  ++s.stats.slots_in_use;
  if (!page->locked) ++s.stats.unlocked_slots;
  out->data = page->base + static_cast<size_t>(index) * page->slot_size;
  KLK_UNPOISON(out->data, size);
  out->capacity = page->slot_size;
  out->page = page;
  out->locked = page->locked;
  out->dontdump = page->dontdump;
  return true;
}

void LockedSlab::Free(const SlabSlot& slot) {
  if (slot.page == nullptr) return;
  SlabPage* page = slot.page;
  // Wiped before the slot can be handed out again, outside the lock: the
  // slot is still this caller's alone.
  KLK_UNPOISON(slot.data, page->slot_size);
  OPENSSL_cleanse(slot.data, page->slot_size);
  KLK_POISON(slot.data, page->slot_size);
  SlabState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  --s.stats.slots_in_use;
  if (!page->locked) --s.stats.unlocked_slots;
  const auto index = static_cast<uint16_t>(static_cast<size_t>(slot.data - page->base) / page->slot_size);
  const bool was_full = page->free_slots.empty();
  page->free_slots.push_back(index);
  --page->used;
  if (page->used == 0) {
    if (!was_full) RemovePartial(s, page);
    CountPage(s.stats, *page, false);
    UnmapPage(page);
    return;
  }
  if (was_full) AddPartial(s, page);
}

SlabStats LockedSlab::Stats() const {
  SlabState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.stats;
}

}  // namespace keyring_locker::crypto
