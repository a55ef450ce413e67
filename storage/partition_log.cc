#include "storage/partition_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/logging.h"
#include "common/status.h"
#include "storage/cleaner_files.h"
#include "storage/record_reader.h"

namespace samsa::storage {
namespace {

constexpr char kEpochCheckpointFile[] = "leader-epoch-checkpoint";

// Who wrote a record set: a producer's batches get consecutive offsets, a
// leader's may be compacted (record_batch.h).
enum class BatchSource { kProducer, kLeader };

// Splits a record set into its batches, validating each.
absl::StatusOr<std::vector<BatchHeader>> ValidateRecordSet(std::span<const uint8_t> records,
                                                           BatchSource source) {
  if (records.empty()) return absl::InvalidArgumentError("empty record set");
  std::vector<BatchHeader> headers;
  while (!records.empty()) {
    ASSIGN_OR_RETURN(BatchHeader h, ValidateBatch(records));
    if (source == BatchSource::kProducer) RETURN_IF_ERROR(CheckProducerBatchShape(h));
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

absl::Status PartitionLog::RecoverSwap() {
  Env* e = env();
  ASSIGN_OR_RETURN(std::optional<SwapManifest> swap, LoadSwapManifest(e, dir_));
  if (!swap.has_value()) return absl::OkStatus();
  auto rename_if_present = [&](const std::string& from, const std::string& to) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, e->FileExists(from));
    return exists ? e->RenameFile(from, to) : absl::OkStatus();
  };
  constexpr std::string_view kSuffixes[] = {".log", ".index", ".timeindex"};
  const std::string cleaned_log = JoinPath(dir_, SegmentFileName(swap->base, ".log")) + ".cleaned";
  ASSIGN_OR_RETURN(bool not_begun, e->FileExists(cleaned_log));
  if (not_begun) {
    for (Offset base : swap->replaced) {
      for (std::string_view suffix : kSuffixes) {
        const std::string path = JoinPath(dir_, SegmentFileName(base, suffix));
        RETURN_IF_ERROR(rename_if_present(path, path + ".deleted"));
      }
    }
  }
  for (std::string_view suffix : kSuffixes) {
    const std::string path = JoinPath(dir_, SegmentFileName(swap->base, suffix));
    RETURN_IF_ERROR(rename_if_present(path + ".cleaned", path));
  }
  RETURN_IF_ERROR(e->SyncDir(dir_));
  RETURN_IF_ERROR(e->DeleteFile(JoinPath(dir_, kCleanerSwapFile)));
  SAMSA_LOG(INFO) << dir_ << ": finished the cleaner's swap of " << swap->replaced.size()
                  << " segment(s) at offset " << swap->base.value();
  return absl::OkStatus();
}

absl::Status PartitionLog::LoadSegments() {
  Env* e = env();
  RETURN_IF_ERROR(RecoverSwap());
  ASSIGN_OR_RETURN(std::vector<std::string> names, e->ListDir(dir_));
  std::vector<Offset> bases;
  const bool clean = options_.clean_shutdown;
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir_, name);
    if (name.ends_with(".deleted") || name.ends_with(".tmp") || name.ends_with(".cleaned")) {
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
    ASSIGN_OR_RETURN(auto seg,
                     Segment::Open(options_.files, dir_, bases[i], interval,
                                   last && !clean ? Trust::kNothing : Trust::kIndex, &recovery_));
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
  ASSIGN_OR_RETURN(std::optional<Offset> clean_offset, LoadCleanOffset(e, dir_));
  clean_offset_ = std::clamp(clean_offset.value_or(Offset(0)), segments_.front()->base_offset(),
                             segments_.back()->next_offset());
  flushed_ = segments_.back()->next_offset();
  active_created_ = options_.clock->Now();
  return absl::OkStatus();
}

absl::Status PartitionLog::CheckUsable() const {
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(dir_, ": log is closed"));
  return options_.health->status();
}

absl::Status PartitionLog::IoFailure(const absl::Status& st) const {
  // The files of a deleted log vanish under whoever still works on them (the
  // cleaner): that is no fault of the disk.
  if (abandoned_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir_, ": log was deleted (", st.message(), ")"));
  }
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
  // A compacted log also rolls once its oldest uncleaned record would
  // otherwise outlive max.compaction.lag.ms in the never-cleaned active
  // segment (KIP-354).
  const absl::Duration max_age = config_.cleanup_policy.compact
                                     ? std::min(config_.segment_age, config_.max_compaction_lag)
                                     : config_.segment_age;
  const bool old = options_.clock->Now() - active_created_ >= max_age;
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
  ASSIGN_OR_RETURN(std::vector<BatchHeader> headers,
                   ValidateRecordSet(records, BatchSource::kProducer));
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
  ASSIGN_OR_RETURN(std::vector<BatchHeader> headers,
                   ValidateRecordSet(records, BatchSource::kLeader));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  Offset expected = segments_.back()->next_offset();
  AppendInfo info;
  info.first_offset = headers.front().base_offset;
  for (const BatchHeader& h : headers) {
    if (h.base_offset < expected) {
      return absl::OutOfRangeError(absl::StrCat(dir_, ": follower batch starts at offset ",
                                                h.base_offset.value(), ", below ",
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
                                             FirstBatch first) const {
  while (true) {
    absl::StatusOr<std::optional<ReadSlice>> slice = ReadOnce(from, max_bytes, upper, first);
    if (!slice.ok()) return slice.status();
    if (slice->has_value()) return std::move(**slice);
  }
}

absl::StatusOr<std::optional<ReadSlice>> PartitionLog::ReadOnce(Offset from, size_t max_bytes,
                                                                Offset upper,
                                                                FirstBatch first) const {
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
    absl::StatusOr<ReadSlice> slice = seg->Read(from, max_bytes, upper, first);
    if (seg->retired()) return std::nullopt;  // swapped for its cleaned copy meanwhile
    if (!slice.ok()) return ReadFailure(*seg, from, slice.status());
    // A segment holding a batch at or after `from` that returned nothing
    // stopped at `upper` or `max_bytes`: later segments must not answer.
    // An empty one (all its records compacted away) holds nothing at all.
    if (!slice->bytes.empty() || (!seg->empty() && seg->next_offset() > from)) {
      return *std::move(slice);
    }
  }
  return ReadSlice{{}, from, from};
}

absl::StatusOr<std::optional<TimestampOffset>> PartitionLog::OffsetForTimestamp(int64_t ts) const {
  while (true) {
    absl::StatusOr<std::optional<TimestampOffset>> found = OffsetForTimestampOnce(ts);
    // A segment swapped for its cleaned copy meanwhile: look again.
    if (found.ok() || found.status().code() != absl::StatusCode::kAborted) return found;
  }
}

absl::StatusOr<std::optional<TimestampOffset>> PartitionLog::OffsetForTimestampOnce(
    int64_t ts) const {
  std::vector<std::shared_ptr<Segment>> segments;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    segments = segments_;
  }
  const absl::Status retired = absl::AbortedError("segment retired");
  for (const auto& seg : segments) {
    absl::StatusOr<std::optional<BatchHeader>> h = seg->FindBatchByTimestamp(ts);
    if (seg->retired()) return retired;
    if (!h.ok()) return ReadFailure(*seg, seg->base_offset(), h.status());
    if (!h->has_value()) continue;
    absl::StatusOr<ReadSlice> slice =
        seg->Read((*h)->base_offset, (*h)->size(), Offset::Max(), FirstBatch::kAlways);
    if (seg->retired()) return retired;
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
  absl::MutexLock removal(&removal_mu_);
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
  clean_offset_ = std::min(clean_offset_, new_end);
  SAMSA_LOG(INFO) << dir_ << ": truncated to offset " << new_end.value();
  return absl::OkStatus();
}

absl::Status PartitionLog::TruncateFullyAndStartAt(Offset start) {
  absl::MutexLock removal(&removal_mu_);
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
  clean_offset_ = start;
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

absl::Status PartitionLog::DropCache() {
  std::vector<std::shared_ptr<Segment>> recent;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    const size_t n = std::min<size_t>(segments_.size(), 2);
    recent.assign(segments_.end() - static_cast<std::ptrdiff_t>(n), segments_.end());
  }
  for (const std::shared_ptr<Segment>& s : recent) RETURN_IF_ERROR(s->DropCache());
  return absl::OkStatus();
}

absl::StatusOr<int> PartitionLog::ApplyRetention(absl::Time now) {
  absl::MutexLock removal(&removal_mu_);
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    const LogConfig& c = config_;
    if (!c.cleanup_policy.delete_old) return 0;
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
    clean_offset_ = std::max(clean_offset_, segments_.front()->base_offset());
    SAMSA_LOG(INFO) << dir_ << ": retention deleted " << n << " segment(s); log starts at "
                    << segments_.front()->base_offset().value();
  }
  // Off the lock: appends and reads go on while the files go.
  RETURN_IF_ERROR(DeleteSegments(doomed));
  return static_cast<int>(doomed.size());
}

absl::StatusOr<int> PartitionLog::DeleteSegmentsBelow(Offset offset) {
  absl::MutexLock removal(&removal_mu_);
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
    clean_offset_ = std::max(clean_offset_, segments_.front()->base_offset());
  }
  RETURN_IF_ERROR(DeleteSegments(doomed));
  return static_cast<int>(doomed.size());
}

absl::StatusOr<PartitionLog::CleanerView> PartitionLog::ViewForCleaning() const {
  absl::ReaderMutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckUsable());
  CleanerView view;
  view.sealed.assign(segments_.begin(), std::prev(segments_.end()));
  view.active_base = segments_.back()->base_offset();
  view.compaction_limit = Offset(compaction_limit_.load(std::memory_order_acquire));
  view.clean_offset = clean_offset_;
  view.config = config_;
  return view;
}

absl::StatusOr<std::unique_ptr<Segment>> PartitionLog::CreateCleanedSegment(Offset base) {
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
  }
  auto seg = Segment::CreateCleaned(options_.files, dir_, base, config().index_interval_bytes);
  if (!seg.ok()) return IoFailure(seg.status());
  return seg;
}

absl::Status PartitionLog::ReplaceSegments(std::span<const std::shared_ptr<Segment>> old,
                                           std::unique_ptr<Segment> cleaned) {
  SAMSA_CHECK(!old.empty() && old.front()->base_offset() == cleaned->base_offset())
      << dir_ << ": a cleaned segment replaces segments starting at its own base";
  absl::MutexLock removal(&removal_mu_);
  size_t first = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    auto it = std::find(segments_.begin(), segments_.end(), old.front());
    first = static_cast<size_t>(it - segments_.begin());
    // The active segment is never replaced; retention or truncation may have
    // taken some of `old` since the cleaner looked.
    bool present = first + old.size() < segments_.size();
    for (size_t i = 0; present && i < old.size(); ++i) present = segments_[first + i] == old[i];
    if (!present) {
      if (absl::Status st = cleaned->DeleteCleaned(); !st.ok()) return IoFailure(st);
      return absl::AbortedError(absl::StrCat(dir_, ": segments to replace at offset ",
                                             old.front()->base_offset().value(),
                                             " left the log during the clean"));
    }
  }
  Env* e = env();
  SwapManifest manifest{cleaned->base_offset(), {}};
  for (const auto& seg : old) manifest.replaced.push_back(seg->base_offset());
  // The cleaned files' names must be durable before the commit point
  // (cleaner_files.h, step 1).
  if (absl::Status st = e->SyncDir(dir_); !st.ok()) return IoFailure(st);
  if (absl::Status st = StoreSwapManifest(e, dir_, manifest); !st.ok()) return IoFailure(st);
  {
    // Renames only: appends wait for no fsync.
    absl::MutexLock lock(&mu_);
    // Retired before their files move, so a reader whose read fails on a
    // renamed file knows to look again.
    for (const auto& seg : old) seg->Retire();
    for (const auto& seg : old) {
      if (absl::Status st = seg->RenameForDeletion(); !st.ok()) return IoFailure(st);
    }
    if (absl::Status st = cleaned->FinishCleaned(); !st.ok()) return IoFailure(st);
    auto at = segments_.begin() + static_cast<ptrdiff_t>(first);
    at = segments_.erase(at, at + static_cast<ptrdiff_t>(old.size()));
    segments_.insert(at, std::move(cleaned));
  }
  if (absl::Status st = e->SyncDir(dir_); !st.ok()) return IoFailure(st);
  if (absl::Status st = e->DeleteFile(JoinPath(dir_, kCleanerSwapFile)); !st.ok()) {
    return IoFailure(st);
  }
  for (const auto& seg : old) {
    if (absl::Status st = seg->DeleteRenamed(); !st.ok()) return IoFailure(st);
  }
  return absl::OkStatus();
}

absl::Status PartitionLog::SetCleanOffset(Offset offset) {
  absl::MutexLock removal(&removal_mu_);
  {
    // A truncation since the clean may have cut the log below `offset`.
    absl::ReaderMutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckUsable());
    offset = std::min(offset, segments_.back()->next_offset());
  }
  if (absl::Status st = StoreCleanOffset(env(), dir_, offset); !st.ok()) return IoFailure(st);
  absl::MutexLock lock(&mu_);
  clean_offset_ = offset;
  return absl::OkStatus();
}

Offset PartitionLog::clean_offset() const {
  absl::ReaderMutexLock lock(&mu_);
  return clean_offset_;
}

void PartitionLog::Abandon() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  abandoned_.store(true, std::memory_order_release);
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
