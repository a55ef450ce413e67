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
// Not thread-safe: the partition serializes check, append and update.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "storage/record_batch.h"

namespace samsa::broker {

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

}  // namespace samsa::broker
