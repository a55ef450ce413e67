#include "storage/batch_builder.h"

#include <algorithm>

#include "common/endian.h"
#include "common/varint.h"
#include "storage/compression.h"

namespace samsa::storage {
namespace {

void PutVarint(std::string* out, int64_t v) {
  uint8_t buf[varint::kMax64Bytes];
  out->append(reinterpret_cast<const char*>(buf), varint::EncodeSigned64(v, buf));
}

size_t BytesFieldSize(std::optional<std::string_view> v) {
  return v.has_value() ? varint::SignedSize32(static_cast<int32_t>(v->size())) + v->size()
                       : varint::SignedSize32(-1);
}

void PutBytesField(std::string* out, std::optional<std::string_view> v) {
  if (!v.has_value()) {
    PutVarint(out, -1);
    return;
  }
  PutVarint(out, static_cast<int64_t>(v->size()));
  out->append(v->data(), v->size());
}

}  // namespace

BatchBuilder::BatchBuilder(BatchOptions options) : options_(options) {
  buffer_.reserve(std::max(options_.expected_bytes, kBatchHeaderSize));
  buffer_.resize(kBatchHeaderSize);
}

void BatchBuilder::Append(int64_t timestamp_ms, std::optional<std::string_view> key,
                          std::optional<std::string_view> value,
                          std::span<const RecordHeaderView> headers) {
  if (record_count_ == 0) {
    base_timestamp_ = timestamp_ms;
    max_timestamp_ = timestamp_ms;
  }
  max_timestamp_ = std::max(max_timestamp_, timestamp_ms);
  const int64_t ts_delta = timestamp_ms - base_timestamp_;
  const int32_t offset_delta = record_count_;

  size_t body = 1 + varint::SignedSize64(ts_delta) + varint::SignedSize32(offset_delta) +
                BytesFieldSize(key) + BytesFieldSize(value) +
                varint::SignedSize32(static_cast<int32_t>(headers.size()));
  for (const RecordHeaderView& h : headers) body += BytesFieldSize(h.key) + BytesFieldSize(h.value);

  buffer_.reserve(buffer_.size() + body + varint::kMax32Bytes);
  PutVarint(&buffer_, static_cast<int64_t>(body));
  buffer_.push_back('\0');  // record attributes
  PutVarint(&buffer_, ts_delta);
  PutVarint(&buffer_, offset_delta);
  PutBytesField(&buffer_, key);
  PutBytesField(&buffer_, value);
  PutVarint(&buffer_, static_cast<int64_t>(headers.size()));
  for (const RecordHeaderView& h : headers) {
    PutBytesField(&buffer_, h.key);
    PutBytesField(&buffer_, h.value);
  }
  ++record_count_;
}

absl::StatusOr<std::string> BatchBuilder::Build() {
  if (record_count_ == 0) return absl::FailedPreconditionError("a record batch needs records");
  std::string batch;
  if (options_.compression == Compression::kNone) {
    batch = std::move(buffer_);  // the records follow the header's room
  } else {
    batch.assign(kBatchHeaderSize, '\0');
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data()) + kBatchHeaderSize;
    if (absl::Status st =
            CodecFor(options_.compression).Compress({p, buffer_.size() - kBatchHeaderSize}, &batch);
        !st.ok()) {
      return st;
    }
  }
  uint16_t attributes = static_cast<uint16_t>(options_.compression);
  if (options_.timestamp_type == TimestampType::kLogAppendTime) attributes |= kTimestampTypeBit;
  if (options_.transactional) attributes |= kTransactionalBit;
  if (options_.control) attributes |= kControlBit;

  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  StoreBE<int64_t>(p + kBaseOffsetPos, 0);
  StoreBE<int32_t>(p + kBatchLengthPos, static_cast<int32_t>(batch.size() - kLogOverhead));
  StoreBE<int32_t>(p + kLeaderEpochPos, kNoEpoch.value());
  p[kMagicPos] = kMagicV2;
  StoreBE<uint16_t>(p + kAttributesPos, attributes);
  StoreBE<int32_t>(p + kLastOffsetDeltaPos, record_count_ - 1);
  StoreBE<int64_t>(p + kBaseTimestampPos, base_timestamp_);
  StoreBE<int64_t>(p + kMaxTimestampPos, max_timestamp_);
  StoreBE<int64_t>(p + kProducerIdPos, options_.producer_id);
  StoreBE<int16_t>(p + kProducerEpochPos, options_.producer_epoch);
  StoreBE<int32_t>(p + kBaseSequencePos, options_.base_sequence);
  StoreBE<int32_t>(p + kRecordCountPos, record_count_);
  UpdateBatchCrc({p, batch.size()});

  buffer_.assign(kBatchHeaderSize, '\0');
  record_count_ = 0;
  return batch;
}

}  // namespace samsa::storage
