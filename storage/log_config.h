// Per-partition log settings (the broker's log.* keys, overridable per
// topic) and the flush policy (docs/architecture.md §4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/record_batch.h"

namespace samsa::storage {

// When appended data is fsynced.
//   always         before an append counts as written (group commit: one
//                  fsync covers every append waiting for it). The default.
//   interval:<ms>  at most <ms> after it was appended; a crash of the machine
//                  can lose that window.
//   os             when the kernel decides (and at segment roll and clean
//                  shutdown); a machine crash can lose any unsynced data.
struct FlushPolicy {
  enum class Kind { kAlways, kInterval, kOs };
  Kind kind = Kind::kAlways;
  absl::Duration interval = absl::ZeroDuration();  // kInterval only

  bool operator==(const FlushPolicy&) const = default;
};

absl::StatusOr<FlushPolicy> ParseFlushPolicy(std::string_view text);

// cleanup.policy: what happens to a partition's old data. Kafka's values:
// "delete", "compact", "compact,delete" (either order).
struct CleanupPolicy {
  bool delete_old = true;  // retention.ms / retention.bytes delete whole segments
  bool compact = false;    // the log cleaner keeps the latest record per key

  bool operator==(const CleanupPolicy&) const = default;
};

absl::StatusOr<CleanupPolicy> ParseCleanupPolicy(std::string_view text);
std::string CleanupPolicyName(const CleanupPolicy& policy);

struct LogConfig {
  int64_t segment_bytes = int64_t{1} << 30;                      // segment.bytes
  absl::Duration segment_age = absl::Hours(24 * 7);              // segment.ms
  int64_t retention_bytes = -1;                                  // retention.bytes; -1: unlimited
  absl::Duration retention_age = absl::Hours(24 * 7);            // retention.ms; infinite: keep
  int64_t index_interval_bytes = 4096;                           // index.interval.bytes
  FlushPolicy flush_policy;                                      // log.flush.policy
  TimestampType timestamp_type = TimestampType::kCreateTime;     // message.timestamp.type
  CleanupPolicy cleanup_policy;                                  // cleanup.policy
  double min_cleanable_dirty_ratio = 0.5;                        // min.cleanable.dirty.ratio
  absl::Duration min_compaction_lag = absl::ZeroDuration();      // min.compaction.lag.ms
  absl::Duration max_compaction_lag = absl::InfiniteDuration();  // max.compaction.lag.ms
  absl::Duration delete_retention = absl::Hours(24);             // delete.retention.ms
};

}  // namespace samsa::storage
