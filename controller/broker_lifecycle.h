// Broker lifecycle and partition-state decisions (KIP-631 shape), as pure
// functions of the pending batch's image, like topic_admin.h.
//
//   register    a new incarnation gets a new broker epoch and starts fenced;
//               the previous incarnation's epoch is stale from then on, and
//               its leaderships move as for a fence. Retrying with the same
//               incarnation returns the same epoch.
//   heartbeat   unfences a fenced broker once it has applied metadata up to
//               its own registration (it knows the current partition state).
//   fence       on a missed session: the broker leaves every ISR it can and
//               its leaderships move (partition_changes.h).
//   shutdown    controlled shutdown: marked shutting down, leaderships moved
//               to other ISR members; once it leads nothing it is fenced and
//               told it may stop.
//   AlterPartition  a leader's ISR change, accepted only from the current
//               leader with the current leader epoch and partition epoch.
//   decommission  an operator's: the broker takes no new replica and the
//               balancer moves every replica off it; refused when the other
//               brokers that may take replicas are fewer than a partition it
//               holds needs (INVALID_REPLICATION_FACTOR, naming one).
//               Recommission takes it back (INVALID_REQUEST unless
//               decommissioning). Unknown broker: BROKER_ID_NOT_REGISTERED.
//   unregister  a decommissioned broker that holds no replica and is
//               fenced (it stopped) leaves the cluster.
//
// Errors: BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH (an old incarnation
// or epoch), INVALID_REQUEST (malformed), and for AlterPartition
// UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
// FENCED_LEADER_EPOCH (older epoch), UNKNOWN_LEADER_EPOCH (newer),
// INVALID_UPDATE_VERSION (partition epoch differs), INELIGIBLE_REPLICA (a
// fenced or shutting-down broker added to the ISR).
#pragma once

#include "common/wire_error.h"
#include "controller/pending_batch.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::controller {

inline constexpr int64_t kProducerIdBlockSize = 1000;

v1::RegisterBrokerResponse RegisterBroker(const v1::RegisterBrokerRequest& request,
                                          PendingBatch& batch);

// `committed` is the image this controller has applied: a broker has caught
// up only with what is committed, not with the pending decisions.
v1::BrokerHeartbeatResponse BrokerHeartbeat(const v1::BrokerHeartbeatRequest& request,
                                            const MetadataImage& committed, PendingBatch& batch);

// Fences `broker` (registered with `epoch`) after a missed session.
absl::Status FenceBroker(NodeId broker, int64_t epoch, PendingBatch& batch);

v1::ControlledShutdownResponse ControlledShutdown(const v1::ControlledShutdownRequest& request,
                                                  PendingBatch& batch);

v1::AllocateProducerIdsResponse AllocateProducerIds(const v1::AllocateProducerIdsRequest& request,
                                                    PendingBatch& batch);

v1::AlterPartitionResponse AlterPartition(const v1::AlterPartitionRequest& request,
                                          PendingBatch& batch);

v1::DecommissionBrokerResponse DecommissionBroker(const v1::DecommissionBrokerRequest& request,
                                                  PendingBatch& batch);

// Unregisters every decommissioned broker that holds no replica and is
// fenced; returns how many.
absl::StatusOr<int64_t> UnregisterDecommissioned(PendingBatch& batch);

// NONE, or why (`broker`, `epoch`) is not a current registration.
v1::Error CheckBrokerEpoch(const MetadataImage& image, int32_t broker, int64_t epoch);

}  // namespace samsa::controller
