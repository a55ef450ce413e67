// Segment: one file of a partition log and its two indexes. This comment is
// the format's specification (copied to docs/formats.md).
//
// Files, in the partition directory `<data.dir>/<topic>-<partition>/`:
//   <base>.log        RecordBatch v2 batches (record_batch.h) back to back,
//                     nothing else: no file header, no padding
//   <base>.index      offset index (segment_index.h)
//   <base>.timeindex  time index (segment_index.h)
// where <base> is the first offset the segment may hold, as 20 decimal
// digits with leading zeros, so names sort in offset order.
// A segment being deleted has ".deleted" appended to each name; one the log
// cleaner is writing has ".cleaned" appended (see partition_log.h for the
// swap that puts it in place of the segments it replaces).
//
// Batches in a segment have strictly increasing, non-overlapping offsets.
// Only the newest segment of a partition (the active one) is appended to;
// the others are sealed: written out and fsynced, with their indexes, before
// the next one was created.
//
// What a crash can leave, and what Open(recover=true) does about it: the
// active segment may end in a torn or partly written batch, or in bytes that
// never were a batch (a crash between extending the file and writing it). The
// scan validates every batch (framing and CRC, offsets increasing) from the
// start and truncates the file at the first batch that fails, logging the
// offset and the number of bytes dropped. Nothing after a bad batch is
// trusted, even if it looks valid.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "storage/buffer.h"
#include "storage/file_cache.h"
#include "storage/record_batch.h"
#include "storage/segment_index.h"

namespace samsa::storage {

// File names: an offset in 20 digits and a suffix (".log", ".index", ...;
// the broker keeps ".snapshot" files next to them).
std::string SegmentFileName(Offset base, std::string_view suffix);
// Parses "<20 digits><suffix>" -> the offset; nullopt for other names.
std::optional<Offset> ParseSegmentFileName(std::string_view name, std::string_view suffix = ".log");

// Whether a read returns its first batch when that batch alone is over the
// read's byte limit: a consumer or follower must always make progress
// (Kafka's fetch), an internal scan may prefer to stop.
enum class FirstBatch { kAlways, kIfItFits };

// How much of a segment's own bookkeeping opening it trusts: a sealed
// segment's index files (rebuilt from batch headers if they are missing or
// invalid), or nothing: the tail a crash may have torn, every batch's CRC
// checked and the file cut at the first bad one.
enum class Trust { kIndex, kNothing };

// Batches read from a segment: raw bytes of whole batches.
struct ReadSlice {
  Buffer bytes;
  Offset first_offset;  // base offset of the first batch returned
  Offset next_offset;   // one past the last offset returned
};

struct RecoveryStats {
  int64_t batches_scanned = 0;
  int64_t bytes_truncated = 0;
  bool rebuilt_index = false;
};

class Segment {
 public:
  static absl::StatusOr<std::unique_ptr<Segment>> Create(FileCache* files, const std::string& dir,
                                                         Offset base, int64_t index_interval);
  // A segment under its ".cleaned" names, for the log cleaner to fill with
  // Append and Seal; FinishCleaned() gives it its real names. Any earlier
  // ".cleaned" files of `base` are replaced.
  static absl::StatusOr<std::unique_ptr<Segment>> CreateCleaned(FileCache* files,
                                                                const std::string& dir, Offset base,
                                                                int64_t index_interval);
  // Opens an existing segment. Trusting nothing, scans every batch (see the
  // header comment) and rebuilds the indexes; trusting the index, loads the
  // index files and falls back to a header scan when they are missing or
  // invalid.
  static absl::StatusOr<std::unique_ptr<Segment>> Open(FileCache* files, const std::string& dir,
                                                       Offset base, int64_t index_interval,
                                                       Trust trust, RecoveryStats* stats);

  Offset base_offset() const { return base_; }
  // One past the last offset held; base_offset() when empty.
  Offset next_offset() const { return Offset(next_offset_.load(std::memory_order_acquire)); }
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  bool empty() const { return size() == 0; }
  int64_t max_timestamp() const;

  // Appends `batches`, already validated and stamped, whose headers are
  // `headers` in order; the first must start at next_offset() or later.
  // Callers serialize Append/TruncateTo/Seal.
  absl::Status Append(std::span<const uint8_t> batches, std::span<const BatchHeader> headers);

  // Whole batches starting with the one that holds `from`, up to `max_bytes`
  // (the first one whatever its size with FirstBatch::kAlways), excluding
  // any batch that reaches `upper` or beyond. Empty bytes when there is
  // nothing to return. Safe to call concurrently with Append.
  absl::StatusOr<ReadSlice> Read(Offset from, size_t max_bytes, Offset upper,
                                 FirstBatch first) const;

  // Calls `fn` with the header of every batch, in order (one small read
  // each).
  absl::Status ForEachBatchHeader(absl::FunctionRef<void(const BatchHeader&)> fn) const;

  // Base offset of the first batch whose max timestamp is >= `ts`, if any.
  absl::StatusOr<std::optional<BatchHeader>> FindBatchByTimestamp(int64_t ts) const;

  // Removes every batch whose last offset is >= `offset` and rebuilds the
  // indexes.
  absl::Status TruncateTo(Offset offset);

  // Makes the log bytes durable.
  absl::Status Sync();
  // Drops the log file's synced bytes from the OS page cache (File::DropCache).
  absl::Status DropCache();
  // Writes and syncs the index files and syncs the log: after this the
  // segment needs no recovery scan.
  absl::Status Seal();

  // Renames every file of the segment to "<name>.deleted" (step one of a
  // crash-safe delete), then DeleteRenamed() unlinks them.
  absl::Status RenameForDeletion();
  absl::Status DeleteRenamed();

  // Renames the ".cleaned" files of a CreateCleaned() segment to their real
  // names, the log first (the order recovery relies on, partition_log.h).
  // Not thread-safe: call before the segment is shared with readers.
  absl::Status FinishCleaned();
  // Unlinks every ".cleaned" file of the segment (an abandoned clean).
  absl::Status DeleteCleaned();

  // A segment replaced by its cleaned copy is retired: what a reader got
  // from it may come from the new file under the same name and must be
  // read again from the log.
  void Retire() { retired_.store(true, std::memory_order_release); }
  bool retired() const { return retired_.load(std::memory_order_acquire); }

  const std::string& log_path() const { return log_path_; }

 private:
  Segment(FileCache* files, std::string dir, Offset base, int64_t index_interval,
          std::string_view state_suffix = "");

  // Reads the fixed header of the batch at `position`.
  absl::StatusOr<BatchHeader> ReadHeaderAt(uint64_t position) const;
  // Position of the batch holding `target`, or of the first batch after it;
  // nullopt when no batch in [0, limit) reaches `target`.
  absl::StatusOr<std::optional<std::pair<uint64_t, BatchHeader>>> Locate(Offset target,
                                                                         uint64_t limit) const;
  // DATA_LOSS unless the batch at `position` lies within [position, limit):
  // a reader must never loop on a zero or negative length.
  absl::Status CheckHeaderFits(const BatchHeader& h, uint64_t position, uint64_t limit) const;
  // Scans [0, end) rebuilding the index; trusting nothing, checks each
  // batch's CRC and truncates the file at the first bad one.
  absl::Status Rescan(Trust trust, RecoveryStats* stats);
  std::string PathFor(std::string_view suffix) const;

  FileCache* const files_;
  const std::string dir_;
  const Offset base_;
  const int64_t index_interval_;
  // "" or ".cleaned"; both change only in FinishCleaned, before sharing.
  std::string state_suffix_;
  std::string log_path_;  // looked up on every append and read
  std::atomic<uint64_t> size_{0};
  std::atomic<bool> retired_{false};
  std::atomic<int64_t> next_offset_;
  mutable absl::Mutex mu_;
  SegmentIndex index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::storage
