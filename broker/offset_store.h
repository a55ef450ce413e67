// OffsetStore: committed consumer-group offsets materialized from
// __consumer_offsets partitions into RocksDB, so a coordinator answers
// OffsetFetch from a key lookup and a restarted broker replays only the log
// tail it had not applied. This comment is the format's specification
// (copied to docs/formats.md).
//
// Directory `<data.dir>/group-offsets/`, a RocksDB database (its own files
// and write-ahead log). Keys, all integers big-endian:
//   'o' partition:int32 group_len:int32 group topic_len:int32 topic part:int32
//       -> OffsetCommitValue (proto/samsa/v1/groups.proto), serialized
//   'a' partition:int32 -> applied:int64 epoch:int32, the next
//       __consumer_offsets offset of that partition to apply and the leader
//       epoch of the last batch applied (so a replica can tell, KIP-101
//       style, whether its log still holds what was applied)
// where `partition` is the __consumer_offsets partition the record came
// from, so everything learned from one partition shares a key prefix.
//
// Each ApplyBatches is one atomic RocksDB write of the records' effects and
// the new applied offset, without fsync: the log is the durable copy, and
// whatever a crash loses from RocksDB is at or past the applied offset the
// same crash kept, so it is replayed. A replica truncated below what it had
// applied is forgotten (ResetPartition) and replayed from the log.
//
// Thread-safe (RocksDB is).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "rocksdb/db.h"
#include "samsa/v1/groups.pb.h"

namespace samsa::broker {

class OffsetStore {
 public:
  // Opens (creating) the database in `dir`. `env` (tests: an in-memory one)
  // may be null for the real file system; it must outlive the store.
  static absl::StatusOr<std::unique_ptr<OffsetStore>> Open(const std::string& dir,
                                                           rocksdb::Env* env = nullptr);

  // Applies the records in `batches` (whole RecordBatch v2 batches, as read
  // from __consumer_offsets partition `partition`) at or past its applied
  // offset. DATA_LOSS for a batch or record that does not decode; nothing
  // is applied then.
  absl::Status ApplyBatches(PartitionId partition, std::span<const uint8_t> batches);
  // The next offset of `partition` to apply (0 before any).
  absl::StatusOr<Offset> AppliedOffset(PartitionId partition) const;
  // The leader epoch of the last batch applied from `partition` (-1: none).
  absl::StatusOr<Epoch> AppliedEpoch(PartitionId partition) const;
  // Forgets everything applied from `partition`.
  absl::Status ResetPartition(PartitionId partition);

  // The committed offset of `group` for `topic`-`part`, from `partition`.
  absl::StatusOr<std::optional<v1::OffsetCommitValue>> Get(PartitionId partition,
                                                           const std::string& group,
                                                           const std::string& topic,
                                                           PartitionId part) const;
  // Every committed offset of `group`: (topic, partition) -> value.
  absl::StatusOr<std::map<std::pair<std::string, PartitionId>, v1::OffsetCommitValue>> GroupOffsets(
      PartitionId partition, const std::string& group) const;
  // The groups with committed offsets in `partition`, sorted.
  absl::StatusOr<std::vector<std::string>> Groups(PartitionId partition) const;

 private:
  explicit OffsetStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
  // The applied offset and epoch of `partition`: {0, -1} before any.
  absl::StatusOr<std::pair<Offset, Epoch>> Applied(PartitionId partition) const;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace samsa::broker
