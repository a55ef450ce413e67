// The topic-level config keys (Kafka's topic configs): what CreateTopics and
// AlterConfigs accept, checked by the controller before any record is
// written, and what a broker reads back from the metadata image to build a
// partition's LogConfig. A topic without an override uses the default
// listed here (the broker's log.* keys feed the same values).
//
//   cleanup.policy                   delete | compact | compact,delete
//   min.cleanable.dirty.ratio        clean once this share of the log is dirty
//   min.compaction.lag.ms            records younger than this stay uncompacted
//   max.compaction.lag.ms            clean a log whose dirty data is this old
//   delete.retention.ms              tombstones stay this long after a clean
//   retention.ms                     -1: keep forever
//   retention.bytes                  -1: unlimited
//   segment.bytes, segment.ms        when the active segment rolls
//   index.interval.bytes             bytes between sparse index entries
//   flush.policy                     always | interval:<ms> | os
//   message.timestamp.type           CreateTime | LogAppendTime
//   max.message.bytes                largest record batch accepted
//   min.insync.replicas              ISR size acks=all needs
//   unclean.leader.election.enable   elect a non-ISR replica when no ISR
//                                    member is alive (may lose data)
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/status.h"
#include "storage/log_config.h"

namespace samsa::storage {

// A topic's configs in typed form: its log's, and the limits its partitions
// enforce. The defaults here are the table's defaults.
struct TopicConfig {
  LogConfig log;
  int32_t min_insync_replicas = 1;
  int64_t max_message_bytes = 1048588;
  bool unclean_leader_election = false;
};

const ConfigDef& TopicConfigDef();

// Checks `value` against the table and sets key `key` of `config`; the
// error names the key.
absl::Status ApplyTopicConfig(std::string_view key, std::string_view value, TopicConfig* config);

// A topic's config: `log_defaults` (the broker's log.* keys) and the table's
// other defaults, with `overrides` (key -> value, e.g. the metadata image's
// topic configs) applied.
template <typename Map>
absl::StatusOr<TopicConfig> ParseTopicConfig(const LogConfig& log_defaults, const Map& overrides) {
  TopicConfig config{.log = log_defaults};
  for (const auto& [key, value] : overrides) RETURN_IF_ERROR(ApplyTopicConfig(key, value, &config));
  return config;
}

}  // namespace samsa::storage
