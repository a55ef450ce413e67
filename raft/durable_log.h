// DurableLog: a Raft node's persistent state, on storage/. This comment is
// the format's specification (copied to docs/formats.md).
//
// Directory `<data.dir>/raft/`:
//   log/         the Raft log as a storage/ partition log (partition_log.h):
//                one RecordBatch per entry, baseOffset = the entry's index,
//                partitionLeaderEpoch = its term (an int32, as in KRaft),
//                one record whose key is the entry type (one byte: 0 normal,
//                1 membership change) and whose value is the entry's data.
//                Batch CRCs, torn-tail recovery and fsync come from storage/.
//   hard-state   24 bytes, big-endian, replaced atomically
//                (Env::WriteFileAtomically): term int64, vote int32, commit
//                int64, CRC-32C of the first 20 bytes uint32. Rewritten
//                when the term or vote changes (Raft paper Figure 2: those
//                must be durable before any message depends on them); the
//                commit index is volatile state in Raft, so the stored one
//                is only a lower bound, taken whenever the file is written.
//   snapshot     replaced atomically: magic "SAMSNAP1", index int64, term
//                int64, voter count int32 and voter ids int32..., learner
//                count int32 and ids..., data length int64, data, CRC-32C of
//                everything before it uint32.
//
// Crash behaviour: the log keeps a prefix of what was appended (storage/'s
// recovery); hard-state and snapshot are old or new, never torn; a file
// whose CRC or layout is wrong stops the node with DATA_LOSS rather than
// letting it vote or commit on garbage. Entries at or below the snapshot
// index are ignored on load (their segments may outlive a compaction).
//
// Save() implements the driver's half of raft::Ready: snapshot, then
// entries (truncating a conflicting suffix first), one fsync, then hard
// state; only after it returns may the Ready's messages be sent. A leader's
// Ready with may_sync_later can instead be written with Write() and synced
// with Sync() on another thread, while the driver goes on (storage/'s Flush
// runs alongside appends).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "raft/raft.h"
#include "storage/file_cache.h"
#include "storage/log_dir.h"
#include "storage/partition_log.h"

namespace samsa::raft {

class DurableLog {
 public:
  // Opens (creating) `dir`. `bootstrap` is the membership a node without a
  // snapshot starts from (the configured voters).
  static absl::StatusOr<std::unique_ptr<DurableLog>> Open(storage::Env* env, std::string dir,
                                                          ConfState bootstrap, Clock* clock);

  // What the node restarts from.
  absl::StatusOr<Restored> Load();

  // Persists a Ready's snapshot, entries and hard state durably, with
  // everything written before.
  absl::Status Save(const Ready& ready);
  // Writes entries (truncating a conflicting suffix first) without syncing.
  // Loop thread only, like Save().
  absl::Status Write(const std::vector<Entry>& entries);
  // Makes everything written so far durable. Any thread.
  absl::Status Sync();

  // Persists a snapshot the state machine took, then drops log segments it
  // covers.
  absl::Status SaveSnapshot(const SnapshotMeta& meta, const std::string& data);

  static std::string EncodeHardState(const HardState& hs);
  static absl::StatusOr<HardState> DecodeHardState(std::string_view bytes);
  static std::string EncodeSnapshot(const SnapshotMeta& meta, const std::string& data);
  static absl::StatusOr<Snapshot> DecodeSnapshot(std::string_view bytes);

 private:
  DurableLog(storage::Env* env, std::string dir, ConfState bootstrap);

  storage::Env* env_;
  const std::string dir_;
  const ConfState bootstrap_;
  storage::FileCache files_;
  storage::LogDirHealth health_;
  std::unique_ptr<storage::PartitionLog> log_;
  std::optional<HardState> written_;  // what hard-state holds
};

}  // namespace samsa::raft
