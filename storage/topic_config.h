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

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "storage/log_config.h"

namespace samsa::storage {

const ConfigDef& TopicConfigDef();

// `defaults` with a topic's overrides of the LogConfig keys (segment.*,
// retention.*, index.interval.bytes, flush.policy, message.timestamp.type,
// cleanup.policy and the compaction keys)
// applied. Each value is checked against the table; an error names the key.
absl::StatusOr<LogConfig> TopicLogConfig(const LogConfig& defaults,
                                         const std::map<std::string, std::string>& overrides);

}  // namespace samsa::storage
