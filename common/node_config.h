// The config keys both processes take, defined once so their names, types,
// defaults and checks cannot drift apart between samsa-broker and
// samsa-controller:
//
//   node.id                        the process's id, unique in the cluster
//   listener                       host:port of its gRPC server
//   data.dir                       where it keeps its state
//   metrics.listener               host:port serving /metrics; empty: off
//   broker.session.timeout.ms      a broker silent this long is fenced
//   broker.heartbeat.interval.ms   how often a broker heartbeats; below the
//                                  session timeout
//
// Each process's table (broker_config.h, controller_config.h) calls
// DefineNodeKeys with the words that differ: what the listener serves and
// what the data directory holds.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/ids.h"

namespace samsa {

struct NodeKeyDocs {
  const char* role;      // "broker" | "controller"
  const char* listener;  // what the gRPC server serves
  const char* data_dir;  // what data.dir holds
};

void DefineNodeKeys(ConfigDef* def, const NodeKeyDocs& docs);

// The values of those keys in a loaded config.
struct NodeSettings {
  NodeId node_id;
  std::string listener;
  std::string data_dir;
  std::string metrics_listener;
  absl::Duration session_timeout;
  absl::Duration heartbeat_interval;
};

// Reads them, checking the heartbeat interval is below the session timeout.
absl::StatusOr<NodeSettings> ReadNodeSettings(const Config& config);

}  // namespace samsa
