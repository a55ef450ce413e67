#include "controller/controller_config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/node_config.h"
#include "common/string_view.h"
#include "storage/topic_config.h"

namespace samsa::controller {

absl::StatusOr<std::map<NodeId, std::string>> ParseVoters(std::string_view text) {
  std::map<NodeId, std::string> voters;
  for (absl::string_view part : absl::StrSplit(ToAbsl(text), ',')) {
    const absl::string_view entry = absl::StripAsciiWhitespace(part);
    const size_t at = entry.find('@');
    int32_t id = -1;
    if (at == absl::string_view::npos || !absl::SimpleAtoi(entry.substr(0, at), &id) || id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "' is not id@host:port with an id >= 0"));
    }
    const std::string address(entry.substr(at + 1));
    if (absl::Status st = ValidateHostPort(address); !st.ok()) return st;
    if (!voters.emplace(NodeId(id), address).second) {
      return absl::InvalidArgumentError(absl::StrCat("node id ", id, " is listed twice"));
    }
  }
  if (voters.size() != 1 && voters.size() != 3 && voters.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("lists ", voters.size(), " voters; a quorum has 1, 3 or 5"));
  }
  return voters;
}

const ConfigDef& ControllerConfigDef() {
  static const ConfigDef* def = [] {
    auto* d = new ConfigDef;
    DefineNodeKeys(d, {.role = "controller",
                       .listener = "Controller, Raft, health, reflection",
                       .data_dir = "the Raft log, hard state and snapshots"});
    d->Define({.name = "controller.quorum.voters",
               .doc = "The quorum: id@host:port for each of 1, 3 or 5 controllers.",
               .validator = [](std::string_view v) { return ParseVoters(v).status(); }});
    d->Define({.name = "num.partitions",
               .type = ConfigType::kInt,
               .default_value = "1",
               .doc = "Partitions of a topic created without a count.",
               .min = 1,
               .max = kMaxPartitions});
    d->Define({.name = "default.replication.factor",
               .type = ConfigType::kInt,
               .default_value = "1",
               .doc = "Replicas of a topic created without a replication factor.",
               .min = 1,
               .max = 32767});
    // The topic key of the same name (Kafka's habit), as the default of topics
    // that do not set it.
    ConfigKey min_insync = *storage::TopicConfigDef().Find("min.insync.replicas");
    min_insync.doc = "min.insync.replicas of topics that do not set it.";
    d->Define(std::move(min_insync));
    d->Define({.name = "auto.create.topics.enable",
               .type = ConfigType::kBool,
               .default_value = "false",
               .doc = "Whether a broker may create a topic a client names but that does not "
                      "exist."});
    d->Define({.name = "controller.quorum.election.timeout.ms",
               .type = ConfigType::kInt,
               .default_value = "1000",
               .doc = "A follower that hears no leader for this long (plus up to as much "
                      "jitter) starts an election.",
               .min = 10});
    d->Define({.name = "metadata.snapshot.every.entries",
               .type = ConfigType::kInt,
               .default_value = "10000",
               .doc = "Applied metadata log entries between snapshots of the image.",
               .min = 1});
    d->Define({.name = "auto.leader.rebalance.enable",
               .type = ConfigType::kBool,
               .default_value = "true",
               .doc = "Whether the active controller moves partitions back to their preferred "
                      "leader (first replica) once it is in the ISR again, as after a restart."});
    d->Define({.name = "leader.imbalance.check.interval.seconds",
               .type = ConfigType::kInt,
               .default_value = "300",
               .doc = "How often the active controller looks for partitions away from their "
                      "preferred leader.",
               .min = 1});
    d->Define({.name = "leader.imbalance.per.broker.percentage",
               .type = ConfigType::kInt,
               .default_value = "10",
               .doc = "A broker's preferred partitions are moved back once more than this "
                      "percentage of them is led elsewhere.",
               .min = 0,
               .max = 100});
    d->Define({.name = "partition.autobalancer.mode",
               .default_value = "node_add_remove",
               .doc = "When the active controller moves replicas to even out brokers: off (only "
                      "to drain a decommissioned broker), node_add_remove (also when a broker "
                      "joins or has been unreachable for partition.autobalancer.node."
                      "unavailable.timeout.ms), continuous (whenever brokers differ by more "
                      "than one replica or leadership, or by more than a tenth of the mean "
                      "disk bytes per broker).",
               .validator = [](std::string_view v) { return ParseAutoBalancerMode(v).status(); }});
    d->Define({.name = "partition.autobalancer.node.unavailable.timeout.ms",
               .type = ConfigType::kInt,
               .default_value = "600000",
               .doc = "A broker fenced this long has its replicas re-created on other brokers, "
                      "so partitions get their replication factor back (not in mode off).",
               .min = 1000});
    d->Define({.name = "partition.autobalancer.concurrent.moves",
               .type = ConfigType::kInt,
               .default_value = "50",
               .doc = "Partitions the balancer moves at a time (reassignments started by hand "
                      "count too).",
               .min = 1,
               .max = 100000});
    d->Define({.name = "partition.autobalancer.max.disk.usage.percent",
               .type = ConfigType::kInt,
               .default_value = "80",
               .doc = "A broker whose data directory's disk is fuller than this gets no new "
                      "replica from the balancer.",
               .min = 1,
               .max = 100});
    return d;
  }();
  return *def;
}

absl::StatusOr<ControllerSettings> ToSettings(const Config& config) {
  absl::StatusOr<NodeSettings> node = ReadNodeSettings(config);
  if (!node.ok()) return node.status();
  ControllerSettings s;
  static_cast<NodeSettings&>(s) = *std::move(node);
  absl::StatusOr<std::map<NodeId, std::string>> voters =
      ParseVoters(config.GetString("controller.quorum.voters"));
  if (!voters.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("controller.quorum.voters: ", voters.status().message()));
  }
  s.voters = std::move(*voters);
  if (!s.voters.contains(s.node_id)) {
    std::vector<int32_t> ids;
    for (const auto& [id, address] : s.voters) ids.push_back(id.value());
    return absl::InvalidArgumentError(absl::StrCat("node.id ", s.node_id.value(),
                                                   " is not among controller.quorum.voters (",
                                                   absl::StrJoin(ids, ", "), ")"));
  }
  if (s.voters.size() > 1 && absl::EndsWith(s.listener, ":0")) {
    return absl::InvalidArgumentError(
        "listener: port 0 works only for a single-voter quorum (peers dial the voter address)");
  }
  s.election_timeout = absl::Milliseconds(config.GetInt("controller.quorum.election.timeout.ms"));
  s.snapshot_every = config.GetInt("metadata.snapshot.every.entries");
  s.topic_defaults.partitions = static_cast<int32_t>(config.GetInt("num.partitions"));
  s.topic_defaults.replication_factor =
      static_cast<int32_t>(config.GetInt("default.replication.factor"));
  s.topic_defaults.min_insync_replicas = static_cast<int32_t>(config.GetInt("min.insync.replicas"));
  s.topic_defaults.auto_create = config.GetBool("auto.create.topics.enable");
  if (config.GetBool("auto.leader.rebalance.enable")) {
    s.leader_rebalance_interval =
        absl::Seconds(config.GetInt("leader.imbalance.check.interval.seconds"));
  }
  s.leader_imbalance_percent = config.GetInt("leader.imbalance.per.broker.percentage");
  s.balancer.mode = *ParseAutoBalancerMode(config.GetString("partition.autobalancer.mode"));
  s.balancer.node_unavailable_timeout =
      absl::Milliseconds(config.GetInt("partition.autobalancer.node.unavailable.timeout.ms"));
  s.balancer.concurrent_moves = config.GetInt("partition.autobalancer.concurrent.moves");
  s.balancer.max_disk_usage =
      static_cast<double>(config.GetInt("partition.autobalancer.max.disk.usage.percent")) / 100;
  return s;
}

}  // namespace samsa::controller
