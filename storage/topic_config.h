// The topic-level config keys (Kafka's topic configs): what CreateTopics and
// AlterConfigs accept, checked by the controller before any record is
// written, and what a broker reads back from the metadata image to build a
// partition's LogConfig. A topic without an override uses the default
// listed here (the broker's log.* keys feed the same values).
//
//   cleanup.policy                   delete (compaction is not offered)
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

#include "common/config.h"

namespace samsa::storage {

const ConfigDef& TopicConfigDef();

}  // namespace samsa::storage
