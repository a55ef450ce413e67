#include "storage/partition_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/logging.h"
#include "common/status.h"
#include "storage/record_reader.h"

namespace samsa::storage {
namespace {

constexpr char kEpochCheckpointFile[] = "leader-epoch-checkpoint";

// Splits a record set into its batches, validating each.
absl::StatusOr<std::vector<BatchHeader>> ValidateRecordSet(std::span<const uint8_t> records) {
  if (records.empty()) return absl::InvalidArgumentError("empty record set");
  std::vector<BatchHeader> headers;
  while (!records.empty()) {
    ASSIGN_OR_RETURN(BatchHeader h, ValidateBatch(records));
    headers.push_back(h);
    records = records.subspan(h.size());
  }
  return headers;
}

}  // namespace

PartitionLog::PartitionLog(std::string dir, Options options, LeaderEpochCache epochs)
    : dir_(std::move(dir)),
      options_(options),
      epochs_(std::move(epochs)),
      config_(options.config) {}

PartitionLog::~PartitionLog() {
  absl::MutexLock lock(&mu_);
  for (const auto& seg : segments_) options_.files->Evict(seg->log_path());
}

absl::StatusOr<std::unique_ptr<PartitionLog>> PartitionLog::Open(std::string dir, Options options) {
  SAMSA_CHECK(options.files != nullptr && options.health != nullptr && options.clock != nullptr)
      << "PartitionLog needs files, health and clock";
  RETURN_IF_ERROR(options.health->status());
  Env* env = options.files->env();
  RETURN_IF_ERROR(env->CreateDirs(dir));
  ASSIGN_OR_RETURN(LeaderEpochCache epochs,
                   LeaderEpochCache::Load(env, JoinPath(dir, kEpochCheckpointFile)));
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, options, std::move(epochs)));
  absl::MutexLock lock(&log->mu_);
  RETURN_IF_ERROR(log->LoadSegments());
  return log;
}

absl::Status PartitionLog::LoadSegments() {
  Env* e = env();
  ASSIGN_OR_RETURN(std::vector<std::string> names, e->ListDir(dir_));
  std::vector<Offset> bases;
  const bool clean = options_.clean_shutdown;
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir_, name);
    if (name.ends_with(".deleted") || name.ends_with(".tmp")) {
      RETURN_IF_ERROR(e->DeleteFile(path));
    } else if (std::optional<Offset> base = ParseSegmentFileName(name)) {
      bases.push_back(*base);
    }
  }
  // Orphaned indexes: their log was renamed away by an interrupted delete.
  for (const std::string& name : names) {
    for (std::string_view suffix : {".index", ".timeindex"}) {
      if (!name.ends_with(suffix)) continue;
      const std::string log_name = name.substr(0, name.size() - suffix.size()) + ".log";
      if (!ParseSegmentFileName(log_name).has_value()) continue;
      if (!std::binary_search(names.begin(), names.end(), log_name)) {
        RETURN_IF_ERROR(e->DeleteFile(JoinPath(dir_, name)));
      }
    }
  }
  std::sort(bases.begin(), bases.end());

  const int64_t interval = config_.index_interval_bytes;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    ASSIGN_OR_RETURN(auto seg, Segment::Open(options_.files, dir_, bases[i], interval,
                                             /*recover=*/last && !clean, &recovery_));
    if (!segments_.empty() && segments_.back()->next_offset() > seg->base_offset()) {
      return absl::DataLossError(absl::StrCat(dir_, ": segment ", seg->base_offset().value(),
                                              " overlaps the previous one, which ends at ",
                                              segments_.back()->next_offset().value()));
    }
    segments_.push_back(std::move(seg));
  }
  if (segments_.empty()) {
    ASSIGN_OR_RETURN(auto seg, Segment::Create(options_.files, dir_, Offset(0), interval));
    segments_.push_back(std::move(seg));
  }
  if (!clean) {
    // What recovery kept may sit only in the page cache (a process crash, not
    // a power loss): make it durable before counting it as flushed.
    RETURN_IF_ERROR(segments_.back()->Sync());
  }
  if (recovery_.bytes_truncated > 0) {
    SAMSA_LOG(WARNING) << dir_ << ": recovery dropped " << recovery_.bytes_truncated
                       << " bytes of torn or corrupt tail; log ends at offset "
                       << segments_.back()->next_offset().value();
  }
  RETURN_IF_ERROR(epochs_.TruncateFromEnd(segments_.back()->next_offset()));
  flushed_ = segments_.back()->next_offset();
  active_created_ = options_.clock->Now();
  return absl::OkStatus();
}

absl::Status PartitionLog::CheckUsable() const {
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(dir_, ": log is closed"));
  return options_.health->status();
}

absl::Status PartitionLog::IoFailure(const absl::Status& st) const {
  return options_.health->Fail(st);
}

absl::Status PartitionLog::ReadFailure(const Segment& seg, Offset offset,
                                       const absl::Status& st) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    const bool live = std::any_of(segments_.begin(), segments_.end(),
                                  [&](const auto& s) { return s.get() == &seg; });
    // Retention or truncation removed the segment while it was being read:
    // the offset is simply gone, the disk is fine.
    if (!live) {
      return absl::OutOfRangeError(
          absl::StrCat("offset ", offset.value(), " was deleted while it was being read"));
    }
  }
  return IoFailure(st);
}

absl::Status PartitionLog::MaybeRoll(size_t bytes, Offset last_offset) {
  Segment& active = *segments_.back();
  if (active.empty()) return absl::OkStatus();
  const uint64_t size = active.size();
  const bool full = size + bytes > static_cast<uint64_t>(config_.segment_bytes) ||
                    size + bytes > std::numeric_limits<uint32_t>::max();
  const bool old = options_.clock->Now() - active_created_ >= config_.segment_age;
  // Index entries hold offsets relative to the segment base as int32.
  const bool far = last_offset - active.base_offset() > std::numeric_limits<int32_t>::max();
  if (!full && !old && !far) return absl::OkStatus();
  if (absl::Status st = active.Seal(); !st.ok()) return IoFailure(st);
  auto next =
      Segment::Create(options_.files, dir_, active.next_offset(), config_.index_interval_bytes);
  if (!next.ok()) return IoFailure(next.status());
  segments_.push_back(std::move(*next));
  active_created_ = options_.clock->Now();
  return absl::OkStatus();
}

absl::Status PartitionLog::WriteLocked(std::span<const uint8_t> records,
                                       std::span<const BatchHeader> headers) {
  RETURN_IF_ERROR(MaybeRoll(records.size(), headers.back().last_offset()));
  if (absl::Status st = segments_.back()->Append(records, headers); !st.ok()) {
    return IoFailure(st);
  }
  for (const BatchHeader& h : headers) {
    if (absl::Status st = epochs_.Assign(h.leader_epoch, h.base_offset); !st.ok()) {
      return IoFailure(st);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AppendInfo> PartitionLog::AppendAsLeader(std::span<uint8_t> records,
                                                        Epoch leader_epoch) {
  ASSIGN_OR_RETURN(std::vector<BatchHeader> headers, ValidateRecordSet(records));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  AppendInfo info;
  Offset next = segments_.back()->next_offset();
  info.first_offset = next;
  const bool log_append_time = config_.timestamp_type == TimestampType::kLogAppendTime;
  if (log_append_time) info.log_append_time = absl::ToUnixMillis(options_.clock->Now());
  size_t pos = 0;
  for (BatchHeader& h : headers) {
    std::span<uint8_t> batch = records.subspan(pos, h.size());
    StampBatch(batch, next, leader_epoch);
    h.base_offset = next;
    h.leader_epoch = leader_epoch;
    if (log_append_time) {
      h.attributes |= kTimestampTypeBit;
      h.max_timestamp = *info.log_append_time;
      StoreBE<uint16_t>(batch.data() + kAttributesPos, h.attributes);
      StoreBE<int64_t>(batch.data() + kMaxTimestampPos, h.max_timestamp);
      UpdateBatchCrc(batch);
    }
    info.max_timestamp = std::max(info.max_timestamp, h.max_timestamp);
    info.record_count += h.record_count;
    next = h.next_offset();
    pos += h.size();
  }
  info.last_offset = next - 1;
  info.bytes = records.size();
  RETURN_IF_ERROR(WriteLocked(records, headers));
  return info;
}

absl::StatusOr<AppendInfo> PartitionLog::AppendAsFollower(std::span<const uint8_t> records) {
  ASSIGN_OR_RETURN(std::vector<BatchHeader> headers, ValidateRecordSet(records));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  Offset expected = segments_.back()->next_offset();
  AppendInfo info;
  info.first_offset = headers.front().base_offset;
  for (const BatchHeader& h : headers) {
    if (h.base_offset != expected) {
      return absl::OutOfRangeError(absl::StrCat(dir_, ": follower batch starts at offset ",
                                                h.base_offset.value(), ", log end is ",
                                                expected.value()));
    }
    info.max_timestamp = std::max(info.max_timestamp, h.max_timestamp);
    info.record_count += h.record_count;
    expected = h.next_offset();
  }
  info.last_offset = expected - 1;
  info.bytes = records.size();
  RETURN_IF_ERROR(WriteLocked(records, headers));
  return info;
}

absl::StatusOr<ReadSlice> PartitionLog::Read(Offset from, size_t max_bytes, Offset upper,
                                             bool min_one) const {
  std::vector<std::shared_ptr<Segment>> candidates;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    const Offset start = segments_.front()->base_offset();
    const Offset end = segments_.back()->next_offset();
    if (from < start || from > end) {
      return absl::OutOfRangeError(absl::StrCat("offset ", from.value(), " is outside the log [",
                                                start.value(), ", ", end.value(), ")"));
    }
    // The segment holding `from` and any after it (it may end exactly at
    // `from`, with the data in the next).
    auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                               [](Offset o, const auto& s) { return o < s->base_offset(); });
    candidates.assign(it == segments_.begin() ? it : std::prev(it), segments_.end());
  }
  for (const auto& seg : candidates) {
    absl::StatusOr<ReadSlice> slice = seg->Read(from, max_bytes, upper, min_one);
    if (!slice.ok()) return ReadFailure(*seg, from, slice.status());
    if (!slice->bytes.empty() || seg->next_offset() > from) return slice;
  }
  return ReadSlice{{}, from, from};
}

absl::StatusOr<std::optional<TimestampOffset>> PartitionLog::OffsetForTimestamp(int64_t ts) const {
  std::vector<std::shared_ptr<Segment>> segments;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    segments = segments_;
  }
  for (const auto& seg : segments) {
    absl::StatusOr<std::optional<BatchHeader>> h = seg->FindBatchByTimestamp(ts);
    if (!h.ok()) return ReadFailure(*seg, seg->base_offset(), h.status());
    if (!h->has_value()) continue;
    absl::StatusOr<ReadSlice> slice =
        seg->Read((*h)->base_offset, (*h)->size(), Offset::Max(), /*min_one=*/true);
    if (!slice.ok()) return ReadFailure(*seg, (*h)->base_offset, slice.status());
    std::optional<TimestampOffset> found;
    const absl::Status walk = ForEachRecord(slice->bytes.span(), [&](const RecordView& r) {
      if (r.timestamp < ts) return absl::OkStatus();
      found = TimestampOffset{r.offset, r.timestamp};
      return absl::CancelledError();  // stop at the first match
    });
    if (found.has_value()) return found;
    if (!walk.ok()) return walk;
    return absl::DataLossError(absl::StrCat(dir_, ": batch at offset ", (*h)->base_offset.value(),
                                            " has max timestamp ", (*h)->max_timestamp,
                                            " but no record reaching ", ts));
  }
  return std::nullopt;
}

absl::Status PartitionLog::DeleteSegments(const std::vector<std::shared_ptr<Segment>>& doomed) {
  for (const auto& seg : doomed) {
    if (absl::Status st = seg->RenameForDeletion(); !st.ok()) return IoFailure(st);
  }
  if (absl::Status st = env()->SyncDir(dir_); !st.ok()) return IoFailure(st);
  for (const auto& seg : doomed) {
    if (absl::Status st = seg->DeleteRenamed(); !st.ok()) return IoFailure(st);
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateTo(Offset end) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  if (end >= segments_.back()->next_offset()) return absl::OkStatus();
  // Nothing would be left: start over at `end`, as Kafka's truncateTo does.
  if (end <= segments_.front()->base_offset()) return TruncateFullyLocked(end);
  // Whole segments at or beyond `end` go; the one holding `end` is cut.
  std::vector<std::shared_ptr<Segment>> doomed;
  while (segments_.size() > 1 && segments_.back()->base_offset() >= end) {
    doomed.push_back(segments_.back());
    segments_.pop_back();
  }
  RETURN_IF_ERROR(DeleteSegments(doomed));
  Segment& active = *segments_.back();
  if (absl::Status st = active.TruncateTo(end); !st.ok()) return IoFailure(st);
  if (absl::Status st = active.Sync(); !st.ok()) return IoFailure(st);
  const Offset new_end = active.next_offset();
  if (absl::Status st = epochs_.TruncateFromEnd(new_end); !st.ok()) return IoFailure(st);
  flushed_ = std::min(flushed_, new_end);
  SAMSA_LOG(INFO) << dir_ << ": truncated to offset " << new_end.value();
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateFullyAndStartAt(Offset start) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  return TruncateFullyLocked(start);
}

absl::Status PartitionLog::TruncateFullyLocked(Offset start) {
  std::vector<std::shared_ptr<Segment>> doomed = std::move(segments_);
  segments_.clear();
  RETURN_IF_ERROR(DeleteSegments(doomed));
  auto seg = Segment::Create(options_.files, dir_, start, config_.index_interval_bytes);
  if (!seg.ok()) return IoFailure(seg.status());
  segments_.push_back(std::move(*seg));
  if (absl::Status st = epochs_.TruncateFromEnd(Offset(0)); !st.ok()) return IoFailure(st);
  flushed_ = start;
  active_created_ = options_.clock->Now();
  SAMSA_LOG(INFO) << dir_ << ": emptied and restarted at offset " << start.value();
  return absl::OkStatus();
}

absl::Status PartitionLog::Flush() {
  std::shared_ptr<Segment> active;
  Offset target;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    active = segments_.back();
    target = active->next_offset();
    if (target <= flushed_) return absl::OkStatus();
  }
  // Segments before `active` were sealed (fsynced) when they were rolled.
  const absl::Time start = MonotonicNow();
  if (absl::Status st = active->Sync(); !st.ok()) return IoFailure(st);
  if (options_.on_sync) options_.on_sync(MonotonicNow() - start);
  absl::MutexLock lock(&mu_);
  flushed_ = std::max(flushed_, std::min(target, segments_.back()->next_offset()));
  return absl::OkStatus();
}

absl::StatusOr<int> PartitionLog::ApplyRetention(absl::Time now) {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    const LogConfig& c = config_;
    uint64_t total = 0;
    for (const auto& s : segments_) total += s->size();
    size_t n = 0;
    while (n + 1 < segments_.size()) {
      const Segment& s = *segments_[n];
      const int64_t max_ts = s.max_timestamp();
      const bool expired = c.retention_age != absl::InfiniteDuration() && max_ts >= 0 &&
                           now - absl::FromUnixMillis(max_ts) > c.retention_age;
      const bool oversize =
          c.retention_bytes >= 0 && total - s.size() >= static_cast<uint64_t>(c.retention_bytes);
      if (!expired && !oversize) break;
      total -= s.size();
      ++n;
    }
    if (n == 0) return 0;
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
    if (absl::Status st = epochs_.TruncateFromStart(segments_.front()->base_offset()); !st.ok()) {
      return IoFailure(st);
    }
    SAMSA_LOG(INFO) << dir_ << ": retention deleted " << n << " segment(s); log starts at "
                    << segments_.front()->base_offset().value();
  }
  // Off the lock: appends and reads go on while the files go.
  RETURN_IF_ERROR(DeleteSegments(doomed));
  return static_cast<int>(doomed.size());
}

absl::StatusOr<int> PartitionLog::DeleteSegmentsBelow(Offset offset) {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    size_t n = 0;
    while (n + 1 < segments_.size() && segments_[n]->next_offset() <= offset) ++n;
    if (n == 0) return 0;
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
    if (absl::Status st = epochs_.TruncateFromStart(segments_.front()->base_offset()); !st.ok()) {
      return IoFailure(st);
    }
  }
  RETURN_IF_ERROR(DeleteSegments(doomed));
  return static_cast<int>(doomed.size());
}

void PartitionLog::Abandon() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

absl::Status PartitionLog::Close() {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  closed_ = true;
  if (absl::Status st = segments_.back()->Seal(); !st.ok()) return IoFailure(st);
  return absl::OkStatus();
}

Offset PartitionLog::log_start_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.front()->base_offset();
}

Offset PartitionLog::log_end_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.back()->next_offset();
}

Offset PartitionLog::flushed_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return flushed_;
}

uint64_t PartitionLog::size_bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  return total;
}

size_t PartitionLog::segment_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.size();
}

Offset PartitionLog::active_segment_base() const {
  absl::ReaderMutexLock lock(&mu_);
  return segments_.back()->base_offset();
}

std::optional<Epoch> PartitionLog::latest_epoch() const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.latest_epoch();
}

std::pair<Epoch, Offset> PartitionLog::EndOffsetForEpoch(Epoch epoch) const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.EndOffsetFor(epoch, segments_.back()->next_offset());
}

LogConfig PartitionLog::config() const {
  absl::ReaderMutexLock lock(&mu_);
  return config_;
}

void PartitionLog::SetConfig(const LogConfig& config) {
  absl::MutexLock lock(&mu_);
  config_ = config;
}

std::vector<EpochEntry> PartitionLog::epoch_entries() const {
  absl::ReaderMutexLock lock(&mu_);
  return epochs_.entries();
}

}  // namespace samsa::storage
