// GroupCoordinator: the consumer groups whose __consumer_offsets partition
// this broker leads (docs/architecture.md §8; the group's partition is
// murmur2(group) % offsets.topic.num.partitions). It runs their membership
// (consumer_group.h), writes their offset commits to __consumer_offsets
// with acks=all, and answers offset fetches from the RocksDB materialization
// (offset_store.h), which every replica of a __consumer_offsets partition
// keeps current with what is committed there.
//
// The log is reached through OffsetsLog (ReplicaManager in the broker, an
// in-memory log in tests). Membership is held in memory: after a
// coordinator change members rejoin (their committed offsets are in the
// log). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/assignor.h"
#include "broker/consumer_group.h"
#include "broker/offset_store.h"
#include "common/ids.h"
#include "common/offset_records.h"
#include "samsa/v1/groups.pb.h"

namespace samsa::broker {

// __consumer_offsets as the coordinator uses it.
class OffsetsLog {
 public:
  virtual ~OffsetsLog() = default;
  // Appends `batch` (one RecordBatch v2) to `partition` with acks=all;
  // `done` gets OK once it is committed, else why not (a Kafka-coded error
  // from the produce path).
  virtual void Append(PartitionId partition, std::string batch,
                      absl::AnyInvocable<void(v1::ErrorCode, std::string)> done) = 0;
  // Committed whole batches of `partition` holding offsets >= `from` (the
  // first may start below it), up to its high watermark, about a megabyte
  // at most; empty when there is nothing new. OUT_OF_RANGE when `from` is
  // past the replica's log end (it was truncated below it).
  virtual absl::StatusOr<std::string> ReadCommitted(PartitionId partition, Offset from) = 0;
  // The replica's log end and high watermark (-1: no replica here).
  virtual Offset LogEnd(PartitionId partition) = 0;
  // Where `epoch` ends in the replica's log (KIP-101 OffsetForLeaderEpoch:
  // the start of the next epoch it knows, or its log end).
  virtual Offset EndOffsetForEpoch(PartitionId partition, Epoch epoch) = 0;
  virtual Offset HighWatermark(PartitionId partition) = 0;
};

struct GroupCoordinatorOptions {
  Assignor assignor = &AssignUniform;
  absl::Duration session_timeout = absl::Seconds(45);
  absl::Duration heartbeat_interval = absl::Seconds(5);
  int32_t max_metadata_bytes = 4096;  // offset.metadata.max.bytes
  OffsetsLog* log = nullptr;          // must outlive the coordinator
  OffsetStore* store = nullptr;       // must outlive the coordinator
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(GroupCoordinatorOptions options) : options_(std::move(options)) {}

  // The __consumer_offsets partition of `group` (-1 before the topic is
  // known).
  PartitionId PartitionFor(const std::string& group) const;
  // __consumer_offsets has `partitions` partitions, of which this broker
  // leads `led`; the groups of any other partition are dropped from memory.
  // A partition newly led serves its groups once its high watermark reaches
  // the log end it had then (COORDINATOR_LOAD_IN_PROGRESS until): every
  // commit the previous coordinator acknowledged is then readable.
  void SetLeadership(int32_t partitions, std::set<PartitionId> led);

  // `topics`: partition counts of the cluster's topics.
  v1::ConsumerGroupHeartbeatResponse Heartbeat(const v1::ConsumerGroupHeartbeatRequest& request,
                                               const std::map<std::string, int32_t>& topics,
                                               absl::Time now);
  void OffsetCommit(const v1::OffsetCommitRequest& request, absl::Time now,
                    absl::AnyInvocable<void(v1::OffsetCommitResponse)> done);
  v1::OffsetFetchResponse OffsetFetch(const v1::OffsetFetchRequest& request);

  // Groups coordinated here: with members, or with committed offsets.
  v1::ListGroupsResponse ListGroups();
  v1::DescribeGroupsResponse DescribeGroups(const v1::DescribeGroupsRequest& request);
  // Deletes empty groups: tombstones for their offsets, acks=all.
  void DeleteGroups(const v1::DeleteGroupsRequest& request,
                    absl::AnyInvocable<void(v1::DeleteGroupsResponse)> done);

  struct Stats {
    std::map<std::string, int64_t> groups_by_state;  // empty, reconciling, stable
    int64_t members = 0;
    int64_t rebalances = 0;  // since the coordinator started
  };
  // The groups coordinated here (with members) now.
  Stats stats() const;

  struct Committed {
    std::string group;
    std::string topic;
    PartitionId partition;
    Offset offset;
  };
  // Every committed offset of the groups coordinated here (served, not
  // loading), as materialized so far.
  std::vector<Committed> CommittedOffsets();

  // Deletes (tombstones) the offsets of groups without members once
  // `retention` (offsets.retention.minutes) has passed since their newest
  // commit and since they were last seen with members here (KIP-211: an
  // idle member need not commit to keep its group's offsets). Called
  // periodically; a group whose members left before this broker became its
  // coordinator counts from its newest commit.
  void ExpireOffsets(absl::Time now, absl::Duration retention);

  // Expires member sessions of the groups coordinated here.
  void ExpireSessions(absl::Time now, const std::map<std::string, int32_t>& topics);
  // Applies what is newly committed in this replica of `partition` to the
  // store.
  absl::Status Materialize(PartitionId partition);

 private:
  // The __consumer_offsets partitions led here and done loading.
  std::set<PartitionId> Served();
  // Whether led partition `p` is done loading (its high watermark reached
  // the log end it had when this broker took over).
  bool LoadedLocked(PartitionId p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PartitionId PartitionForLocked(const std::string& group) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether `group` is coordinated here; if not, why not (into `error`).
  bool Coordinates(const std::string& group, v1::Error* error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const GroupCoordinatorOptions options_;
  mutable absl::Mutex mu_;
  int32_t partitions_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<PartitionId> led_ ABSL_GUARDED_BY(mu_);
  // Newly led partitions: the high watermark to wait for.
  std::map<PartitionId, Offset> loading_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<ConsumerGroup>> groups_ ABSL_GUARDED_BY(mu_);
  // When ExpireOffsets last saw each group with committed offsets have
  // members.
  std::map<std::string, absl::Time> last_in_use_ ABSL_GUARDED_BY(mu_);
  int64_t rebalances_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex materialize_mu_;  // one Materialize at a time
};

}  // namespace samsa::broker
