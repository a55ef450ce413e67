// FilterBatch: rewrites one log batch keeping only the records a predicate
// accepts, as the log cleaner does (log_compactor.h).
//
// What a rewritten batch keeps: baseOffset, lastOffsetDelta (so the batch
// spans the same offsets and every kept record keeps its offset),
// partitionLeaderEpoch, the producer id, epoch and baseSequence (so an
// idempotent producer's state can be rebuilt from the log), the compression
// codec (records are decompressed, filtered and compressed again with it)
// and the timestamp type. recordCount, batchLength and the CRC are
// recomputed; maxTimestamp too for create-time batches.
//
// Delete horizon (KIP-534): the first time a batch holding a kept tombstone
// (a null value) is cleaned, the cleaner stamps it with the time after which
// its tombstones may go: attribute bit 6 is set and baseTimestamp becomes
// that time, each record's timestampDelta rewritten so its own timestamp is
// unchanged. A later clean drops the batch's tombstones once the horizon has
// passed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "storage/record_batch.h"
#include "storage/record_reader.h"

namespace samsa::storage {

struct FilterOptions {
  // Stamped on a batch without a delete horizon that keeps a tombstone.
  int64_t new_delete_horizon_ms = 0;
  // A batch left without records is kept as an empty batch (header only,
  // its offset span and producer fields intact: KIP-98) instead of removed.
  bool keep_if_empty = false;
};

struct FilteredBatch {
  enum class Outcome { kUnchanged, kRewritten, kRemoved };
  Outcome outcome = Outcome::kUnchanged;
  std::string bytes;  // the new batch, for kRewritten
  int32_t records_removed = 0;
};

// The batch's delete horizon, if the cleaner has stamped one.
std::optional<int64_t> DeleteHorizon(const BatchHeader& h);

// Filters the whole, valid batch `batch`: `keep` is asked about each record.
// DATA_LOSS for a batch whose records do not decode.
absl::StatusOr<FilteredBatch> FilterBatch(std::span<const uint8_t> batch,
                                          absl::FunctionRef<bool(const RecordView&)> keep,
                                          const FilterOptions& options);

}  // namespace samsa::storage
