// BatchBuilder: encodes records into one RecordBatch v2 (record_batch.h),
// compressing the records section with the chosen codec.
//
//   BatchBuilder b({.compression = Compression::kLz4});
//   b.Append(ts, "key", "value");
//   absl::StatusOr<std::string> batch = b.Build();
//
// The batch's baseOffset is 0 and its partitionLeaderEpoch -1 (what a
// producer sends); the leader stamps both on append. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/record_batch.h"

namespace samsa::storage {

struct RecordHeaderView {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: null
};

struct BatchOptions {
  Compression compression = Compression::kNone;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  bool transactional = false;
  bool control = false;
  // Room reserved up front for the batch (header and records), so that
  // filling it to about this size never moves what it holds.
  size_t expected_bytes = 0;
};

class BatchBuilder {
 public:
  explicit BatchBuilder(BatchOptions options = {});

  // Adds one record; nullopt key or value is Kafka's null.
  void Append(int64_t timestamp_ms, std::optional<std::string_view> key,
              std::optional<std::string_view> value,
              std::span<const RecordHeaderView> headers = {});

  int record_count() const { return record_count_; }
  // Bytes the batch would take uncompressed.
  size_t uncompressed_size() const { return buffer_.size(); }

  // Encodes the batch and resets the builder for reuse (same options).
  // FAILED_PRECONDITION if no record was appended (Kafka has no empty
  // batches on the produce path).
  absl::StatusOr<std::string> Build();

 private:
  BatchOptions options_;
  std::string buffer_;  // room for the header, then the records
  int32_t record_count_ = 0;
  int64_t base_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
};

}  // namespace samsa::storage
