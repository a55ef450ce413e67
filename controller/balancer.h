// The partition balancer's planner: a pure function from the metadata image
// (and what brokers report of their disks) to the reassignments that even
// out the cluster. The active controller runs it on its own
// (partition.autobalancer.mode) and for `samsa cluster balance`.
//
// Brokers that may take replicas: eligible (registered, unfenced, not
// shutting down), not decommissioning, not to be evacuated, and with their
// disk no fuller than max_disk_usage. A plan, in order:
//   1. Evacuate: every replica on a broker that is decommissioning, to be
//      evacuated (unreachable too long), or no longer registered goes to the
//      broker that may take it holding the fewest replicas, preferring racks
//      the partition does not use yet. A partition with no such broker keeps
//      the replica (reported in `unplaceable`).
//   2. Replicas: while the brokers that may take replicas differ by more than
//      one replica, a replica moves from the fullest to the emptiest that
//      does not hold the partition and keeps its racks apart (followers
//      first: moving a leader's replica moves its leadership too).
//   3. Disk bytes (continuous mode, `even_disk`): while the heaviest and
//      the lightest broker differ by more than a tenth of the mean bytes per
//      broker (and by at least min_disk_gap_bytes), bytes go from the
//      heaviest to the lightest: one replica moves when the heaviest holds
//      more replicas, else two swap places (the one coming back at most half
//      the size of the one going), so replica counts stay even. Each move
//      narrows their gap, so plans converge. A replica's bytes are its
//      partition's size as its leader last reported; unreported partitions
//      count as empty.
//   4. Leaders: while they differ by more than one preferred leadership (the
//      first replica, which the controller's preferred leader election
//      makes the leader), the replica order of a partition is changed so
//      the one with the fewest leads it: no data moves for that.
// Partitions already moving are left alone and count as where they go.
// Steps 1 to 3 together start at most `max_moves` data moves, minus those
// in progress. A balanced cluster gets an empty plan: every step stops as
// soon as its counts are within one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metadata_image.h"

namespace samsa::controller {

// What a broker last reported of its disk; -1: unknown.
struct BrokerDisk {
  int64_t log_bytes = -1;
  int64_t total_bytes = -1;
  int64_t free_bytes = -1;
};

// What the brokers last reported: their disks, and the size of each
// partition (from its leader).
struct ClusterUsage {
  absl::flat_hash_map<NodeId, BrokerDisk> disks;
  absl::flat_hash_map<std::pair<Uuid, int32_t>, int64_t> partition_bytes;
};

// partition.autobalancer.mode: off (only decommissions are drained),
// node_add_remove (also when a broker joins, or has been unreachable for
// node.unavailable.timeout), continuous (at all times).
enum class AutoBalancerMode { kOff, kNodeAddRemove, kContinuous };
absl::StatusOr<AutoBalancerMode> ParseAutoBalancerMode(std::string_view text);
const char* AutoBalancerModeName(AutoBalancerMode mode);

// The active controller's balancer (partition.autobalancer.*).
struct AutoBalancerSettings {
  AutoBalancerMode mode = AutoBalancerMode::kNodeAddRemove;
  absl::Duration node_unavailable_timeout = absl::Minutes(10);
  int64_t concurrent_moves = 50;
  double max_disk_usage = 0.8;
};

struct BalanceOptions {
  // Steps 2 to 4; without them a plan only evacuates.
  bool even_out = true;
  // Step 3 (with even_out).
  bool even_disk = false;
  double disk_gap_ratio = 0.1;
  int64_t min_disk_gap_bytes = int64_t{64} << 20;
  int64_t max_moves = 50;
  // A broker whose disk is fuller than this fraction takes no new replica.
  double max_disk_usage = 0.8;
  // Brokers whose replicas go elsewhere although they are registered (they
  // have been unreachable for too long).
  absl::flat_hash_set<NodeId> evacuate = {};
};

struct PlannedMove {
  std::string topic;
  int32_t partition = 0;
  std::vector<NodeId> from;
  std::vector<NodeId> to;
  // The same brokers in another order: only the preferred leader changes.
  bool reorder_only() const;
};

struct BalancePlan {
  std::vector<PlannedMove> moves;
  // Partitions a replica of which must leave its broker but has nowhere to
  // go (too few brokers may take replicas), as "topic-partition".
  std::vector<std::string> unplaceable;
  int64_t data_moves() const;
};

BalancePlan PlanBalance(const MetadataImage& image, const ClusterUsage& usage,
                        const BalanceOptions& options);

}  // namespace samsa::controller
