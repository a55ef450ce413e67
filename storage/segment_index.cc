#include "storage/segment_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/endian.h"

namespace samsa::storage {

void SegmentIndex::OnBatchAppended(Offset batch_base, uint32_t position, uint32_t batch_size,
                                   int64_t batch_max_timestamp, int64_t interval_bytes) {
  if (batch_max_timestamp > max_timestamp_) {
    max_timestamp_ = batch_max_timestamp;
    max_timestamp_offset_ = batch_base;
  }
  if (offsets_.empty() || bytes_since_entry_ >= interval_bytes) {
    offsets_.push_back({batch_base, position});
    if (times_.empty() || max_timestamp_ > times_.back().timestamp) {
      times_.push_back({max_timestamp_, max_timestamp_offset_});
    }
    bytes_since_entry_ = 0;
  }
  bytes_since_entry_ += batch_size;
}

uint32_t SegmentIndex::LookupPosition(Offset target) const {
  auto it = std::upper_bound(offsets_.begin(), offsets_.end(), target,
                             [](Offset t, const OffsetIndexEntry& e) { return t < e.offset; });
  return it == offsets_.begin() ? 0 : std::prev(it)->position;
}

Offset SegmentIndex::LookupTimestamp(int64_t ts) const {
  auto it = std::lower_bound(times_.begin(), times_.end(), ts,
                             [](const TimeIndexEntry& e, int64_t t) { return e.timestamp < t; });
  return it == times_.begin() ? base_ : std::prev(it)->offset;
}

void SegmentIndex::Seal() {
  if (max_timestamp_ >= 0 && (times_.empty() || max_timestamp_ > times_.back().timestamp)) {
    times_.push_back({max_timestamp_, max_timestamp_offset_});
  }
}

std::string SegmentIndex::EncodeOffsetIndex() const {
  std::string out(offsets_.size() * kOffsetIndexEntrySize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  for (const OffsetIndexEntry& e : offsets_) {
    StoreBE<int32_t>(p, static_cast<int32_t>(e.offset - base_));
    StoreBE<uint32_t>(p + 4, e.position);
    p += kOffsetIndexEntrySize;
  }
  return out;
}

std::string SegmentIndex::EncodeTimeIndex() const {
  std::string out(times_.size() * kTimeIndexEntrySize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  for (const TimeIndexEntry& e : times_) {
    StoreBE<int64_t>(p, e.timestamp);
    StoreBE<int32_t>(p + 8, static_cast<int32_t>(e.offset - base_));
    p += kTimeIndexEntrySize;
  }
  return out;
}

absl::StatusOr<SegmentIndex> SegmentIndex::Decode(Offset base_offset, std::string_view offset_file,
                                                  std::string_view time_file, uint64_t log_size) {
  auto bad = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("index of segment ", base_offset.value(), ": ",
                                            absl::string_view(why.data(), why.size())));
  };
  if (offset_file.size() % kOffsetIndexEntrySize != 0) return bad("offset index size");
  if (time_file.size() % kTimeIndexEntrySize != 0) return bad("time index size");
  if (log_size > 0 && offset_file.empty()) return bad("offset index empty for a non-empty log");
  SegmentIndex index(base_offset);
  const auto* p = reinterpret_cast<const uint8_t*>(offset_file.data());
  for (size_t i = 0; i < offset_file.size(); i += kOffsetIndexEntrySize) {
    const int32_t rel = LoadBE<int32_t>(p + i);
    const uint32_t pos = LoadBE<uint32_t>(p + i + 4);
    if (rel < 0 || pos >= log_size) return bad("offset entry out of range");
    if (!index.offsets_.empty() && (Offset(base_offset + rel) <= index.offsets_.back().offset ||
                                    pos <= index.offsets_.back().position)) {
      return bad("offset entries not increasing");
    }
    if (index.offsets_.empty() && pos != 0) return bad("first offset entry not at position 0");
    index.offsets_.push_back({base_offset + rel, pos});
  }
  p = reinterpret_cast<const uint8_t*>(time_file.data());
  for (size_t i = 0; i < time_file.size(); i += kTimeIndexEntrySize) {
    const int64_t ts = LoadBE<int64_t>(p + i);
    const int32_t rel = LoadBE<int32_t>(p + i + 8);
    if (rel < 0) return bad("time entry out of range");
    if (!index.times_.empty() && ts <= index.times_.back().timestamp) {
      return bad("time entries not increasing");
    }
    index.times_.push_back({ts, base_offset + rel});
  }
  if (!index.times_.empty()) {
    index.max_timestamp_ = index.times_.back().timestamp;
    index.max_timestamp_offset_ = index.times_.back().offset;
  }
  return index;
}

}  // namespace samsa::storage
