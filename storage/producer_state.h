// ProducerState: a partition's idempotent-producer bookkeeping (Kafka's
// ProducerStateManager, KIP-98): for each producer id, its epoch and its
// last five batches' sequence ranges and offsets.
//
// Rules for a batch from producer id P, epoch E, sequences [first, last]
// (batches without a producer id are not checked):
//   * E older than P's epoch: INVALID_PRODUCER_EPOCH (a fenced producer);
//   * a batch equal to one of P's last five: a duplicate (a retry); its
//     original offsets are answered and nothing is written;
//   * E newer than P's epoch, or P unknown here: `first` must be 0;
//   * otherwise `first` must follow P's last sequence (wrapping past
//     INT32_MAX to 0): else OUT_OF_ORDER_SEQUENCE.
// The state is built from the log itself (every batch carries its producer
// fields), so a restarted broker or a new leader rebuilds it by replaying the
// log; followers update it from the batches they copy.
//
// Snapshots bound that replay (Kafka's producer snapshots). This comment is
// their format's specification (copied to docs/formats.md). A snapshot is
// the state covering every batch below offset O, in the partition directory
// as `<O, 20 digits>.snapshot`, written atomically (Env::WriteFileAtomically)
// when the log has rolled a segment since the last one (checked about once a
// second) and at clean shutdown; the newest two are kept. Binary, big-endian:
//   version      int16   1
//   crc          uint32  CRC-32C of every byte after this field
//   offset       int64   O (must match the file name)
//   count        int32   number of producers, then for each, by id:
//     producer_id  int64
//     epoch        int16
//     batches      int16   at most 5, oldest first, each:
//       first_seq, last_seq        int32
//       first_offset, last_offset  int64
// Loading (a partition's first open on this broker, and after a follower
// truncation) takes the newest snapshot whose O is at most the log end, then
// replays the batches from O (or the log start, if later). A snapshot past
// the log end (its batches lost with a crashed tail, or truncated away) is
// deleted, as is one that does not decode (then an older one, or the whole
// log, is used). A truncation deletes the snapshots above its point before
// cutting the log, so none survives describing batches the log lost.
//
// Not thread-safe: the partition serializes check, append and update.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "storage/record_batch.h"

namespace samsa::storage {

class ProducerState {
 public:
  static constexpr size_t kBatchesKept = 5;

  struct Verdict {
    enum class Kind { kAppend, kDuplicate, kOutOfOrder, kFencedEpoch };
    Kind kind = Kind::kAppend;
    Offset duplicate_first;  // kDuplicate: the original batch's offsets
    Offset duplicate_last;
    std::string message;
  };

  // What to do with a batch whose header is `h` (its offsets not yet set).
  Verdict Check(const storage::BatchHeader& h) const;
  // Records a batch the log now holds at its offsets (leader or follower).
  void Update(const storage::BatchHeader& h);
  // Records every batch of `records` (back-to-back batches as in the log).
  absl::Status UpdateAll(std::span<const uint8_t> records);
  void Clear() { producers_.clear(); }
  size_t producer_count() const { return producers_.size(); }

  // A snapshot file's contents for this state, which covers the log below
  // `offset`. Deterministic: producers in id order.
  std::string Encode(Offset offset) const;
  struct Snapshot;
  // Parses what Encode wrote; DATA_LOSS naming what is wrong otherwise.
  static absl::StatusOr<Snapshot> Decode(std::string_view bytes);

 private:
  struct Batch {
    int32_t first_seq;
    int32_t last_seq;
    Offset first_offset;
    Offset last_offset;
  };
  struct Producer {
    int16_t epoch = 0;
    std::deque<Batch> batches;  // oldest first, at most kBatchesKept
  };
  absl::flat_hash_map<int64_t, Producer> producers_;
};

struct ProducerState::Snapshot {
  Offset offset;  // the state covers every batch below it
  ProducerState state;
};

}  // namespace samsa::storage
