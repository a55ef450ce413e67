#include "storage/key_offset_map.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "common/logging.h"

namespace samsa::storage {
namespace {

// Distinguishes the second hash of a key from the first.
constexpr uint64_t kSecondHashSalt = 0x9e3779b97f4a7c15ULL;

}  // namespace

KeyOffsetMap::KeyOffsetMap(size_t memory_bytes, double max_load)
    : slots_(std::max<size_t>(memory_bytes / kBytesPerSlot, 2)),
      max_entries_(std::max<size_t>(static_cast<size_t>(static_cast<double>(slots_.size()) *
                                                        std::clamp(max_load, 0.01, 0.99)),
                                    1)) {}

KeyOffsetMap::Digest KeyOffsetMap::DigestOf(std::string_view key) {
  const absl::string_view k(key.data(), key.size());
  return {absl::HashOf(k), absl::HashOf(kSecondHashSalt, k)};
}

size_t KeyOffsetMap::Find(const Digest& d) const {
  // Multiply-shift maps the hash onto [0, slots) without a division.
  size_t i = static_cast<size_t>((static_cast<unsigned __int128>(d.a) * slots_.size()) >> 64);
  while (true) {
    const Slot& s = slots_[i];
    if (s.offset < 0 || (s.digest.a == d.a && s.digest.b == d.b)) return i;
    if (++i == slots_.size()) i = 0;
  }
}

bool KeyOffsetMap::Put(std::string_view key, Offset offset) {
  const Digest d = DigestOf(key);
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

std::optional<Offset> KeyOffsetMap::Get(std::string_view key) const {
  const Slot& s = slots_[Find(DigestOf(key))];
  if (s.offset < 0) return std::nullopt;
  return Offset(s.offset);
}

void KeyOffsetMap::Clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  size_ = 0;
}

}  // namespace samsa::storage
