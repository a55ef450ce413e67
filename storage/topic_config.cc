#include "storage/topic_config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/string_view.h"
#include "storage/log_config.h"

namespace samsa::storage {
namespace {

absl::Status ValidateRatio(std::string_view v) {
  double ratio = 0;
  if (!absl::SimpleAtod(ToAbsl(v), &ratio) || !(ratio >= 0 && ratio <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ToAbsl(v), "' is not a ratio between 0 and 1"));
  }
  return absl::OkStatus();
}

absl::Duration LagMillis(int64_t ms) {
  return ms == INT64_MAX ? absl::InfiniteDuration() : absl::Milliseconds(ms);
}

}  // namespace

const ConfigDef& TopicConfigDef() {
  static const ConfigDef* def = [] {
    auto* d = new ConfigDef;
    const TopicConfig topic_defaults;
    const LogConfig& defaults = topic_defaults.log;
    d->Define({.name = "cleanup.policy",
               .type = ConfigType::kString,
               .default_value = "delete",
               .doc = "What happens to old data: delete (retention deletes old segments), "
                      "compact (the log cleaner keeps the latest record of each key), or "
                      "compact,delete (both).",
               .validator = [](std::string_view v) { return ParseCleanupPolicy(v).status(); }});
    d->Define({.name = "min.cleanable.dirty.ratio",
               .type = ConfigType::kString,
               .default_value = "0.5",
               .doc = "A compacted log is cleaned once the share of its bytes not yet cleaned "
                      "reaches this (0 to 1).",
               .validator = ValidateRatio});
    d->Define({.name = "min.compaction.lag.ms",
               .type = ConfigType::kInt,
               .default_value = "0",
               .doc = "A record stays uncompacted at least this long after its timestamp.",
               .min = 0});
    d->Define({.name = "max.compaction.lag.ms",
               .type = ConfigType::kInt,
               .default_value = std::to_string(INT64_MAX),
               .doc = "A log holding a record not cleaned after this long is cleaned whatever "
                      "its dirty ratio.",
               .min = 1});
    d->Define(
        {.name = "delete.retention.ms",
         .type = ConfigType::kInt,
         .default_value = std::to_string(absl::ToInt64Milliseconds(defaults.delete_retention)),
         .doc = "How long a tombstone (a record with a null value) stays readable after "
                "the cleaner first compacted the batch holding it.",
         .min = 0});
    d->Define({.name = "retention.ms",
               .type = ConfigType::kInt,
               .default_value = std::to_string(absl::ToInt64Milliseconds(defaults.retention_age)),
               .doc = "Closed segments whose newest record is older than this are deleted; -1 "
                      "keeps them forever.",
               .min = -1});
    d->Define({.name = "retention.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(defaults.retention_bytes),
               .doc = "Oldest closed segments are deleted while a partition holds more than "
                      "this; -1: no limit.",
               .min = -1});
    d->Define({.name = "segment.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(defaults.segment_bytes),
               .doc = "The active segment rolls once it holds this many bytes.",
               .min = 1024,
               .max = int64_t{1} << 31});
    d->Define({.name = "segment.ms",
               .type = ConfigType::kInt,
               .default_value = std::to_string(absl::ToInt64Milliseconds(defaults.segment_age)),
               .doc = "The active segment rolls once its first record is this old.",
               .min = 1});
    d->Define({.name = "index.interval.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(defaults.index_interval_bytes),
               .doc = "Bytes of log between two entries of the sparse offset index.",
               .min = 0});
    d->Define({.name = "flush.policy",
               .type = ConfigType::kString,
               .default_value = "always",
               .doc = "always (fsync before acking, group commit), interval:<ms>, or os.",
               .validator = [](std::string_view v) { return ParseFlushPolicy(v).status(); }});
    d->Define({.name = "message.timestamp.type",
               .type = ConfigType::kEnum,
               .default_value = "CreateTime",
               .doc = "Record timestamps as the producer set them, or the broker's append time.",
               .choices = {"CreateTime", "LogAppendTime"}});
    d->Define({.name = "max.message.bytes",
               .type = ConfigType::kInt,
               .default_value = std::to_string(topic_defaults.max_message_bytes),
               .doc = "The largest record batch a partition accepts.",
               .min = 0});
    d->Define({.name = "min.insync.replicas",
               .type = ConfigType::kInt,
               .default_value = std::to_string(topic_defaults.min_insync_replicas),
               .doc = "acks=all writes need at least this many ISR members.",
               .min = 1,
               .max = INT32_MAX});
    d->Define({.name = "unclean.leader.election.enable",
               .type = ConfigType::kBool,
               .default_value = topic_defaults.unclean_leader_election ? "true" : "false",
               .doc = "With no live ISR member, elect another replica (acknowledged data may be "
                      "lost) instead of leaving the partition offline."});
    return d;
  }();
  return *def;
}

absl::Status ApplyTopicConfig(std::string_view key, std::string_view value, TopicConfig* config) {
  RETURN_IF_ERROR(TopicConfigDef().Validate(key, value));
  LogConfig& c = config->log;
  int64_t n = 0;
  const bool numeric = absl::SimpleAtoi(ToAbsl(value), &n);
  if (key == "segment.bytes" && numeric) {
    c.segment_bytes = n;
  } else if (key == "segment.ms" && numeric) {
    c.segment_age = absl::Milliseconds(n);
  } else if (key == "retention.bytes" && numeric) {
    c.retention_bytes = n;
  } else if (key == "retention.ms" && numeric) {
    c.retention_age = n < 0 ? absl::InfiniteDuration() : absl::Milliseconds(n);
  } else if (key == "index.interval.bytes" && numeric) {
    c.index_interval_bytes = n;
  } else if (key == "flush.policy") {
    ASSIGN_OR_RETURN(c.flush_policy, ParseFlushPolicy(value));
  } else if (key == "cleanup.policy") {
    ASSIGN_OR_RETURN(c.cleanup_policy, ParseCleanupPolicy(value));
  } else if (key == "min.cleanable.dirty.ratio") {
    (void)absl::SimpleAtod(ToAbsl(value), &c.min_cleanable_dirty_ratio);  // validated above
  } else if (key == "min.compaction.lag.ms" && numeric) {
    c.min_compaction_lag = LagMillis(n);
  } else if (key == "max.compaction.lag.ms" && numeric) {
    c.max_compaction_lag = LagMillis(n);
  } else if (key == "delete.retention.ms" && numeric) {
    c.delete_retention = absl::Milliseconds(n);
  } else if (key == "message.timestamp.type") {
    c.timestamp_type =
        value == "LogAppendTime" ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
  } else if (key == "min.insync.replicas" && numeric) {
    config->min_insync_replicas = static_cast<int32_t>(n);
  } else if (key == "max.message.bytes" && numeric) {
    config->max_message_bytes = n;
  } else if (key == "unclean.leader.election.enable") {
    config->unclean_leader_election = value == "true";
  }
  return absl::OkStatus();
}

}  // namespace samsa::storage
