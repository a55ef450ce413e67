// KeyOffsetMap: the log cleaner's dedupe buffer (Kafka's SkimpyOffsetMap):
// for each key seen in the dirty part of a log, the offset of its latest
// record, in a fixed amount of memory chosen up front
// (log.cleaner.dedupe.buffer.size split between the cleaner threads).
//
// Keys are not stored: each is a 128-bit digest (two independent 64-bit
// hashes), 16 bytes plus an 8-byte offset per slot, open addressing with
// linear probing. Two keys sharing a digest (chance about n^2 / 2^129 for n
// keys) would be taken for one. The map accepts entries up to `max_load` of
// its slots; past that Put reports it full, and the cleaner cleans up to
// where it got.
//
// Not thread-safe: each cleaner thread owns one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/ids.h"

namespace samsa::storage {

class KeyOffsetMap {
 public:
  static constexpr size_t kBytesPerSlot = 24;

  explicit KeyOffsetMap(size_t memory_bytes, double max_load = 0.9);

  // Records `offset` as the latest of `key` (offsets are put in increasing
  // order). False, changing nothing, when the key is new and the map full.
  bool Put(std::string_view key, Offset offset);
  // The latest offset put for `key`.
  std::optional<Offset> Get(std::string_view key) const;

  void Clear();
  size_t size() const { return size_; }
  size_t slots() const { return slots_.size(); }
  // Keys it can take.
  size_t capacity() const { return max_entries_; }

 private:
  struct Digest {
    uint64_t a = 0;
    uint64_t b = 0;
  };
  struct Slot {
    Digest digest;
    int64_t offset = -1;  // -1: empty
  };

  static Digest DigestOf(std::string_view key);
  // The slot holding `d`, or the empty one where it would go.
  size_t Find(const Digest& d) const;

  std::vector<Slot> slots_;
  size_t max_entries_;
  size_t size_ = 0;
};

}  // namespace samsa::storage
