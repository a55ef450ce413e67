// Partition reassignment (Kafka's KIP-455), as decisions on the pending batch
// like topic_admin.h: nothing here blocks or touches Raft.
//
// A move of a partition from its replicas O to a target T is three steps,
// each one PartitionChange record:
//   start     replicas = T, then O - T; adding = T - O; removing = O - T.
//             The ISR and the leader stay. The brokers of `adding` create
//             the replica and fetch from the leader as followers outside the
//             ISR; the leader adds each to the ISR once it has caught up
//             (AlterPartition), as for any follower.
//   complete  once every replica of T is in the ISR: replicas = T, ISR =
//             ISR within T, adding and removing cleared, and, when the leader
//             is being removed (or is not eligible), the first eligible
//             replica of T in the ISR leads with the leader epoch + 1. Every
//             member of the new ISR was in the old one, so the high
//             watermark's guarantee carries over; brokers of `removing`
//             delete their replica when they see it.
//   cancel    back to O: replicas = O, ISR = ISR within O, adding and
//             removing cleared, the leader moved back into O the same way.
//             Refused while no replica of O is in the ISR (nothing of O
//             could lead).
// A move that adds nothing completes in the batch that starts it. A new
// target for a moving partition replaces the old one, counted from O (a
// target equal to O is a cancel). The state lives in the metadata image, so
// a new active controller carries on with moves where the last one was.
//
// Error codes (Kafka's) and when:
//   UNKNOWN_TOPIC_OR_PARTITION   no such topic or partition
//   INVALID_REPLICA_ASSIGNMENT   empty target, a broker twice, a broker not
//                                registered or being decommissioned
//   NO_REASSIGNMENT_IN_PROGRESS  cancel of a partition that is not moving
//   REASSIGNMENT_IN_PROGRESS     cancel while no original replica is in the
//                                ISR, or a new target that drops the leader
//                                an earlier target brought in while no
//                                replica of the new one could lead
#pragma once

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "common/wire_error.h"
#include "controller/pending_batch.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::controller {

// Starts (or retargets) the move of `topic`-`partition` to `target`, whose
// first replica is the preferred leader.
v1::Error StartReassignment(PendingBatch& batch, const std::string& topic, int32_t partition,
                            const std::vector<NodeId>& target);

// Rolls the move of `topic`-`partition` back to its original replicas.
v1::Error CancelReassignment(PendingBatch& batch, const std::string& topic, int32_t partition);

// Completes every move whose target replicas are all in the ISR and that
// has an eligible leader in its target; returns how many completed.
absl::StatusOr<int64_t> CompleteReassignments(PendingBatch& batch);

// Partitions moving in `image`.
int64_t MovingPartitions(const MetadataImage& image);

// What the reassignment records of `batch`, committed on `before`, did.
struct MoveCounts {
  int64_t started = 0;
  int64_t completed = 0;  // moves that reached their target (one that adds
                          // nothing starts and completes at once)
  int64_t cancelled = 0;
};
MoveCounts CountMoves(const MetadataImage& before, const v1::MetadataBatch& batch);

// The admin requests: each partition of the request started, retargeted or
// cancelled on its own, with its own result.
v1::AlterPartitionReassignmentsResponse AlterPartitionReassignments(
    const v1::AlterPartitionReassignmentsRequest& request, PendingBatch& batch);

// The size in bytes a broker last reported for its replica of a partition;
// -1: unknown.
using ReplicaBytes = absl::FunctionRef<int64_t(const Uuid& topic, int32_t partition, NodeId)>;

// The moves in progress in `image` (of `request`'s topics, or all), with
// their progress from `bytes`.
v1::ListPartitionReassignmentsResponse ListPartitionReassignments(
    const v1::ListPartitionReassignmentsRequest& request, const MetadataImage& image,
    ReplicaBytes bytes);

}  // namespace samsa::controller
