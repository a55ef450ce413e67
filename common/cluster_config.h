// Cluster-wide dynamic configs: keys set on the whole cluster with
// AlterConfigs (`samsa cluster alter-config`), kept in the metadata image
// (ConfigRecords without a topic id) and taken by every broker at once in
// place of its config file's value for the same key. The brokers' config
// tables define these keys from this one, so each has one definition.
//
//   replica.move.max.bytes.per.second   how fast a broker copies data into
//                                       replicas a reassignment gives it
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/btree_map.h"
#include "common/config.h"

namespace samsa {

inline constexpr char kReplicaMoveMaxBytesPerSecond[] = "replica.move.max.bytes.per.second";

const ConfigDef& ClusterConfigDef();

// The value of int key `key` in `cluster` (the image's cluster configs), or
// `fallback` when it is not set there.
int64_t ClusterInt(const absl::btree_map<std::string, std::string>& cluster, const std::string& key,
                   int64_t fallback);

}  // namespace samsa
