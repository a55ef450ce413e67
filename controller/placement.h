// Replica placement for new partitions.
//
// Every eligible broker (registered, unfenced, not shutting down) that is
// not being decommissioned can take replicas. For each new partition, in order:
//   * the leader (first replica, the preferred leader) is the broker leading
//     the fewest partitions cluster-wide, then holding the fewest replicas;
//   * each follower is the broker holding the fewest replicas, preferring
//     racks the partition does not use yet when brokers have racks.
// Remaining ties go to a broker order shuffled by `seed`, so the result is a
// function of the image and the seed (the controller passes the topic id),
// and placements of different topics do not all start on the same broker.
// Counting the whole cluster keeps replica and leader counts even across
// topics: 100 topics x 12 partitions x 3 replicas on 5 brokers end with 720
// replicas and 240 leaders on every broker (placement_test).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metadata_image.h"

namespace samsa::controller {

// Replica lists for `count` new partitions of `replication_factor` each.
// INVALID_ARGUMENT when fewer eligible brokers than replication_factor exist
// (the message names both numbers).
absl::StatusOr<std::vector<std::vector<NodeId>>> PlaceReplicas(const MetadataImage& image,
                                                               int count, int replication_factor,
                                                               uint64_t seed);

}  // namespace samsa::controller
