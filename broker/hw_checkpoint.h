// The high-watermark checkpoint: the last high watermark of each partition
// replica on this broker, so a restarted broker does not show consumers a
// high watermark lower than the one they already read below (Kafka's
// replication-offset-checkpoint). This comment is the format's
// specification (copied to docs/formats.md).
//
// File `<data.dir>/logs/high-watermark-checkpoint`, text, replaced atomically
// (Env::WriteFileAtomically: write a temporary file, fsync, rename, fsync the
// directory) every five seconds while anything changed (Kafka's
// replica.high.watermark.checkpoint.interval.ms), and at clean
// shutdown:
//   line 1: the format version, `0`
//   line 2: the number of entries N
//   N lines: `<topic> <partition> <high watermark>`, separated by one space
// (topic names cannot contain spaces).
//
// Crash behaviour: the file is old or new, never torn; an old one holds high
// watermarks that were true then, which only makes the restarted broker
// start lower. On load a replica's high watermark is the checkpointed value
// capped at its log end (what recovery kept). A file that does not parse is
// reported and ignored: every high watermark then starts at its log start,
// which is safe (consumers wait until followers report again).
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/log_manager.h"

namespace samsa::broker {

using HighWatermarks = absl::flat_hash_map<storage::TopicPartitionName, Offset>;

std::string EncodeHighWatermarks(const HighWatermarks& hws);
absl::StatusOr<HighWatermarks> DecodeHighWatermarks(std::string_view text);

// Reads `path`; an absent file is an empty checkpoint.
absl::StatusOr<HighWatermarks> ReadHighWatermarks(storage::Env* env, const std::string& path);
absl::Status WriteHighWatermarks(storage::Env* env, const std::string& path,
                                 const HighWatermarks& hws);

}  // namespace samsa::broker
