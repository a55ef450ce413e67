// samsa-broker's configuration: the keys it accepts (docs/configuration.md), the
// checks across keys, and the settings the process runs with.
//
//   node.id                       this broker's id (required)
//   listener                      host:port of its gRPC server (required)
//   advertised.listener           host:port clients and replicas dial; empty:
//                                 the listener (with the port it bound)
//   controller.quorum.bootstrap   host:port,... of the controllers (required)
//   data.dir                      partition logs and broker state (required)
//   metrics.listener              host:port for /metrics; empty: off
//   broker.rack                   rack for replica placement; empty: none
//   broker.heartbeat.interval.ms  how often it heartbeats the controller
//   broker.session.timeout.ms     how long the controller waits for a
//                                 heartbeat; also bounds controlled shutdown
//   log.segment.bytes, log.retention.ms, log.retention.bytes,
//   log.flush.policy              log defaults (topic configs override)
//   replica.lag.time.max.ms       a follower not caught up for this long
//                                 leaves the ISR
//   log.retention.check.interval.ms  how often retention runs
//   log.cleaner.enable, log.cleaner.threads,
//   log.cleaner.io.max.bytes.per.second, log.cleaner.dedupe.buffer.size,
//   log.cleaner.backoff.ms        the log cleaner (compacted topics)
//   offsets.topic.num.partitions, offsets.topic.replication.factor,
//   offsets.topic.segment.bytes   __consumer_offsets, created on first use
//   offsets.retention.minutes     offsets of groups without members expire
//   group.consumer.session.timeout.ms, group.consumer.heartbeat.interval.ms,
//   group.consumer.assignor       consumer-group membership
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/assignor.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/node_config.h"
#include "storage/log_cleaner.h"
#include "storage/log_config.h"

namespace samsa::broker {

const ConfigDef& BrokerConfigDef();

// node.id, listener, data.dir, metrics.listener and the broker session keys
// come from NodeSettings (common/node_config.h).
struct BrokerSettings : NodeSettings {
  std::string advertised_listener;  // empty: derived from the bound listener
  std::vector<std::string> controllers;
  std::string rack;
  storage::LogConfig log_defaults;
  storage::LogCleanerOptions cleaner;
  absl::Duration replica_lag_max;
  size_t fetch_session_slots = 1000;
  int64_t move_max_bytes_per_second = -1;
  absl::Duration retention_check_interval;
  int32_t offsets_partitions = 50;
  int32_t offsets_replication_factor = 3;
  int64_t offsets_segment_bytes = 100 << 20;
  absl::Duration offsets_retention;
  absl::Duration group_session_timeout;
  absl::Duration group_heartbeat_interval;
  Assignor group_assignor = nullptr;
};

// The settings of a loaded config, after the checks across keys.
absl::StatusOr<BrokerSettings> ToSettings(const Config& config);

}  // namespace samsa::broker
