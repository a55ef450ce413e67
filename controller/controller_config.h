// samsa-controller's configuration: the keys it accepts (docs/configuration.md),
// the checks across keys, and the settings the process runs with.
//
//   node.id                               this controller's id (required)
//   listener                              host:port of its gRPC server (required)
//   controller.quorum.voters              id@host:port,... 1, 3 or 5 voters,
//                                         node.id among them (required)
//   data.dir                              Raft log, hard state, snapshots (required)
//   metrics.listener                      host:port for /metrics; empty: off
//   broker.session.timeout.ms             a broker silent this long is fenced
//   broker.heartbeat.interval.ms          what brokers are told to use; below
//                                         the session timeout
//   num.partitions, default.replication.factor, min.insync.replicas,
//   auto.create.topics.enable             topic defaults
//   controller.quorum.election.timeout.ms Raft election timeout (ticks are a tenth)
//   metadata.snapshot.every.entries       applied entries between snapshots
//   auto.leader.rebalance.enable,         preferred leader election
//   leader.imbalance.check.interval.seconds,  (partition_changes.h)
//   leader.imbalance.per.broker.percentage
//   partition.autobalancer.mode, .node.unavailable.timeout.ms,
//   .concurrent.moves, .max.disk.usage.percent   the balancer (balancer.h)
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/node_config.h"
#include "controller/balancer.h"
#include "controller/topic_admin.h"

namespace samsa::controller {

const ConfigDef& ControllerConfigDef();

// "1@h:p,2@h:p": ids unique and >= 0, addresses host:port.
absl::StatusOr<std::map<NodeId, std::string>> ParseVoters(std::string_view text);

// node.id, listener, data.dir, metrics.listener and the broker session keys
// come from NodeSettings (common/node_config.h).
struct ControllerSettings : NodeSettings {
  std::map<NodeId, std::string> voters;
  absl::Duration election_timeout;
  int64_t snapshot_every = 0;
  TopicDefaults topic_defaults;
  // Zero: no preferred leader election.
  absl::Duration leader_rebalance_interval;
  int64_t leader_imbalance_percent = 10;
  AutoBalancerSettings balancer;
};

// The settings of a loaded config, after the checks across keys; errors
// name the key.
absl::StatusOr<ControllerSettings> ToSettings(const Config& config);

}  // namespace samsa::controller
