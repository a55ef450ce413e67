// Leader election and ISR upkeep when brokers come and go (docs/architecture.md §6,
// replication; KIP-631's fencing; Kafka's PartitionChangeBuilder).
//
// A broker is *eligible* when registered, unfenced and not shutting down.
// For each partition, Reconcile computes:
//   * ISR: the eligible members. It never becomes empty: if no member is
//     eligible the ISR is left as it was, so whichever member returns first
//     can lead again without losing acknowledged data.
//   * leader: kept while eligible. Otherwise the first replica, in replica
//     order, that is an eligible ISR member, with leader epoch + 1. With
//     none, a leader that is shutting down but still alive keeps leading
//     (controlled shutdown cannot move it; it stays in the ISR). Otherwise,
//     if the topic sets unclean.leader.election.enable, the first eligible
//     replica leads with ISR = {itself} (data may be lost; counted). Else the
//     partition is offline: leader -1.
// Every change is a PartitionChange record added to the batch, so it is
// committed through Raft before any broker acts on it.
#pragma once

#include <cstdint>

#include "common/metadata_image.h"
#include "controller/pending_batch.h"

namespace samsa::controller {

struct ReconcileResult {
  int64_t leader_changes = 0;
  int64_t unclean_elections = 0;
};

// Reconciles every partition of the batch's image.
absl::StatusOr<ReconcileResult> Reconcile(PendingBatch& batch);

// Partitions `broker` leads in `image` that another eligible member of
// their ISR could lead instead: what a controlled shutdown waits for. A
// partition nobody else can take stays with the broker until it stops, then
// is offline until it returns (as after a crash, with no unclean election).
int64_t MovableLeaderships(const MetadataImage& image, NodeId broker);

bool IsEligible(const MetadataImage& image, NodeId broker);

// Preferred leader election (Kafka's auto.leader.rebalance.enable): after a
// broker restarts, the partitions it led stay with whoever took them over
// until moved back. A partition whose leader is not its first replica (the
// preferred leader, placement.h) moves back to it when that replica is an
// eligible ISR member, for each broker that does not lead more than
// `imbalance_percent` of the partitions it prefers
// (leader.imbalance.per.broker.percentage). A clean election: leader epoch
// + 1, the ISR unchanged. Returns how many partitions moved.
absl::StatusOr<int64_t> ElectPreferredLeaders(PendingBatch& batch, int64_t imbalance_percent);

}  // namespace samsa::controller
