#include "common/node_config.h"

#include "absl/strings/str_cat.h"

namespace samsa {
namespace {

absl::Status ValidateOptionalHostPort(std::string_view v) {
  return v.empty() ? absl::OkStatus() : ValidateHostPort(v);
}

}  // namespace

void DefineNodeKeys(ConfigDef* def, const NodeKeyDocs& docs) {
  def->Define({.name = "node.id",
               .type = ConfigType::kInt,
               .doc = absl::StrCat("This ", docs.role, "'s id, unique in the cluster."),
               .min = 0,
               .max = INT32_MAX});
  def->Define({.name = "listener",
               .doc = absl::StrCat("host:port the gRPC server binds (", docs.listener, ")."),
               .validator = ValidateHostPort});
  def->Define({.name = "data.dir", .doc = absl::StrCat("Directory of ", docs.data_dir, ".")});
  def->Define({.name = "metrics.listener",
               .default_value = "",
               .doc = "host:port serving Prometheus /metrics; empty turns it off.",
               .validator = ValidateOptionalHostPort});
  def->Define({.name = "broker.session.timeout.ms",
               .type = ConfigType::kInt,
               .default_value = "9000",
               .doc = "A broker that has not heartbeated for this long is fenced by the "
                      "controllers; a broker's controlled shutdown gives up moving its "
                      "leaderships after this long. Set the same on controllers and brokers.",
               .min = 10});
  def->Define({.name = "broker.heartbeat.interval.ms",
               .type = ConfigType::kInt,
               .default_value = "2000",
               .doc = "How often a broker heartbeats the active controller; below "
                      "broker.session.timeout.ms.",
               .min = 1});
}

absl::StatusOr<NodeSettings> ReadNodeSettings(const Config& config) {
  NodeSettings s;
  s.node_id = NodeId(static_cast<int32_t>(config.GetInt("node.id")));
  s.listener = config.GetString("listener");
  s.data_dir = config.GetString("data.dir");
  if (s.data_dir.empty()) return absl::InvalidArgumentError("data.dir: must not be empty");
  s.metrics_listener = config.GetString("metrics.listener");
  s.session_timeout = absl::Milliseconds(config.GetInt("broker.session.timeout.ms"));
  s.heartbeat_interval = absl::Milliseconds(config.GetInt("broker.heartbeat.interval.ms"));
  if (s.heartbeat_interval >= s.session_timeout) {
    return absl::InvalidArgumentError(
        "broker.heartbeat.interval.ms: must be below broker.session.timeout.ms");
  }
  return s;
}

}  // namespace samsa
