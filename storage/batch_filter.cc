#include "storage/batch_filter.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "common/endian.h"
#include "common/status.h"
#include "common/varint.h"
#include "storage/compression.h"

namespace samsa::storage {
namespace {

void AppendVarint(std::string* out, int64_t v) {
  uint8_t buf[varint::kMax64Bytes];
  out->append(reinterpret_cast<const char*>(buf), varint::EncodeSigned64(v, buf));
}

// Appends `r` with its timestampDelta taken relative to `base_timestamp`:
// length, attributes, the new delta, then the rest unchanged.
void AppendRebased(const RecordView& r, int64_t base_timestamp, std::string* out) {
  int32_t length = 0;
  const varint::DecodeResult len = varint::DecodeSigned32(r.encoded, &length);
  std::span<const uint8_t> body = r.encoded.subspan(len.length);  // attributes onwards
  const size_t old_delta_size = varint::SignedSize64(r.timestamp_delta);
  const std::span<const uint8_t> rest = body.subspan(1 + old_delta_size);
  const int64_t delta = r.timestamp - base_timestamp;
  AppendVarint(out, static_cast<int64_t>(1 + varint::SignedSize64(delta) + rest.size()));
  out->push_back(static_cast<char>(body[0]));
  AppendVarint(out, delta);
  out->append(reinterpret_cast<const char*>(rest.data()), rest.size());
}

}  // namespace

std::optional<int64_t> DeleteHorizon(const BatchHeader& h) {
  if (!(h.attributes & kDeleteHorizonBit)) return std::nullopt;
  return h.base_timestamp;
}

absl::StatusOr<FilteredBatch> FilterBatch(std::span<const uint8_t> batch,
                                          absl::FunctionRef<bool(const RecordView&)> keep,
                                          const FilterOptions& options) {
  ASSIGN_OR_RETURN(const BatchHeader h, ValidateBatch(batch));
  FilteredBatch result;
  struct Kept {
    int64_t timestamp;
    int64_t timestamp_delta;
    bool tombstone;
  };
  std::vector<Kept> kept;
  // Decompressed records live in ForEachRecord's buffer only during the
  // walk, so kept records are copied out as they pass.
  std::string kept_bytes;
  RETURN_IF_ERROR(ForEachRecord(batch, [&](const RecordView& r) {
    if (!keep(r)) {
      ++result.records_removed;
      return absl::OkStatus();
    }
    kept.push_back({r.timestamp, r.timestamp_delta, !r.value.has_value()});
    kept_bytes.append(reinterpret_cast<const char*>(r.encoded.data()), r.encoded.size());
    return absl::OkStatus();
  }));
  const bool stamp_horizon =
      !(h.attributes & kDeleteHorizonBit) &&
      std::any_of(kept.begin(), kept.end(), [](const Kept& k) { return k.tombstone; });
  if (result.records_removed == 0 && !stamp_horizon) return result;
  if (kept.empty() && !options.keep_if_empty) {
    result.outcome = FilteredBatch::Outcome::kRemoved;
    return result;
  }

  uint16_t attributes = h.attributes;
  int64_t base_timestamp = h.base_timestamp;
  if (stamp_horizon) {
    attributes |= kDeleteHorizonBit;
    base_timestamp = options.new_delete_horizon_ms;
  }
  std::string records;
  if (stamp_horizon) {
    // Re-encode each kept record's timestampDelta against the new base.
    size_t pos = 0;
    for (Kept& k : kept) {
      int32_t length = 0;
      const auto* at = reinterpret_cast<const uint8_t*>(kept_bytes.data()) + pos;
      const varint::DecodeResult len =
          varint::DecodeSigned32({at, kept_bytes.size() - pos}, &length);
      const size_t size = len.length + static_cast<size_t>(length);
      RecordView r;
      r.encoded = {at, size};
      r.timestamp = k.timestamp;
      r.timestamp_delta = k.timestamp_delta;
      AppendRebased(r, base_timestamp, &records);
      pos += size;
    }
  } else {
    records = std::move(kept_bytes);
  }
  int64_t max_timestamp = h.max_timestamp;
  if (h.timestamp_type() == TimestampType::kCreateTime && !kept.empty()) {
    max_timestamp = std::numeric_limits<int64_t>::min();
    for (const Kept& k : kept) max_timestamp = std::max(max_timestamp, k.timestamp);
  }
  if (kept.empty()) {
    attributes &= static_cast<uint16_t>(~kCompressionMask);  // an empty batch has no body
  } else if (h.compression() != Compression::kNone) {
    std::string compressed;
    RETURN_IF_ERROR(
        CodecFor(h.compression())
            .Compress({reinterpret_cast<const uint8_t*>(records.data()), records.size()},
                      &compressed));
    records = std::move(compressed);
  }

  std::string& out = result.bytes;
  out.assign(reinterpret_cast<const char*>(batch.data()), kBatchHeaderSize);
  out += records;
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  StoreBE<int32_t>(p + kBatchLengthPos, static_cast<int32_t>(out.size() - kLogOverhead));
  StoreBE<uint16_t>(p + kAttributesPos, attributes);
  StoreBE<int64_t>(p + kBaseTimestampPos, base_timestamp);
  StoreBE<int64_t>(p + kMaxTimestampPos, max_timestamp);
  StoreBE<int32_t>(p + kRecordCountPos, static_cast<int32_t>(kept.size()));
  UpdateBatchCrc({p, out.size()});
  result.outcome = FilteredBatch::Outcome::kRewritten;
  return result;
}

}  // namespace samsa::storage
