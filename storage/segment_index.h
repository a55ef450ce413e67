// The two sparse indexes beside each segment, and their file format. This
// comment is the format's specification (copied to docs/formats.md).
//
// `<base>.index` (offset index): 8-byte entries, big-endian
//     int32 relativeOffset   batch base offset - segment base offset
//     int32 position         byte position of that batch in `<base>.log`
// `<base>.timeindex` (time index): 12-byte entries, big-endian
//     int64 timestamp        largest record timestamp in the segment so far
//     int32 relativeOffset   base offset of the batch that carries it - base
//
// An entry is added when at least `index.interval.bytes` of log have been
// written since the previous one (the first batch of a segment always gets
// one), so a lookup lands at most that many bytes before its target. Offsets,
// positions and timestamps strictly increase along each file.
//
// The active segment's indexes live in memory only; they are written out
// (write, fsync) when the segment is sealed by a roll or a clean shutdown.
// After a crash the active segment is rescanned and its indexes rebuilt; a
// sealed segment's index that is missing, of a size not a multiple of its
// entry size, not increasing, or pointing past its log is rebuilt by scanning
// that segment. An index is never trusted over its log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"

namespace samsa::storage {

inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kTimeIndexEntrySize = 12;

struct OffsetIndexEntry {
  Offset offset;      // absolute batch base offset
  uint32_t position;  // byte position in the segment's log
};

struct TimeIndexEntry {
  int64_t timestamp;
  Offset offset;  // absolute base offset of the batch holding `timestamp`
};

// Both indexes of one segment, in memory. Not thread-safe: owned by its
// Segment, which guards it.
class SegmentIndex {
 public:
  explicit SegmentIndex(Offset base_offset) : base_(base_offset) {}

  // Records the batch at `position`; adds index entries when due.
  void OnBatchAppended(Offset batch_base, uint32_t position, uint32_t batch_size,
                       int64_t batch_max_timestamp, int64_t interval_bytes);

  // Position to start scanning from to find the batch holding `target`: that
  // of the last entry at or before it (0 when none).
  uint32_t LookupPosition(Offset target) const;
  // Offset to start scanning from for the first record with timestamp >=
  // `ts`: the last time entry below `ts`, else the segment base.
  Offset LookupTimestamp(int64_t ts) const;

  // Adds a last time entry for the segment's largest timestamp, so a sealed
  // segment's time index ends with its true maximum (used by retention).
  void Seal();

  int64_t max_timestamp() const { return max_timestamp_; }
  const std::vector<OffsetIndexEntry>& offset_entries() const { return offsets_; }
  const std::vector<TimeIndexEntry>& time_entries() const { return times_; }

  // File encodings.
  std::string EncodeOffsetIndex() const;
  std::string EncodeTimeIndex() const;
  // Decodes both files and checks them against the segment's log size;
  // DATA_LOSS (meaning: rebuild) when anything is off.
  static absl::StatusOr<SegmentIndex> Decode(Offset base_offset, std::string_view offset_file,
                                             std::string_view time_file, uint64_t log_size);

 private:
  Offset base_;
  std::vector<OffsetIndexEntry> offsets_;
  std::vector<TimeIndexEntry> times_;
  int64_t bytes_since_entry_ = 0;
  int64_t max_timestamp_ = -1;
  Offset max_timestamp_offset_;
};

}  // namespace samsa::storage
