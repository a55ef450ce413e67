#include "storage/key_offset_map.h"

#include <sys/mman.h>

#include <algorithm>

#include "absl/hash/hash.h"
#include "common/logging.h"

namespace samsa::storage {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// A new map starts with room for 59 K keys (1.5 MiB) and doubles as keys
// come, up to its budget: a pass touches only the memory its keys need.
constexpr size_t kInitialSlots = size_t{1} << 16;

// Distinguishes the second hash of a key from the first.
constexpr uint64_t kSecondHashSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

KeyOffsetMap::KeyOffsetMap(size_t memory_bytes, double max_load)
    : max_load_(std::clamp(max_load, 0.01, 0.99)),
      max_slots_(std::max<size_t>(memory_bytes / kBytesPerSlot, 2)) {
  Allocate(std::min(max_slots_, kInitialSlots));
}

KeyOffsetMap::~KeyOffsetMap() { munmap(slots_, mapped_bytes_); }

void KeyOffsetMap::Allocate(size_t slots) {
  slot_count_ = slots;
  mapped_bytes_ = (slots * sizeof(Slot) + kHugePage - 1) / kHugePage * kHugePage;
  max_entries_ = std::max<size_t>(static_cast<size_t>(static_cast<double>(slots) * max_load_), 1);
  void* memory =
      mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SAMSA_CHECK(memory != MAP_FAILED) << "cannot map a key map of " << mapped_bytes_ << " bytes";
  madvise(memory, mapped_bytes_, MADV_HUGEPAGE);  // advice only: no huge pages is fine
  slots_ = static_cast<Slot*>(memory);
}

void KeyOffsetMap::Grow() {
  Slot* old = slots_;
  const size_t old_count = slot_count_;
  const size_t old_bytes = mapped_bytes_;
  Allocate(std::min(max_slots_, old_count * 2));
  for (size_t i = 0; i < old_count; ++i) {
    if (old[i].offset_plus_one != 0) slots_[Find(old[i].digest)] = old[i];
  }
  munmap(old, old_bytes);
}

KeyOffsetMap::Digest KeyOffsetMap::DigestOf(std::string_view key) {
  const absl::string_view k(key.data(), key.size());
  return {absl::HashOf(k), absl::HashOf(kSecondHashSalt, k)};
}

size_t KeyOffsetMap::Find(const Digest& d) const {
  size_t i = Home(d);
  while (true) {
    const Slot& s = slots_[i];
    if (s.offset_plus_one == 0 || (s.digest.a == d.a && s.digest.b == d.b)) return i;
    if (++i == slot_count_) i = 0;
  }
}

bool KeyOffsetMap::Put(const Digest& d, Offset offset) {
  Slot* s = &slots_[Find(d)];
  if (s->offset_plus_one == 0) {
    if (size_ >= max_entries_) {
      if (slot_count_ == max_slots_) return false;
      Grow();
      s = &slots_[Find(d)];
    }
    ++size_;
    s->digest = d;
  }
  SAMSA_CHECK(offset.value() + 1 >= s->offset_plus_one) << "offsets are put in increasing order";
  s->offset_plus_one = offset.value() + 1;
  return true;
}

std::optional<Offset> KeyOffsetMap::Get(const Digest& d) const {
  const Slot& s = slots_[Find(d)];
  if (s.offset_plus_one == 0) return std::nullopt;
  return Offset(s.offset_plus_one - 1);
}

}  // namespace samsa::storage
