#include "storage/log_compactor.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "storage/batch_filter.h"
#include "storage/record_reader.h"

namespace samsa::storage {
namespace {

// How much a pass reads, and writes, per call.
constexpr size_t kChunkBytes = 1 << 20;
// A cleaned segment is synced every this many bytes as it is written: one
// fsync of a whole segment at the end floods the disk with writeback, and
// producers' fsyncs queue behind it.
constexpr uint64_t kSyncEveryBytes = 4 << 20;
// A batch header read costs the disk a page when it is not cached: header
// scans count against the I/O budget too.
constexpr uint64_t kHeaderReadCost = 4096;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Calls `fn` with each whole batch of `seg` from the one holding `from` on.
absl::Status ForEachBatch(
    const Segment& seg, Offset from, IoThrottle* throttle, uint64_t* bytes_read,
    absl::FunctionRef<absl::Status(std::span<const uint8_t>, const BatchHeader&)> fn) {
  while (from < seg.next_offset()) {
    ASSIGN_OR_RETURN(ReadSlice slice,
                     seg.Read(from, kChunkBytes, Offset::Max(), FirstBatch::kAlways));
    if (slice.bytes.empty()) break;
    *bytes_read += slice.bytes.size();
    throttle->Charge(slice.bytes.size());
    std::span<const uint8_t> rest = slice.bytes.span();
    while (!rest.empty()) {
      ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(rest));
      const std::span<const uint8_t> batch = rest.first(h.size());
      RETURN_IF_ERROR(fn(batch, h));
      rest = rest.subspan(h.size());
    }
    from = slice.next_offset;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CleanableRange> ComputeCleanable(const PartitionLog::CleanerView& view,
                                                absl::Time now) {
  CleanableRange range;
  const LogConfig& c = view.config;
  range.end = std::min(view.active_base, view.compaction_limit);
  for (const auto& seg : view.sealed) {
    // Everything from the first segment holding a record younger than the
    // lag on stays as it is.
    if (c.min_compaction_lag > absl::ZeroDuration() &&
        absl::FromUnixMillis(seg->max_timestamp()) > now - c.min_compaction_lag) {
      range.end = std::min(range.end, seg->base_offset());
      break;
    }
  }
  const Offset start = view.sealed.empty() ? view.active_base : view.sealed.front()->base_offset();
  range.dirty_start = std::clamp(view.clean_offset, start, std::max(start, range.end));
  for (const auto& seg : view.sealed) {
    if (seg->base_offset() >= range.end) break;
    if (seg->next_offset() <= range.dirty_start) {
      range.clean_bytes += seg->size();
      continue;
    }
    range.dirty_bytes += seg->size();
    if (!range.first_dirty_timestamp.has_value()) {
      ASSIGN_OR_RETURN(std::optional<BatchHeader> first,
                       seg->FindBatchByTimestamp(std::numeric_limits<int64_t>::min()));
      if (first.has_value()) range.first_dirty_timestamp = first->max_timestamp;
    }
  }
  return range;
}

absl::StatusOr<CleanStats> LogCompactor::Clean(PartitionLog& log, absl::Time now) {
  CleanStats stats;
  ASSIGN_OR_RETURN(PartitionLog::CleanerView view, log.ViewForCleaning());
  absl::StatusOr<CleanableRange> cleanable_range = ComputeCleanable(view, now);
  if (!cleanable_range.ok()) {
    const absl::Status& st = cleanable_range.status();
    return st.code() == absl::StatusCode::kDataLoss ? st : log.IoFailure(st);
  }
  const CleanableRange& range = *cleanable_range;
  stats.clean_end = range.dirty_start;
  if (range.end <= range.dirty_start) return stats;

  // A segment that retention or a truncation removed since the view is no
  // error: the pass stops and the next one starts from what is there.
  // Records that do not decode are the log's problem (DATA_LOSS: the log is
  // set aside); anything else is the disk's, and takes the directory down.
  auto failed = [&](const Segment& seg, const absl::Status& st) -> absl::StatusOr<CleanStats> {
    absl::StatusOr<PartitionLog::CleanerView> now_view = log.ViewForCleaning();
    if (now_view.ok() && std::none_of(now_view->sealed.begin(), now_view->sealed.end(),
                                      [&](const auto& s) { return s.get() == &seg; })) {
      stats.aborted = true;
      return stats;
    }
    if (st.code() == absl::StatusCode::kDataLoss || !now_view.ok()) return st;
    return log.IoFailure(st);
  };

  // 2. The latest offset of every key in the dirty range.
  KeyOffsetMap map(map_bytes_);
  Offset end = range.end;
  bool full = false;
  // One batch's keys, hashed and prefetched before they are looked up.
  std::vector<std::pair<KeyOffsetMap::Digest, Offset>> keyed;
  for (const auto& seg : view.sealed) {
    if (full || seg->base_offset() >= end) break;
    if (seg->next_offset() <= range.dirty_start) continue;
    const absl::Status st = ForEachBatch(
        *seg, std::max(seg->base_offset(), range.dirty_start), throttle_, &stats.bytes_read,
        [&](std::span<const uint8_t> batch, const BatchHeader& h) -> absl::Status {
          if (h.control()) return absl::OkStatus();
          keyed.clear();
          RETURN_IF_ERROR(ForEachRecord(batch, [&](const RecordView& r) {
            if (r.offset >= range.dirty_start && r.offset < end && r.key.has_value()) {
              keyed.emplace_back(KeyOffsetMap::DigestOf(*r.key), r.offset);
              map.Prefetch(keyed.back().first);
            }
            return absl::OkStatus();
          }));
          for (const auto& [digest, offset] : keyed) {
            if (!map.Put(digest, offset)) {
              end = offset;
              full = true;
              return absl::CancelledError("the key map is full");
            }
          }
          return absl::OkStatus();
        });
    if (full) break;
    if (!st.ok()) return failed(*seg, st);
  }

  stats.map_keys = map.size();

  // Each idempotent producer's last batch below `end`, kept even if emptied.
  std::vector<std::shared_ptr<Segment>> cleanable;
  for (const auto& seg : view.sealed) {
    if (seg->base_offset() >= end) break;
    cleanable.push_back(seg);
  }
  absl::flat_hash_map<int64_t, Offset> last_batch;
  for (const auto& seg : cleanable) {
    const absl::Status st = seg->ForEachBatchHeader([&](const BatchHeader& h) {
      throttle_->Charge(kHeaderReadCost);
      if (h.producer_id != kNoProducerId && h.base_offset < end) {
        last_batch[h.producer_id] = h.base_offset;
      }
    });
    if (!st.ok()) return failed(*seg, st);
  }

  // 3. Rewrite group by group.
  const int64_t now_ms = absl::ToUnixMillis(now);
  const int64_t new_horizon = absl::ToUnixMillis(now + view.config.delete_retention);
  const uint64_t max_group_bytes = static_cast<uint64_t>(view.config.segment_bytes);
  size_t i = 0;
  while (i < cleanable.size()) {
    size_t j = i + 1;
    uint64_t group_bytes = cleanable[i]->size();
    while (j < cleanable.size() && group_bytes + cleanable[j]->size() <= max_group_bytes &&
           cleanable[j]->next_offset() - cleanable[i]->base_offset() <=
               std::numeric_limits<int32_t>::max()) {
      group_bytes += cleanable[j]->size();
      ++j;
    }
    const std::span<const std::shared_ptr<Segment>> group(cleanable.data() + i, j - i);
    i = j;

    ASSIGN_OR_RETURN(std::unique_ptr<Segment> cleaned,
                     log.CreateCleanedSegment(group.front()->base_offset()));
    std::string out;
    std::vector<BatchHeader> headers;
    // Merging small segments is worth a swap even if no record goes.
    bool changed = group.size() > 1;
    uint64_t unsynced = 0;
    auto write_out = [&]() -> absl::Status {
      if (out.empty()) return absl::OkStatus();
      if (absl::Status st = cleaned->Append(AsBytes(out), headers); !st.ok()) {
        return log.IoFailure(st);
      }
      stats.bytes_written += out.size();
      throttle_->Charge(out.size());
      unsynced += out.size();
      if (unsynced >= kSyncEveryBytes) {
        if (absl::Status st = cleaned->Sync(); !st.ok()) return log.IoFailure(st);
        unsynced = 0;
      }
      out.clear();
      headers.clear();
      return absl::OkStatus();
    };
    for (const auto& seg : group) {
      const absl::Status st = ForEachBatch(
          *seg, seg->base_offset(), throttle_, &stats.bytes_read,
          [&](std::span<const uint8_t> batch, const BatchHeader& h) -> absl::Status {
            FilteredBatch f;
            if (!h.control()) {
              // Uncompressed records decode cheaply twice: once to hash and
              // prefetch their keys, once to filter them.
              keyed.clear();
              if (h.compression() == Compression::kNone) {
                RETURN_IF_ERROR(ForEachRecord(batch, [&](const RecordView& r) {
                  if (r.key.has_value()) {
                    keyed.emplace_back(KeyOffsetMap::DigestOf(*r.key), r.offset);
                    map.Prefetch(keyed.back().first);
                  }
                  return absl::OkStatus();
                }));
              }
              size_t next_keyed = 0;
              const std::optional<int64_t> horizon = DeleteHorizon(h);
              auto keep = [&](const RecordView& r) {
                if (!r.key.has_value()) return false;
                const std::optional<Offset> latest =
                    next_keyed < keyed.size() && keyed[next_keyed].second == r.offset
                        ? map.Get(keyed[next_keyed++].first)
                        : map.Get(*r.key);
                if (latest.has_value() && *latest > r.offset) return false;
                return r.value.has_value() || !horizon.has_value() || *horizon > now_ms;
              };
              auto last = last_batch.find(h.producer_id);
              const FilterOptions options{
                  .new_delete_horizon_ms = new_horizon,
                  .keep_if_empty = last != last_batch.end() && last->second == h.base_offset};
              ASSIGN_OR_RETURN(f, FilterBatch(batch, keep, options));
            }
            stats.records_removed += f.records_removed;
            switch (f.outcome) {
              case FilteredBatch::Outcome::kUnchanged:
                out.append(reinterpret_cast<const char*>(batch.data()), batch.size());
                headers.push_back(h);
                break;
              case FilteredBatch::Outcome::kRewritten: {
                ASSIGN_OR_RETURN(BatchHeader nh, ParseBatchHeader(AsBytes(f.bytes)));
                out += f.bytes;
                headers.push_back(nh);
                changed = true;
                break;
              }
              case FilteredBatch::Outcome::kRemoved:
                changed = true;
                break;
            }
            return out.size() >= kChunkBytes ? write_out() : absl::OkStatus();
          });
      if (!st.ok()) {
        if (absl::Status del = cleaned->DeleteCleaned(); !del.ok()) return log.IoFailure(del);
        return failed(*seg, st);
      }
    }
    RETURN_IF_ERROR(write_out());
    if (!changed) {
      // One segment with nothing to remove: it stays as it is.
      if (absl::Status st = cleaned->DeleteCleaned(); !st.ok()) return log.IoFailure(st);
      continue;
    }
    if (absl::Status st = cleaned->Seal(); !st.ok()) return log.IoFailure(st);
    const absl::Status swapped = log.ReplaceSegments(group, std::move(cleaned));
    if (swapped.code() == absl::StatusCode::kAborted) {
      stats.aborted = true;
      return stats;
    }
    RETURN_IF_ERROR(swapped);
    stats.segments_replaced += static_cast<int>(group.size());
  }

  // 4. The log is clean below `end`.
  RETURN_IF_ERROR(log.SetCleanOffset(end));
  stats.clean_end = end;
  return stats;
}

}  // namespace samsa::storage
