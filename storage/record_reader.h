// Record decoding: walks the records of one RecordBatch v2 (record_batch.h),
// decompressing when needed, and checks everything a batch from the outside
// can get wrong. The append path does not need this (ValidateBatch checks
// framing and CRC); simple clients, tools and tests do.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "storage/batch_builder.h"
#include "storage/record_batch.h"

namespace samsa::storage {

// A decoded record. Views point into the batch or into the decoder's
// decompression buffer: valid only during the callback.
struct RecordView {
  Offset offset;
  int64_t timestamp = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::span<const RecordHeaderView> headers;
  // The record as encoded, from its length varint on (the cleaner copies
  // kept records without re-encoding them), and its timestampDelta field.
  std::span<const uint8_t> encoded;
  int64_t timestamp_delta = 0;
};

// Upper bound on one batch's decompressed records, against zip bombs.
inline constexpr size_t kDefaultMaxDecompressedBytes = 64 << 20;

// Validates the batch at the start of `batch` (ValidateBatch), then decodes
// each record in order and calls `fn`; stops at the first non-OK status from
// `fn` and returns it. DATA_LOSS when a record is malformed: a length that
// runs past its batch, offsetDeltas that do not increase
// within [0, lastOffsetDelta], a record count
// that disagrees with the header, bytes left over, or a decompressed size
// above `max_decompressed_bytes`. For log-append-time batches each record's
// timestamp is the batch's maxTimestamp, as in Kafka.
absl::Status ForEachRecord(std::span<const uint8_t> batch,
                           absl::FunctionRef<absl::Status(const RecordView&)> fn,
                           size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes);

}  // namespace samsa::storage
