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
      mapped_bytes_((slot_count_ * sizeof(Slot) + kHugePage - 1) / kHugePage * kHugePage),
      max_entries_(std::max<size_t>(
          static_cast<size_t>(static_cast<double>(slot_count_) * std::clamp(max_load, 0.01, 0.99)),
          1)) {
  void* memory =
      mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SAMSA_CHECK(memory != MAP_FAILED) << "cannot map a key map of " << mapped_bytes_ << " bytes";
  madvise(memory, mapped_bytes_, MADV_HUGEPAGE);  // advice only: no huge pages is fine
  slots_ = static_cast<Slot*>(memory);
}

KeyOffsetMap::~KeyOffsetMap() { munmap(slots_, mapped_bytes_); }

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
  Slot& s = slots_[Find(d)];
  if (s.offset_plus_one == 0) {
    if (size_ >= max_entries_) return false;
    ++size_;
    s.digest = d;
  }
  SAMSA_CHECK(offset.value() + 1 >= s.offset_plus_one) << "offsets are put in increasing order";
  s.offset_plus_one = offset.value() + 1;
  return true;
}

std::optional<Offset> KeyOffsetMap::Get(const Digest& d) const {
  const Slot& s = slots_[Find(d)];
  if (s.offset_plus_one == 0) return std::nullopt;
  return Offset(s.offset_plus_one - 1);
}

void KeyOffsetMap::Clear() {
  // The kernel hands back zero pages on the next touch.
  SAMSA_CHECK(madvise(slots_, mapped_bytes_, MADV_DONTNEED) == 0) << "madvise(MADV_DONTNEED)";
  size_ = 0;
}

}  // namespace samsa::storage
