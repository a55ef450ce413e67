// PartitionLog: the durable, ordered log of one partition replica.
//
// Role. Owns the partition directory `<data.dir>/<topic>-<partition>/`: its
// segments (segment.h), its leader-epoch checkpoint (leader_epoch_cache.h)
// and its clean-shutdown marker. Leaders append producer batches, assigning
// offsets and stamping their epoch; followers append the leader's batches
// unchanged. Readers get raw batch bytes back, never decoded records.
//
// Offsets. [log_start_offset, log_end_offset) is what the log holds;
// flushed_offset <= log_end_offset is what is known durable (fsynced). The
// high watermark is the replication layer's business: it passes it to Read
// as the upper bound.
//
// Files in the partition directory besides the segments:
//   leader-epoch-checkpoint  see leader_epoch_cache.h
//   <offset>.snapshot        the broker's producer-state snapshots, see
//                            storage/producer_state.h (ignored by the log)
//   cleaner-checkpoint,      the log cleaner's progress and its segment
//   cleaner-swap             swap, see cleaner_files.h
//   *.deleted, *.tmp         leftovers of an interrupted delete or atomic
//                            write; removed by Open().
//   *.cleaned                an uncommitted clean; removed by Open() (or
//                            put in place, when cleaner-swap commits it).
// Recovery: after a clean shutdown (Close() sealed the active segment and the
// LogManager recorded it, see log_manager.h) the last segment is trusted as
// sealed. Otherwise it is scanned and cut at its first invalid batch, then
// fsynced, so what recovery kept really is durable before it counts as
// flushed.
// Index files whose .log is missing are orphans of an interrupted delete and
// are removed too.
//
// Compaction. The log cleaner (log_cleaner.h) reads sealed segments and
// writes cleaned copies of them that keep every kept record's offset, so a
// compacted log has gaps: readers get the first batch at or after the offset
// they ask for. ReplaceSegments swaps copies in; a read that raced with a
// swap is retried on the new segments, so readers never see an error for it.
//
// Threads. Appends, truncation, roll, retention and Close are serialized by
// the log's mutex; whatever removes segments (retention, truncation, a
// cleaner's swap) is also serialized by a second one, held across its file
// work so appends are not stopped by it. Read, OffsetForTimestamp and the offset getters may run
// concurrently with them; Flush may too, and does its fsync outside the
// mutex so appends continue during it (group commit: whoever calls Flush
// covers every append made before it started).
//
// Errors. A failed write, fsync, truncate or read takes the whole log
// directory offline (log_dir.h) and is returned as UNAVAILABLE; the log does
// not retry. Bad input (a corrupt batch, a follower gap) is DATA_LOSS or
// OUT_OF_RANGE and changes nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/ids.h"
#include "storage/file_cache.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/log_dir.h"
#include "storage/segment.h"

namespace samsa::storage {

struct AppendInfo {
  Offset first_offset;
  Offset last_offset;
  int64_t max_timestamp = -1;
  int32_t record_count = 0;
  size_t bytes = 0;
  // Set (to the broker's clock) when the topic uses log-append time.
  std::optional<int64_t> log_append_time;
};

struct TimestampOffset {
  Offset offset;
  int64_t timestamp;
};

class PartitionLog {
 public:
  struct Options {
    LogConfig config;
    FileCache* files = nullptr;      // must outlive the log
    LogDirHealth* health = nullptr;  // must outlive the log
    Clock* clock = nullptr;          // must outlive the log
    bool clean_shutdown = false;     // the last Close() completed
    // Called with the duration of each fsync Flush() makes (metrics).
    std::function<void(absl::Duration)> on_sync = nullptr;
  };

  // Opens (creating if absent) the log in `dir`, recovering as described
  // above.
  static absl::StatusOr<std::unique_ptr<PartitionLog>> Open(std::string dir, Options options);

  // Without Close(), destruction writes nothing: like a crash, minus the
  // power loss.
  ~PartitionLog();

  // Appends one or more producer batches back to back in `records`: each is
  // validated (framing and CRC), given the next offsets and `leader_epoch`
  // (and the log-append time, if configured) in place, then all are written
  // with one write. Nothing is written if any batch is invalid.
  absl::StatusOr<AppendInfo> AppendAsLeader(std::span<uint8_t> records, Epoch leader_epoch);

  // Appends a leader's batches as they are. Their offsets must increase
  // from log_end_offset() on (OUT_OF_RANGE otherwise); a gap is a range the
  // leader's cleaner compacted away. Their epochs feed the epoch cache.
  absl::StatusOr<AppendInfo> AppendAsFollower(std::span<const uint8_t> records);

  // Raw batches from the one holding `from`, at most `max_bytes` (the first
  // one whatever its size with FirstBatch::kAlways), none reaching `upper`
  // (exclusive). OUT_OF_RANGE when `from` is below the log start or above
  // the log end.
  absl::StatusOr<ReadSlice> Read(Offset from, size_t max_bytes, Offset upper,
                                 FirstBatch first) const;

  // The first record whose timestamp is >= `ts` (Kafka's ListOffsets by
  // timestamp), or nullopt when every record is older.
  absl::StatusOr<std::optional<TimestampOffset>> OffsetForTimestamp(int64_t ts) const;

  // Removes every batch with an offset >= `end` (follower divergence).
  // A batch that straddles `end` goes as a whole, so the log end may land
  // below `end`. With `end` at or below the log start, the log is emptied
  // and restarts at `end`.
  absl::Status TruncateTo(Offset end);
  // Empties the log and restarts it at `start` (a follower that fell below
  // the leader's log start).
  absl::Status TruncateFullyAndStartAt(Offset start);

  // Fsyncs everything appended before the call; advances flushed_offset().
  absl::Status Flush();
  // Drops the synced bytes of the active segment and the one before it
  // from the OS page cache (File::DropCache): for a follower catching up,
  // writing data nobody reads soon. Failing changes nothing but the cache.
  absl::Status DropCache();

  // Deletes whole sealed segments that hold only offsets below `offset`
  // (the Raft log after a snapshot); returns how many.
  absl::StatusOr<int> DeleteSegmentsBelow(Offset offset);

  // Deletes whole sealed segments past retention.ms or beyond
  // retention.bytes, oldest first, never the active one; returns how many.
  absl::StatusOr<int> ApplyRetention(absl::Time now);

  // The log cleaner's side (log_cleaner.h).
  struct CleanerView {
    std::vector<std::shared_ptr<Segment>> sealed;  // every segment but the active one
    Offset active_base;                            // where the active segment starts
    Offset compaction_limit;                       // see SetCompactionLimit
    Offset clean_offset;                           // see cleaner_files.h
    LogConfig config;
  };
  absl::StatusOr<CleanerView> ViewForCleaning() const;
  // An empty segment under ".cleaned" names at `base`, to be filled and
  // sealed by the cleaner and handed to ReplaceSegments.
  absl::StatusOr<std::unique_ptr<Segment>> CreateCleanedSegment(Offset base);
  // Puts `cleaned` in place of `old`, consecutive sealed segments of this
  // log the first of which has cleaned's base offset, by the crash-safe swap
  // of cleaner_files.h. ABORTED (the cleaned files removed, nothing else
  // changed) when `old` is no longer in the log: retention or a truncation
  // got there first.
  absl::Status ReplaceSegments(std::span<const std::shared_ptr<Segment>> old,
                               std::unique_ptr<Segment> cleaned);
  // Takes the log's directory offline for an I/O error (the cleaner's own
  // writes to the directory count as the log's); returns the error.
  absl::Status IoFailure(const absl::Status& st) const;
  // The cleaner never cleans at or past `limit`. The broker keeps it at the
  // high watermark: a record above it may still be truncated away, so it
  // must not cause an older record of its key to be removed. Starts at 0
  // (nothing cleanable) until the owner says otherwise.
  void SetCompactionLimit(Offset limit) {
    compaction_limit_.store(limit.value(), std::memory_order_release);
  }
  // Records (durably) that the log is clean below `offset`.
  absl::Status SetCleanOffset(Offset offset);
  Offset clean_offset() const;

  // Seals the active segment: after this, reopening with clean_shutdown
  // needs no scan. The log is unusable afterwards.
  absl::Status Close();
  // Makes the log unusable without touching its files (they are being
  // deleted): every later call fails with FAILED_PRECONDITION.
  void Abandon();

  Offset log_start_offset() const;
  Offset log_end_offset() const;
  Offset flushed_offset() const;
  uint64_t size_bytes() const;
  size_t segment_count() const;
  // The base offset of the segment appends go to; it changes on each roll.
  Offset active_segment_base() const;
  std::optional<Epoch> latest_epoch() const;
  // OffsetForLeaderEpoch (KIP-101): see LeaderEpochCache::EndOffsetFor.
  std::pair<Epoch, Offset> EndOffsetForEpoch(Epoch epoch) const;
  std::vector<EpochEntry> epoch_entries() const;
  const RecoveryStats& recovery_stats() const { return recovery_; }
  const std::string& dir() const { return dir_; }
  // The Env holding the log's files (others may keep files in dir()).
  Env* env() const { return options_.files->env(); }
  LogConfig config() const;
  // Topic-level overrides arrive after the log opened (with the broker
  // defaults); new settings apply to later appends, rolls and retention.
  void SetConfig(const LogConfig& config);

 private:
  PartitionLog(std::string dir, Options options, LeaderEpochCache epochs);

  absl::Status LoadSegments() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finishes a committed cleaner swap, see cleaner_files.h.
  absl::Status RecoverSwap();
  // Seals the active segment and starts a new one at `base` when the next
  // append of `bytes` would overflow it or it is too old.
  absl::Status MaybeRoll(size_t bytes, Offset last_offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteLocked(std::span<const uint8_t> records, std::span<const BatchHeader> headers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Renames, dir-syncs and then unlinks `doomed`, already removed from
  // segments_.
  absl::Status DeleteSegments(const std::vector<std::shared_ptr<Segment>>& doomed);
  absl::Status TruncateFullyLocked(Offset start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One attempt of Read / OffsetForTimestamp: nullopt (ABORTED for the
  // latter) when a segment it read was retired meanwhile.
  absl::StatusOr<std::optional<ReadSlice>> ReadOnce(Offset from, size_t max_bytes, Offset upper,
                                                    FirstBatch first) const;
  absl::StatusOr<std::optional<TimestampOffset>> OffsetForTimestampOnce(int64_t ts) const;
  absl::Status CheckUsable() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // A read of `seg` failed: OUT_OF_RANGE if the segment was deleted
  // meanwhile, else an I/O failure.
  absl::Status ReadFailure(const Segment& seg, Offset offset, const absl::Status& st) const;

  const std::string dir_;
  const Options options_;  // config is the initial one; see config_
  RecoveryStats recovery_;

  // Held (before mu_) by whatever removes segments; see Threads above.
  absl::Mutex removal_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);  // by base offset
  Offset clean_offset_ ABSL_GUARDED_BY(mu_);
  LeaderEpochCache epochs_ ABSL_GUARDED_BY(mu_);
  Offset flushed_ ABSL_GUARDED_BY(mu_);
  absl::Time active_created_ ABSL_GUARDED_BY(mu_);
  LogConfig config_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> compaction_limit_{0};
  std::atomic<bool> abandoned_{false};  // read by IoFailure, which may hold mu_
};

}  // namespace samsa::storage
