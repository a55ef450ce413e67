// LeaderEpochCache: for each leader epoch seen in a partition's log, the
// first offset written in it (KIP-101). Followers use it to find where their
// log diverges from the leader's (OffsetForLeaderEpoch, KIP-279/KIP-320).
//
// File `leader-epoch-checkpoint` in the partition directory, Kafka's text
// format, replaced atomically (Env::WriteFileAtomically) on every change:
//   line 1: version, "0"
//   line 2: number of entries N
//   N lines: "<epoch> <start offset>", epochs and offsets strictly increasing
// A crash leaves the old or the new file whole. A file that does not parse
// is an error (the partition is not opened), never silently dropped: it
// decides what a follower truncates.
//
// Not thread-safe: owned by its PartitionLog, which guards it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "storage/env.h"

namespace samsa::storage {

struct EpochEntry {
  Epoch epoch;
  Offset start_offset;
  bool operator==(const EpochEntry&) const = default;
};

class LeaderEpochCache {
 public:
  // Loads `path` (an absent file is an empty cache).
  static absl::StatusOr<LeaderEpochCache> Load(Env* env, std::string path);

  // Records that `epoch` starts at `start`. Ignored when `epoch` is not newer
  // than the latest; entries with a start offset >= `start` and an older
  // epoch are replaced (a new leader overwrote them). Persists on change.
  absl::Status Assign(Epoch epoch, Offset start);

  std::optional<Epoch> latest_epoch() const;
  std::optional<Offset> StartOffsetOf(Epoch epoch) const;

  // Kafka's endOffsetFor: the largest epoch <= `requested` we know, and the
  // offset where the next known epoch starts (or `log_end` when `requested`
  // is the latest epoch or later). {kNoEpoch, Offset(-1)} when `requested`
  // is older than every entry.
  std::pair<Epoch, Offset> EndOffsetFor(Epoch requested, Offset log_end) const;

  // After the log was truncated to end at `end`: drops entries starting at
  // or after it.
  absl::Status TruncateFromEnd(Offset end);
  // After the log start moved to `start`: the entries below it collapse into
  // one that starts at `start`.
  absl::Status TruncateFromStart(Offset start);

  const std::vector<EpochEntry>& entries() const { return entries_; }

  static std::string Encode(const std::vector<EpochEntry>& entries);
  static absl::StatusOr<std::vector<EpochEntry>> Decode(std::string_view text);

 private:
  LeaderEpochCache(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  absl::Status Persist();

  Env* env_;
  std::string path_;
  std::vector<EpochEntry> entries_;
};

}  // namespace samsa::storage
