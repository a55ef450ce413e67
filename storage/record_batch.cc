#include "storage/record_batch.h"

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/endian.h"

namespace samsa::storage {

absl::StatusOr<BatchHeader> ParseBatchHeader(std::span<const uint8_t> b) {
  if (b.size() < kBatchHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("record batch header needs ", kBatchHeaderSize, " bytes, got ", b.size()));
  }
  const uint8_t* p = b.data();
  BatchHeader h;
  h.base_offset = Offset(LoadBE<int64_t>(p + kBaseOffsetPos));
  h.batch_length = LoadBE<int32_t>(p + kBatchLengthPos);
  h.leader_epoch = Epoch(LoadBE<int32_t>(p + kLeaderEpochPos));
  h.magic = static_cast<int8_t>(p[kMagicPos]);
  h.crc = LoadBE<uint32_t>(p + kCrcPos);
  h.attributes = LoadBE<uint16_t>(p + kAttributesPos);
  h.last_offset_delta = LoadBE<int32_t>(p + kLastOffsetDeltaPos);
  h.base_timestamp = LoadBE<int64_t>(p + kBaseTimestampPos);
  h.max_timestamp = LoadBE<int64_t>(p + kMaxTimestampPos);
  h.producer_id = LoadBE<int64_t>(p + kProducerIdPos);
  h.producer_epoch = LoadBE<int16_t>(p + kProducerEpochPos);
  h.base_sequence = LoadBE<int32_t>(p + kBaseSequencePos);
  h.record_count = LoadBE<int32_t>(p + kRecordCountPos);
  return h;
}

absl::StatusOr<BatchHeader> ValidateBatch(std::span<const uint8_t> b) {
  auto corrupt = [](auto&&... parts) {
    return absl::DataLossError(absl::StrCat("corrupt record batch: ", parts...));
  };
  if (b.size() < kBatchHeaderSize) {
    return corrupt("needs at least ", kBatchHeaderSize, " bytes, got ", b.size());
  }
  auto parsed = ParseBatchHeader(b);
  if (!parsed.ok()) return parsed.status();
  const BatchHeader& h = *parsed;
  if (h.magic != kMagicV2) return corrupt("magic is ", int{h.magic}, ", expected 2");
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead)) {
    return corrupt("batchLength ", h.batch_length, " is smaller than the header");
  }
  if (h.size() > b.size()) {
    return corrupt("batchLength ", h.batch_length, " runs past the ", b.size(), " bytes available");
  }
  if ((h.attributes & ~kKnownAttributeBits) != 0) {
    return corrupt("unknown attribute bits 0x", absl::Hex(h.attributes));
  }
  if (static_cast<uint8_t>(h.compression()) > static_cast<uint8_t>(Compression::kZstd)) {
    return corrupt("unknown compression codec ", h.attributes & kCompressionMask);
  }
  if (h.record_count < 0) return corrupt("recordCount ", h.record_count, " is negative");
  if (h.last_offset_delta < 0 || int64_t{h.record_count} > int64_t{h.last_offset_delta} + 1) {
    return corrupt("lastOffsetDelta ", h.last_offset_delta, " disagrees with recordCount ",
                   h.record_count);
  }
  const size_t record_bytes = h.size() - kBatchHeaderSize;
  if (h.compression() == Compression::kNone &&
      record_bytes / kMinRecordSize < static_cast<size_t>(h.record_count)) {
    return corrupt(record_bytes, " record bytes cannot hold ", h.record_count, " records");
  }
  const uint32_t crc = crc32c::Value(b.data() + kAttributesPos, h.size() - kAttributesPos);
  if (crc != h.crc) {
    return corrupt("CRC mismatch (stored 0x", absl::Hex(h.crc), ", computed 0x", absl::Hex(crc),
                   ")");
  }
  return h;
}

absl::Status CheckProducerBatchShape(const BatchHeader& h) {
  if (h.record_count <= 0 || h.last_offset_delta != h.record_count - 1) {
    return absl::DataLossError(
        absl::StrCat("corrupt record batch: a producer batch needs "
                     "recordCount >= 1 and lastOffsetDelta = recordCount - "
                     "1, got ",
                     h.record_count, " and ", h.last_offset_delta));
  }
  return absl::OkStatus();
}

void UpdateBatchCrc(std::span<uint8_t> batch) {
  StoreBE<uint32_t>(batch.data() + kCrcPos,
                    crc32c::Value(batch.data() + kAttributesPos, batch.size() - kAttributesPos));
}

void StampBatch(std::span<uint8_t> batch, Offset base_offset, Epoch leader_epoch) {
  StoreBE<int64_t>(batch.data() + kBaseOffsetPos, base_offset.value());
  StoreBE<int32_t>(batch.data() + kLeaderEpochPos, leader_epoch.value());
}

}  // namespace samsa::storage
