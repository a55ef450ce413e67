// LogCompactor: one cleaning pass over one compacted partition log, Kafka's
// log cleaner algorithm (KIP-58/KIP-354/KIP-534 semantics).
//
// A pass:
//   1. Range. The sealed segments are cleanable up to the first one that
//      still holds a record younger than min.compaction.lag.ms (the active
//      segment never is), and never at or past the log's compaction limit
//      (the high watermark): [log start, end). [clean offset, end) is dirty.
//   2. Map. The dirty records' keys go into the KeyOffsetMap with the offset
//      of their latest record. When the map fills, `end` moves back to the
//      first record that did not fit: the pass cleans less, never wrongly.
//   3. Rewrite. The segments below `end` are rewritten in groups whose sizes
//      add up to at most segment.bytes; a record is kept unless the map
//      holds a later offset for its key, it has no key, or it is a tombstone
//      whose batch's delete horizon has passed (batch_filter.h). Each group's
//      cleaned copy goes in by PartitionLog::ReplaceSegments, so segments
//      cleaning left small merge on the next pass. A single segment in
//      which nothing changed is left as it is.
//   4. The log's clean offset becomes `end`.
//
// Kept records keep their offsets, batches their offset spans; a batch left
// empty is dropped, unless it is its idempotent producer's last batch in
// the cleaned range: then its header stays (KIP-98), so the producer's
// sequence survives a rebuild of producer state from the log.
//
// Not thread-safe: one compactor per cleaner thread, one pass at a time;
// two passes must never run on the same log at once (LogCleaner sees to
// it).
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/io_throttle.h"
#include "storage/key_offset_map.h"
#include "storage/partition_log.h"

namespace samsa::storage {

// What of a log a pass could clean now (step 1).
struct CleanableRange {
  Offset dirty_start;  // the clean offset, clamped to the log
  Offset end;          // first offset the pass must not clean
  uint64_t clean_bytes = 0;
  uint64_t dirty_bytes = 0;
  // Timestamp of the oldest dirty batch, for max.compaction.lag.ms.
  std::optional<int64_t> first_dirty_timestamp;

  double dirty_ratio() const {
    const uint64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

absl::StatusOr<CleanableRange> ComputeCleanable(const PartitionLog::CleanerView& view,
                                                absl::Time now);

struct CleanStats {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  int64_t records_removed = 0;
  int segments_replaced = 0;
  size_t map_keys = 0;   // distinct keys in the dirty range the pass mapped
  Offset clean_end;      // the log's new clean offset
  bool aborted = false;  // retention or truncation took segments meanwhile
};

class LogCompactor {
 public:
  // A pass's key map grows with the keys it meets up to `map_bytes`, for
  // the pass only. `throttle` (shared between threads) must outlive the
  // compactor.
  LogCompactor(size_t map_bytes, IoThrottle* throttle)
      : map_bytes_(map_bytes), throttle_(throttle) {}

  // Runs one pass over `log` (see above) with `now` as the time.
  absl::StatusOr<CleanStats> Clean(PartitionLog& log, absl::Time now);

 private:
  const size_t map_bytes_;
  IoThrottle* const throttle_;
};

}  // namespace samsa::storage
