// KeyOffsetMap: the log cleaner's dedupe buffer (Kafka's SkimpyOffsetMap):
// for each key seen in the dirty part of a log, the offset of its latest
// record, in a fixed amount of memory chosen up front
// (log.cleaner.dedupe.buffer.size split between the cleaner threads).
//
// Keys are not stored: each is a 128-bit digest (two independent 64-bit
// hashes), 16 bytes plus an 8-byte offset per slot, open addressing with
// linear probing. Two keys sharing a digest (chance about n^2 / 2^129 for n
// keys) would be taken for one. The table starts small and doubles whenever
// it is `max_load` full, up to the memory it was given; past that Put
// reports it full, and the cleaner cleans up to where it got.
//
// Not thread-safe: each cleaner thread owns one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/ids.h"

namespace samsa::storage {

class KeyOffsetMap {
 public:
  static constexpr size_t kBytesPerSlot = 24;

  explicit KeyOffsetMap(size_t memory_bytes, double max_load = 0.9);
  ~KeyOffsetMap();
  KeyOffsetMap(const KeyOffsetMap&) = delete;
  KeyOffsetMap& operator=(const KeyOffsetMap&) = delete;

  struct Digest {
    uint64_t a = 0;
    uint64_t b = 0;
  };
  static Digest DigestOf(std::string_view key);
  // Starts loading the slot where `d` starts its probe: a caller with many
  // keys at hand prefetches them all, then looks them up, so the cache
  // misses overlap.
  void Prefetch(const Digest& d) const { __builtin_prefetch(&slots_[Home(d)]); }

  // Records `offset` as the latest of the key (offsets are put in
  // increasing order). False, changing nothing, when the key is new and the
  // map full.
  bool Put(const Digest& d, Offset offset);
  bool Put(std::string_view key, Offset offset) { return Put(DigestOf(key), offset); }
  // The latest offset put for the key.
  std::optional<Offset> Get(const Digest& d) const;
  std::optional<Offset> Get(std::string_view key) const { return Get(DigestOf(key)); }

  size_t size() const { return size_; }
  size_t slots() const { return slot_count_; }
  // Bytes the table takes now.
  size_t memory() const { return mapped_bytes_; }

 private:
  struct Slot {
    Digest digest;
    int64_t offset_plus_one = 0;  // 0: empty, so fresh zero pages are an empty map
  };

  // Where the probe for `d` starts (multiply-shift: no division).
  size_t Home(const Digest& d) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(d.a) * slot_count_) >> 64);
  }
  // Maps a zeroed table of `slots` slots (the old one is the caller's).
  void Allocate(size_t slots);
  // Doubles the table (up to max_slots_), moving every entry.
  void Grow();
  // The slot holding `d`, or the empty one where it would go.
  size_t Find(const Digest& d) const;

  // Lookups land anywhere in the table: it is anonymous memory on huge
  // pages where the kernel has them, so they miss the cache but rarely the
  // TLB, and the kernel zeroes each page on first touch rather than all of
  // it up front (a pass starting on every broker at once would stall the
  // machine's cores for that long).
  const double max_load_;
  const size_t max_slots_;
  size_t slot_count_ = 0;
  size_t mapped_bytes_ = 0;
  Slot* slots_ = nullptr;
  size_t max_entries_ = 0;  // entries before the table grows (or is full)
  size_t size_ = 0;
};

}  // namespace samsa::storage
