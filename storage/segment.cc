#include "storage/segment.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {
namespace {

constexpr std::string_view kLogSuffix = ".log";
constexpr std::string_view kIndexSuffix = ".index";
constexpr std::string_view kTimeIndexSuffix = ".timeindex";
constexpr std::string_view kDeletedSuffix = ".deleted";
constexpr std::string_view kCleanedSuffix = ".cleaned";
constexpr size_t kScanChunk = 1 << 20;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string SegmentFileName(Offset base, std::string_view suffix) {
  return absl::StrFormat("%020d%s", base.value(), ToAbsl(suffix));
}

std::optional<Offset> ParseSegmentFileName(std::string_view name, std::string_view suffix) {
  if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  int64_t base = 0;
  const std::string_view digits = name.substr(0, 20);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(digits), &base)) {
    return std::nullopt;
  }
  return Offset(base);
}

Segment::Segment(FileCache* files, std::string dir, Offset base, int64_t index_interval,
                 std::string_view state_suffix)
    : files_(files),
      dir_(std::move(dir)),
      base_(base),
      index_interval_(index_interval),
      state_suffix_(state_suffix),
      log_path_(PathFor(kLogSuffix)),
      next_offset_(base.value()),
      index_(base) {}

std::string Segment::PathFor(std::string_view suffix) const {
  return absl::StrCat(JoinPath(dir_, SegmentFileName(base_, suffix)), ToAbsl(state_suffix_));
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::CreateCleaned(FileCache* files,
                                                                const std::string& dir, Offset base,
                                                                int64_t index_interval) {
  std::unique_ptr<Segment> seg(new Segment(files, dir, base, index_interval, kCleanedSuffix));
  RETURN_IF_ERROR(seg->DeleteCleaned());
  { ASSIGN_OR_RETURN(auto file, files->env()->OpenFile(seg->log_path(), OpenMode::kCreateNew)); }
  return seg;
}

absl::Status Segment::FinishCleaned() {
  SAMSA_CHECK(state_suffix_ == kCleanedSuffix) << log_path_ << " is not a cleaned segment";
  Env* env = files_->env();
  std::vector<std::pair<std::string, std::string>> renames;
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    renames.emplace_back(PathFor(suffix), JoinPath(dir_, SegmentFileName(base_, suffix)));
  }
  files_->Evict(log_path_);
  for (const auto& [from, to] : renames) RETURN_IF_ERROR(env->RenameFile(from, to));
  state_suffix_.clear();
  log_path_ = PathFor(kLogSuffix);
  // A reader of the segment this one replaces may have cached the name
  // before the rename (file_cache.h).
  files_->Evict(log_path_);
  return absl::OkStatus();
}

absl::Status Segment::DeleteCleaned() {
  SAMSA_CHECK(state_suffix_ == kCleanedSuffix) << log_path_ << " is not a cleaned segment";
  Env* env = files_->env();
  files_->Evict(log_path_);
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    const std::string path = PathFor(suffix);
    ASSIGN_OR_RETURN(bool exists, env->FileExists(path));
    if (exists) RETURN_IF_ERROR(env->DeleteFile(path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(FileCache* files, const std::string& dir,
                                                         Offset base, int64_t index_interval) {
  std::unique_ptr<Segment> seg(new Segment(files, dir, base, index_interval));
  { ASSIGN_OR_RETURN(auto file, files->env()->OpenFile(seg->log_path(), OpenMode::kCreateNew)); }
  // The new name must be durable before anything appended to it is acked.
  RETURN_IF_ERROR(files->env()->SyncDir(dir));
  return seg;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Open(FileCache* files, const std::string& dir,
                                                       Offset base, int64_t index_interval,
                                                       Trust trust, RecoveryStats* stats) {
  std::unique_ptr<Segment> seg(new Segment(files, dir, base, index_interval));
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files->Get(seg->log_path()));
  seg->size_.store(file->Size(), std::memory_order_release);
  if (trust == Trust::kNothing) {
    RETURN_IF_ERROR(seg->Rescan(Trust::kNothing, stats));
    return seg;
  }
  Env* env = files->env();
  auto offsets = env->ReadFile(seg->PathFor(kIndexSuffix));
  auto times = env->ReadFile(seg->PathFor(kTimeIndexSuffix));
  absl::StatusOr<SegmentIndex> index = absl::NotFoundError("index files missing");
  if (offsets.ok() && times.ok()) {
    index = SegmentIndex::Decode(base, *offsets, *times, seg->size());
  }
  if (!index.ok()) {
    SAMSA_LOG(WARNING) << "rebuilding index of " << seg->log_path() << ": " << index.status();
    if (stats != nullptr) stats->rebuilt_index = true;
    RETURN_IF_ERROR(seg->Rescan(Trust::kIndex, stats));
    return seg;
  }
  // The next offset is that of the last batch: walk from the last entry.
  uint64_t pos = index->offset_entries().empty() ? 0 : index->offset_entries().back().position;
  {
    absl::MutexLock lock(&seg->mu_);
    seg->index_ = std::move(*index);
  }
  while (pos + kBatchHeaderSize <= seg->size()) {
    ASSIGN_OR_RETURN(BatchHeader h, seg->ReadHeaderAt(pos));
    if (h.size() < kBatchHeaderSize || pos + h.size() > seg->size()) {
      return absl::DataLossError(
          absl::StrCat(seg->log_path(), ": sealed segment has a bad batch at position ", pos));
    }
    seg->next_offset_.store(h.next_offset().value(), std::memory_order_release);
    pos += h.size();
  }
  if (pos != seg->size()) {
    return absl::DataLossError(
        absl::StrCat(seg->log_path(), ": sealed segment ends inside a batch at position ", pos));
  }
  return seg;
}

int64_t Segment::max_timestamp() const {
  absl::MutexLock lock(&mu_);
  return index_.max_timestamp();
}

absl::StatusOr<BatchHeader> Segment::ReadHeaderAt(uint64_t position) const {
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  uint8_t buf[kBatchHeaderSize];
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(position, buf));
  if (n != kBatchHeaderSize) {
    return absl::DataLossError(
        absl::StrCat(log_path(), ": short read of a batch header at position ", position));
  }
  return ParseBatchHeader(buf);
}

absl::Status Segment::CheckHeaderFits(const BatchHeader& h, uint64_t position,
                                      uint64_t limit) const {
  if (h.batch_length < 0 || h.size() < kBatchHeaderSize || h.size() > limit - position) {
    return absl::DataLossError(absl::StrCat(log_path_, ": batch length ", h.batch_length,
                                            " at position ", position, " does not fit"));
  }
  return absl::OkStatus();
}

absl::Status Segment::Rescan(Trust trust, RecoveryStats* stats) {
  const bool validate = trust == Trust::kNothing;
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  const uint64_t end = size();
  SegmentIndex index(base_);
  Offset next = base_;
  uint64_t pos = 0;
  std::string chunk;
  uint64_t chunk_start = 0;
  std::string bad_reason;
  while (pos < end) {
    // Ensure [pos, pos + header) is buffered, then the whole batch.
    auto ensure = [&](uint64_t want) -> absl::Status {
      if (pos >= chunk_start && pos + want <= chunk_start + chunk.size()) return absl::OkStatus();
      chunk_start = pos;
      chunk.resize(std::min<uint64_t>(std::max<uint64_t>(want, kScanChunk), end - pos));
      ASSIGN_OR_RETURN(size_t n,
                       file->ReadAt(pos, {reinterpret_cast<uint8_t*>(chunk.data()), chunk.size()}));
      chunk.resize(n);
      return absl::OkStatus();
    };
    if (end - pos < kBatchHeaderSize) {
      bad_reason = "a partial batch header";
      break;
    }
    RETURN_IF_ERROR(ensure(kBatchHeaderSize));
    std::span<const uint8_t> at = AsBytes(chunk).subspan(pos - chunk_start);
    ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(at));
    if (h.batch_length < 0 || h.size() < kBatchHeaderSize || h.size() > end - pos) {
      bad_reason = absl::StrCat("a batch length of ", h.batch_length);
      break;
    }
    if (validate) {
      RETURN_IF_ERROR(ensure(h.size()));
      at = AsBytes(chunk).subspan(pos - chunk_start, h.size());
      if (absl::StatusOr<BatchHeader> valid = ValidateBatch(at); !valid.ok()) {
        bad_reason = std::string(valid.status().message());
        break;
      }
    }
    if (h.base_offset < next) {
      bad_reason = absl::StrCat("offset ", h.base_offset.value(), " after ", next.value());
      break;
    }
    index.OnBatchAppended(h.base_offset, static_cast<uint32_t>(pos),
                          static_cast<uint32_t>(h.size()), h.max_timestamp, index_interval_);
    next = h.next_offset();
    pos += h.size();
    if (stats != nullptr) ++stats->batches_scanned;
  }
  if (pos < end) {
    if (!validate) {
      return absl::DataLossError(
          absl::StrCat(log_path(), ": sealed segment has ", bad_reason, " at position ", pos));
    }
    SAMSA_LOG(WARNING) << "recovery of " << log_path() << ": truncating " << end - pos
                       << " bytes at position " << pos << " (offset " << next.value()
                       << "): " << bad_reason;
    RETURN_IF_ERROR(file->Truncate(pos));
    if (stats != nullptr) stats->bytes_truncated += static_cast<int64_t>(end - pos);
  }
  size_.store(pos, std::memory_order_release);
  next_offset_.store(next.value(), std::memory_order_release);
  absl::MutexLock lock(&mu_);
  index_ = std::move(index);
  return absl::OkStatus();
}

absl::Status Segment::Append(std::span<const uint8_t> batches,
                             std::span<const BatchHeader> headers) {
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  const uint64_t start = size();
  RETURN_IF_ERROR(file->Append(batches));
  // Size first, then the index: a concurrent reader never follows an index
  // entry past the bytes it may read.
  size_.store(start + batches.size(), std::memory_order_release);
  next_offset_.store(headers.back().next_offset().value(), std::memory_order_release);
  absl::MutexLock lock(&mu_);
  uint64_t pos = start;
  for (const BatchHeader& h : headers) {
    index_.OnBatchAppended(h.base_offset, static_cast<uint32_t>(pos),
                           static_cast<uint32_t>(h.size()), h.max_timestamp, index_interval_);
    pos += h.size();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<uint64_t, BatchHeader>>> Segment::Locate(
    Offset target, uint64_t limit) const {
  uint64_t pos;
  {
    absl::MutexLock lock(&mu_);
    pos = index_.LookupPosition(target);
  }
  while (pos + kBatchHeaderSize <= limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadHeaderAt(pos));
    RETURN_IF_ERROR(CheckHeaderFits(h, pos, limit));
    if (h.last_offset() >= target) return std::make_pair(pos, h);
    pos += h.size();
  }
  return std::nullopt;
}

absl::StatusOr<ReadSlice> Segment::Read(Offset from, size_t max_bytes, Offset upper,
                                        FirstBatch first_batch) const {
  ReadSlice slice{{}, from, from};
  const uint64_t limit = size();
  ASSIGN_OR_RETURN(auto located, Locate(from, limit));
  if (!located.has_value() || located->second.last_offset() >= upper) return slice;
  const auto [pos, first] = *located;
  const size_t want = std::min<uint64_t>(
      std::max(max_bytes, first_batch == FirstBatch::kAlways ? first.size() : 0), limit - pos);
  if (want < first.size()) return slice;

  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  slice.bytes = Buffer(want);
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(pos, {slice.bytes.data(), slice.bytes.size()}));
  // Keep whole batches below `upper`.
  size_t off = 0;
  Offset next = from;
  while (off + kBatchHeaderSize <= n) {
    ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(slice.bytes.span().subspan(off)));
    if (off + h.size() > n || h.last_offset() >= upper) break;
    off += h.size();
    next = h.next_offset();
  }
  slice.bytes.Shrink(off);
  slice.first_offset = first.base_offset;
  slice.next_offset = next;
  return slice;
}

absl::StatusOr<std::optional<BatchHeader>> Segment::FindBatchByTimestamp(int64_t ts) const {
  Offset start;
  {
    absl::MutexLock lock(&mu_);
    if (index_.max_timestamp() < ts) return std::nullopt;
    start = index_.LookupTimestamp(ts);
  }
  const uint64_t limit = size();
  ASSIGN_OR_RETURN(auto located, Locate(start, limit));
  if (!located.has_value()) return std::nullopt;
  uint64_t pos = located->first;
  while (pos + kBatchHeaderSize <= limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadHeaderAt(pos));
    RETURN_IF_ERROR(CheckHeaderFits(h, pos, limit));
    if (h.max_timestamp >= ts) return h;
    pos += h.size();
  }
  return std::nullopt;
}

absl::Status Segment::ForEachBatchHeader(absl::FunctionRef<void(const BatchHeader&)> fn) const {
  const uint64_t limit = size();
  uint64_t pos = 0;
  while (pos + kBatchHeaderSize <= limit) {
    ASSIGN_OR_RETURN(BatchHeader h, ReadHeaderAt(pos));
    RETURN_IF_ERROR(CheckHeaderFits(h, pos, limit));
    fn(h);
    pos += h.size();
  }
  return absl::OkStatus();
}

absl::Status Segment::TruncateTo(Offset offset) {
  ASSIGN_OR_RETURN(auto located, Locate(offset, size()));
  if (!located.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  RETURN_IF_ERROR(file->Truncate(located->first));
  size_.store(located->first, std::memory_order_release);
  return Rescan(Trust::kIndex, nullptr);
}

absl::Status Segment::Sync() {
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  return file->Sync();
}

absl::Status Segment::DropCache() {
  ASSIGN_OR_RETURN(std::shared_ptr<File> file, files_->Get(log_path()));
  return file->DropCache();
}

absl::Status Segment::Seal() {
  RETURN_IF_ERROR(Sync());
  std::string offsets;
  std::string times;
  {
    absl::MutexLock lock(&mu_);
    index_.Seal();
    offsets = index_.EncodeOffsetIndex();
    times = index_.EncodeTimeIndex();
  }
  Env* env = files_->env();
  RETURN_IF_ERROR(env->WriteFileAtomically(PathFor(kIndexSuffix), offsets));
  return env->WriteFileAtomically(PathFor(kTimeIndexSuffix), times);
}

absl::Status Segment::RenameForDeletion() {
  Env* env = files_->env();
  // The log goes first: once it is renamed the segment no longer exists for
  // recovery, and any index left behind is an orphan that Open deletes.
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    const std::string path = PathFor(suffix);
    files_->Evict(path);
    ASSIGN_OR_RETURN(bool exists, env->FileExists(path));
    if (exists) RETURN_IF_ERROR(env->RenameFile(path, absl::StrCat(path, ToAbsl(kDeletedSuffix))));
  }
  return absl::OkStatus();
}

absl::Status Segment::DeleteRenamed() {
  Env* env = files_->env();
  for (std::string_view suffix : {kLogSuffix, kIndexSuffix, kTimeIndexSuffix}) {
    const std::string path = absl::StrCat(PathFor(suffix), ToAbsl(kDeletedSuffix));
    ASSIGN_OR_RETURN(bool exists, env->FileExists(path));
    if (exists) RETURN_IF_ERROR(env->DeleteFile(path));
  }
  return absl::OkStatus();
}

}  // namespace samsa::storage
