#include "broker/broker_config.h"

#include <map>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/cluster_config.h"
#include "common/node_config.h"
#include "common/string_view.h"
#include "storage/topic_config.h"

namespace samsa::broker {

const ConfigDef& BrokerConfigDef() {
  static const ConfigDef* def = [] {
    auto* d = new ConfigDef;
    DefineNodeKeys(d, {.role = "broker",
                       .listener = "port 0: pick one and log it",
                       .data_dir = "the partition logs and broker state"});
    d->Define({.name = "advertised.listener",
               .default_value = "",
               .doc = "host:port clients and other brokers dial; empty: the listener, with the "
                      "port it bound.",
               .validator = [](std::string_view v) {
                 return v.empty() ? absl::OkStatus() : ValidateHostPort(v);
               }});
    d->Define({.name = "controller.quorum.bootstrap",
               .doc = "host:port of one or more controllers; the broker finds the active one.",
               .validator = ValidateHostPortList});
    d->Define({.name = "broker.rack",
               .default_value = "",
               .doc = "The broker's rack; replicas of a partition are spread across racks."});
    const storage::LogConfig defaults;
    d->Define({.name = "log.segment.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(defaults.segment_bytes),
               .doc = "Default segment.bytes of topics: the active segment rolls at this size.",
               .min = 1024,
               .max = int64_t{1} << 31});
    d->Define({.name = "log.retention.ms",
               .type = ConfigType::kInt,
               .default_value = std::to_string(absl::ToInt64Milliseconds(defaults.retention_age)),
               .doc = "Default retention.ms of topics; -1 keeps segments forever.",
               .min = -1});
    d->Define({.name = "log.retention.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(defaults.retention_bytes),
               .doc = "Default retention.bytes of topics; -1: no size limit.",
               .min = -1});
    d->Define(
        {.name = "log.flush.policy",
         .default_value = "always",
         .doc = "Default flush.policy of topics: always (fsync before acking, group "
                "commit), interval:<ms>, or os.",
         .validator = [](std::string_view v) { return storage::ParseFlushPolicy(v).status(); }});
    d->Define({.name = "log.retention.check.interval.ms",
               .type = ConfigType::kInt,
               .default_value = "300000",
               .doc = "How often closed segments past retention.ms or retention.bytes are "
                      "deleted.",
               .min = 10});
    const storage::LogCleanerOptions cleaner;
    d->Define({.name = "log.cleaner.enable",
               .type = ConfigType::kBool,
               .default_value = "true",
               .doc = "Run the log cleaner, which compacts topics with cleanup.policy=compact "
                      "(__consumer_offsets among them)."});
    d->Define({.name = "log.cleaner.threads",
               .type = ConfigType::kInt,
               .default_value = std::to_string(cleaner.threads),
               .doc = "Threads cleaning compacted logs, one log each at a time.",
               .min = 1,
               .max = 64});
    d->Define({.name = "log.cleaner.io.max.bytes.per.second",
               .type = ConfigType::kInt,
               .default_value = "20971520",
               .doc = "Bytes per second the cleaner threads may read and write together, so "
                      "compaction leaves the disk to producers (see docs/benchmarks.md); a "
                      "broker with a disk of its own can take more; -1: no limit.",
               .min = -1});
    d->Define({.name = "log.cleaner.dedupe.buffer.size",
               .type = ConfigType::kInt,
               .default_value = std::to_string(cleaner.dedupe_buffer_bytes),
               .doc = "Memory for the cleaner's key maps (24 bytes per key), split between its "
                      "threads; a pass cleans as far as its map holds keys.",
               .min = 1 << 20});
    d->Define({.name = "log.cleaner.backoff.ms",
               .type = ConfigType::kInt,
               .default_value = std::to_string(absl::ToInt64Milliseconds(cleaner.backoff)),
               .doc = "How long the cleaner sleeps when no log needs cleaning.",
               .min = 1});
    d->Define({.name = "replica.lag.time.max.ms",
               .type = ConfigType::kInt,
               .default_value = "30000",
               .doc = "A follower that has not caught up with the leader's log end for this long "
                      "is removed from the ISR.",
               .min = 10});
    d->Define({.name = "max.incremental.fetch.session.cache.slots",
               .type = ConfigType::kInt,
               .default_value = "1000",
               .doc = "Followers' fetch sessions this broker keeps as a leader (a session lets a "
                      "follower name only the partitions that changed); when all are taken, a "
                      "follower fetches without one. 0: no sessions.",
               .min = 0,
               .max = 100000});
    d->Define(*ClusterConfigDef().Find(kReplicaMoveMaxBytesPerSecond));
    d->Define({.name = "offsets.topic.num.partitions",
               .type = ConfigType::kInt,
               .default_value = "50",
               .doc = "Partitions of __consumer_offsets, created on the first group request; a "
                      "group's coordinator leads partition murmur2(group) modulo this.",
               .min = 1,
               .max = 1000});
    d->Define({.name = "offsets.topic.replication.factor",
               .type = ConfigType::kInt,
               .default_value = "3",
               .doc = "Replication factor of __consumer_offsets (at most the brokers there are "
                      "when it is created).",
               .min = 1,
               .max = 100});
    d->Define({.name = "offsets.topic.segment.bytes",
               .type = ConfigType::kInt,
               .default_value = "104857600",
               .doc = "segment.bytes of __consumer_offsets: small, so the compacted topic's "
                      "closed segments (the ones the cleaner compacts) come soon.",
               .min = 1024,
               .max = int64_t{1} << 31});
    d->Define({.name = "offsets.retention.minutes",
               .type = ConfigType::kInt,
               .default_value = "10080",
               .doc = "The committed offsets of a group without members are deleted this long "
                      "after its last commit and after it was last seen with members.",
               .min = 1});
    d->Define({.name = "group.consumer.session.timeout.ms",
               .type = ConfigType::kInt,
               .default_value = "45000",
               .doc = "A group member not heard from for this long is removed and its "
                      "partitions go to the others.",
               .min = 100});
    d->Define({.name = "group.consumer.heartbeat.interval.ms",
               .type = ConfigType::kInt,
               .default_value = "5000",
               .doc = "How often group members are told to heartbeat.",
               .min = 10});
    d->Define(
        {.name = "group.consumer.assignor",
         .default_value = "uniform",
         .doc = "How a group's partitions are spread over its members: uniform "
                "(balanced, sticky) or range.",
         .validator = [](std::string_view v) { return AssignorNamed(std::string(v)).status(); }});
    return d;
  }();
  return *def;
}

absl::StatusOr<BrokerSettings> ToSettings(const Config& config) {
  absl::StatusOr<NodeSettings> node = ReadNodeSettings(config);
  if (!node.ok()) return node.status();
  BrokerSettings s;
  static_cast<NodeSettings&>(s) = *std::move(node);
  s.advertised_listener = config.GetString("advertised.listener");
  for (absl::string_view part :
       absl::StrSplit(config.GetString("controller.quorum.bootstrap"), ',')) {
    s.controllers.emplace_back(absl::StripAsciiWhitespace(part));
  }
  s.rack = config.GetString("broker.rack");
  const std::map<std::string, std::string> log_keys = {
      {"segment.bytes", std::to_string(config.GetInt("log.segment.bytes"))},
      {"retention.ms", std::to_string(config.GetInt("log.retention.ms"))},
      {"retention.bytes", std::to_string(config.GetInt("log.retention.bytes"))},
      {"flush.policy", config.GetString("log.flush.policy")},
  };
  absl::StatusOr<storage::TopicConfig> log =
      storage::ParseTopicConfig(storage::LogConfig(), log_keys);
  if (!log.ok()) return log.status();
  s.log_defaults = log->log;
  s.cleaner.enable = config.GetBool("log.cleaner.enable");
  s.cleaner.threads = static_cast<int>(config.GetInt("log.cleaner.threads"));
  s.cleaner.io_max_bytes_per_second =
      static_cast<double>(config.GetInt("log.cleaner.io.max.bytes.per.second"));
  s.cleaner.dedupe_buffer_bytes =
      static_cast<size_t>(config.GetInt("log.cleaner.dedupe.buffer.size"));
  s.cleaner.backoff = absl::Milliseconds(config.GetInt("log.cleaner.backoff.ms"));
  s.replica_lag_max = absl::Milliseconds(config.GetInt("replica.lag.time.max.ms"));
  s.fetch_session_slots =
      static_cast<size_t>(config.GetInt("max.incremental.fetch.session.cache.slots"));
  s.move_max_bytes_per_second = config.GetInt(kReplicaMoveMaxBytesPerSecond);
  s.retention_check_interval = absl::Milliseconds(config.GetInt("log.retention.check.interval.ms"));
  s.offsets_partitions = static_cast<int32_t>(config.GetInt("offsets.topic.num.partitions"));
  s.offsets_replication_factor =
      static_cast<int32_t>(config.GetInt("offsets.topic.replication.factor"));
  s.offsets_segment_bytes = config.GetInt("offsets.topic.segment.bytes");
  s.offsets_retention = absl::Minutes(config.GetInt("offsets.retention.minutes"));
  s.group_session_timeout = absl::Milliseconds(config.GetInt("group.consumer.session.timeout.ms"));
  s.group_heartbeat_interval =
      absl::Milliseconds(config.GetInt("group.consumer.heartbeat.interval.ms"));
  s.group_assignor = *AssignorNamed(config.GetString("group.consumer.assignor"));
  if (s.group_heartbeat_interval >= s.group_session_timeout) {
    return absl::InvalidArgumentError(
        "group.consumer.heartbeat.interval.ms: must be below group.consumer.session.timeout.ms");
  }
  return s;
}

}  // namespace samsa::broker
