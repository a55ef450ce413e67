#include "storage/key_offset_map.h"

#include <sys/mman.h>

#include <algorithm>

#include "absl/hash/hash.h"
#include "common/logging.h"

namespace samsa::storage {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Distinguishes the second hash of a key from the first.
constexpr uint64_t kSecondHashSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

KeyOffsetMap::KeyOffsetMap(size_t memory_bytes, double max_load)
    : slot_count_(std::max<size_t>(memory_bytes / kBytesPerSlot, 2)),
      max_entries_(std::max<size_t>(
          static_cast<size_t>(static_cast<double>(slot_count_) * std::clamp(max_load, 0.01, 0.99)),
          1)) {
  const size_t bytes = (slot_count_ * sizeof(Slot) + kHugePage - 1) / kHugePage * kHugePage;
  void* memory = std::aligned_alloc(kHugePage, bytes);
  SAMSA_CHECK(memory != nullptr) << "cannot allocate a key map of " << bytes << " bytes";
  madvise(memory, bytes, MADV_HUGEPAGE);  // advice only: no huge pages is fine
  slots_.reset(static_cast<Slot*>(memory));
  Clear();
}

KeyOffsetMap::Digest KeyOffsetMap::DigestOf(std::string_view key) {
  const absl::string_view k(key.data(), key.size());
  return {absl::HashOf(k), absl::HashOf(kSecondHashSalt, k)};
}

size_t KeyOffsetMap::Find(const Digest& d) const {
  size_t i = Home(d);
  while (true) {
    const Slot& s = slots_[i];
    if (s.offset < 0 || (s.digest.a == d.a && s.digest.b == d.b)) return i;
    if (++i == slot_count_) i = 0;
  }
}

bool KeyOffsetMap::Put(const Digest& d, Offset offset) {
  Slot& s = slots_[Find(d)];
  if (s.offset < 0) {
    if (size_ >= max_entries_) return false;
    ++size_;
    s.digest = d;
  }
  SAMSA_CHECK(offset.value() >= s.offset) << "offsets are put in increasing order";
  s.offset = offset.value();
  return true;
}

std::optional<Offset> KeyOffsetMap::Get(const Digest& d) const {
  const Slot& s = slots_[Find(d)];
  if (s.offset < 0) return std::nullopt;
  return Offset(s.offset);
}

void KeyOffsetMap::Clear() {
  std::fill(slots_.get(), slots_.get() + slot_count_, Slot{});
  size_ = 0;
}

}  // namespace samsa::storage
