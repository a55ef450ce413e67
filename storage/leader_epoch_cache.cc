#include "storage/leader_epoch_cache.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {

absl::StatusOr<LeaderEpochCache> LeaderEpochCache::Load(Env* env, std::string path) {
  LeaderEpochCache cache(env, std::move(path));
  ASSIGN_OR_RETURN(bool exists, env->FileExists(cache.path_));
  if (!exists) return cache;
  ASSIGN_OR_RETURN(std::string text, env->ReadFile(cache.path_));
  auto entries = Decode(text);
  if (!entries.ok()) {
    return absl::DataLossError(absl::StrCat(cache.path_, ": ", entries.status().message()));
  }
  cache.entries_ = std::move(*entries);
  return cache;
}

std::string LeaderEpochCache::Encode(const std::vector<EpochEntry>& entries) {
  std::string out = absl::StrCat("0\n", entries.size(), "\n");
  for (const EpochEntry& e : entries) {
    absl::StrAppend(&out, e.epoch.value(), " ", e.start_offset.value(), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<EpochEntry>> LeaderEpochCache::Decode(std::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty());
  if (lines.size() < 2 || lines[0] != "0") {
    return absl::InvalidArgumentError("leader epoch checkpoint: missing or unknown version");
  }
  size_t count = 0;
  if (!absl::SimpleAtoi(lines[1], &count) || count != lines.size() - 2) {
    return absl::InvalidArgumentError(absl::StrCat("leader epoch checkpoint: entry count '",
                                                   lines[1], "' disagrees with ", lines.size() - 2,
                                                   " entry lines"));
  }
  std::vector<EpochEntry> entries;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<absl::string_view> parts = absl::StrSplit(lines[i], ' ');
    int32_t epoch = 0;
    int64_t offset = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &epoch) ||
        !absl::SimpleAtoi(parts[1], &offset) || epoch < 0 || offset < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("leader epoch checkpoint: bad entry '", lines[i], "'"));
    }
    if (!entries.empty() &&
        (Epoch(epoch) <= entries.back().epoch || Offset(offset) < entries.back().start_offset)) {
      return absl::InvalidArgumentError(
          absl::StrCat("leader epoch checkpoint: entry '", lines[i], "' is out of order"));
    }
    entries.push_back({Epoch(epoch), Offset(offset)});
  }
  return entries;
}

absl::Status LeaderEpochCache::Persist() {
  return env_->WriteFileAtomically(path_, Encode(entries_));
}

absl::Status LeaderEpochCache::Assign(Epoch epoch, Offset start) {
  if (!entries_.empty() && epoch <= entries_.back().epoch) return absl::OkStatus();
  while (!entries_.empty() && entries_.back().start_offset >= start) entries_.pop_back();
  entries_.push_back({epoch, start});
  return Persist();
}

std::optional<Epoch> LeaderEpochCache::latest_epoch() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back().epoch;
}

std::optional<Offset> LeaderEpochCache::StartOffsetOf(Epoch epoch) const {
  for (const EpochEntry& e : entries_) {
    if (e.epoch == epoch) return e.start_offset;
  }
  return std::nullopt;
}

std::pair<Epoch, Offset> LeaderEpochCache::EndOffsetFor(Epoch requested, Offset log_end) const {
  if (entries_.empty() || requested < entries_.front().epoch) return {kNoEpoch, Offset(-1)};
  if (requested >= entries_.back().epoch) return {entries_.back().epoch, log_end};
  // The largest known epoch <= requested ends where the next one starts.
  for (size_t i = entries_.size() - 1; i > 0; --i) {
    if (entries_[i - 1].epoch <= requested)
      return {entries_[i - 1].epoch, entries_[i].start_offset};
  }
  return {kNoEpoch, Offset(-1)};  // unreachable: requested >= front().epoch
}

absl::Status LeaderEpochCache::TruncateFromEnd(Offset end) {
  const size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end) entries_.pop_back();
  return entries_.size() == before ? absl::OkStatus() : Persist();
}

absl::Status LeaderEpochCache::TruncateFromStart(Offset start) {
  size_t below = 0;
  while (below < entries_.size() && entries_[below].start_offset < start) ++below;
  if (below == 0) return absl::OkStatus();
  // Keep the last entry below `start`, moved up to it, unless an entry
  // already starts exactly there.
  EpochEntry keep{entries_[below - 1].epoch, start};
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(below));
  if (entries_.empty() || entries_.front().start_offset != start) {
    entries_.insert(entries_.begin(), keep);
  }
  return Persist();
}

}  // namespace samsa::storage
