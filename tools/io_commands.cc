// `samsa produce` and `samsa consume`.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <istream>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/clock.h"
#include "common/offset_records.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/json_output.h"
#include "tools/progress.h"

namespace samsa::tools {
namespace {

using nlohmann::json;

// The first SIGINT or SIGTERM asks a command to stop: it finishes what it
// can (a group's commit) within kStopTimeout. A second one exits at once.
std::atomic<bool> interrupted{false};
constexpr absl::Duration kStopTimeout = absl::Seconds(2);

void OnSignal(int) {
  if (!interrupted.exchange(true)) {
    constexpr char kStopping[] = "samsa: stopping (interrupt again to exit at once)\n";
    (void)!write(STDERR_FILENO, kStopping, sizeof(kStopping) - 1);
    return;
  }
  constexpr char kExiting[] = "samsa: interrupted again: exiting now\n";
  (void)!write(STDERR_FILENO, kExiting, sizeof(kExiting) - 1);
  _exit(130);
}

// __consumer_offsets holds serialized protobuf (common/offset_records.h):
// its records print decoded. Text: the key as [group,topic,partition], a
// tab, the value as offset=N leader_epoch=E metadata="M" commit_time=T
// (null: the offset was deleted).
std::string OffsetsRecordText(const client::ConsumerRecord& r) {
  absl::StatusOr<OffsetCommitRecord> c = DecodeOffsetCommitRecord(r.key, r.value);
  if (!c.ok()) {
    return absl::StrCat(absl::CHexEscape(r.key.value_or("null")), "\t(", c.status().message(), ")");
  }
  std::string out =
      absl::StrCat("[", c->key.group(), ",", c->key.topic(), ",", c->key.partition(), "]\t");
  if (!c->value.has_value()) return absl::StrCat(out, "null");
  const v1::OffsetCommitValue& v = *c->value;
  return absl::StrCat(out, "offset=", v.offset(), " leader_epoch=", v.leader_epoch(),
                      " metadata=\"", absl::CHexEscape(v.metadata()), "\" commit_time=",
                      absl::FormatTime(absl::RFC3339_full, absl::FromUnixMillis(v.commit_time_ms()),
                                       absl::UTCTimeZone()));
}

// JSON: "key" {"group","topic","partition"}, "value" {"offset",
// "leader_epoch","metadata","commit_time_ms"} or null; a record that is
// not a commit record keeps its bytes and says why in "error".
void AddOffsetsRecord(const client::ConsumerRecord& r, json* line) {
  absl::StatusOr<OffsetCommitRecord> c = DecodeOffsetCommitRecord(r.key, r.value);
  if (!c.ok()) {
    (*line)["key"] = RecordBytes(r.key);
    (*line)["value"] = RecordBytes(r.value);
    (*line)["error"] = std::string(c.status().message());
    return;
  }
  (*line)["key"] = {
      {"group", c->key.group()}, {"topic", c->key.topic()}, {"partition", c->key.partition()}};
  if (!c->value.has_value()) {
    (*line)["value"] = nullptr;
    return;
  }
  (*line)["value"] = {{"offset", c->value->offset()},
                      {"leader_epoch", c->value->leader_epoch()},
                      {"metadata", c->value->metadata()},
                      {"commit_time_ms", c->value->commit_time_ms()}};
}

absl::StatusOr<std::string> OneTopic(const Args& args, const char* command) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(command, " takes one topic name"));
  }
  return args.positional[0];
}

}  // namespace

const std::vector<FlagSpec> kProduceFlags = {{"key-separator"},   {"acks"},
                                             {"partition"},       {"compression"},
                                             {"delivery-report"}, {"null-value"}};

absl::Status RunProduce(const Context& ctx, const Args& args) {
  absl::StatusOr<std::string> topic = OneTopic(args, "produce");
  if (!topic.ok()) return topic.status();
  client::ProducerConfig config{.bootstrap = ctx.bootstrap};
  const std::string acks = args.Get("acks").value_or("all");
  if (acks == "all" || acks == "-1") {
    config.acks = -1;
  } else if (acks == "1" || acks == "0") {
    config.acks = acks == "1" ? 1 : 0;
    config.idempotence = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--acks '", acks, "': all, 1 or 0"));
  }
  absl::StatusOr<int64_t> partition = args.GetInt("partition", -1, 0, 1 << 20);
  if (!partition.ok()) return partition.status();
  if (std::optional<std::string> c = args.Get("compression")) {
    absl::StatusOr<client::Compression> codec = client::ParseCompression(*c);
    if (!codec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--compression '", *c, "': none, gzip, snappy, lz4 or zstd"));
    }
    config.compression = *codec;
  }
  const std::optional<std::string> separator = args.Get("key-separator");
  // A value equal to this is sent as null: a tombstone (Kafka's null.marker).
  const std::optional<std::string> null_value = args.Get("null-value");
  if (separator.has_value() && separator->empty()) {
    return absl::InvalidArgumentError("--key-separator must not be empty");
  }
  // The report: a file, or standard output for "-".
  std::ofstream report_file;
  std::ostream* report = nullptr;
  if (std::optional<std::string> path = args.Get("delivery-report")) {
    if (*path == "-") {
      report = ctx.out;
    } else {
      report_file.open(*path, std::ios::trunc);
      if (!report_file) return absl::FailedPreconditionError(absl::StrCat("cannot write ", *path));
      report = &report_file;
    }
  }
  config.request_timeout = ctx.timeout;
  config.max_block = ctx.timeout;
  config.delivery_timeout = 2 * ctx.timeout + config.linger;
  absl::StatusOr<std::unique_ptr<client::Producer>> producer = client::Producer::Create(config);
  if (!producer.ok()) return producer.status();

  absl::Mutex mu;
  int64_t sent = 0, failed = 0, delivered = 0;
  std::string first_error;
  auto record_outcome = [&](const std::optional<std::string>& key, const std::string& value,
                            const absl::StatusOr<client::RecordMetadata>& m) {
    absl::MutexLock lock(&mu);
    json line = {{"value", RecordBytes(value)}, {"key", RecordBytes(key)}};
    if (m.ok()) {
      ++delivered;
      line["partition"] = m->partition;
      line["offset"] = m->offset;
    } else {
      ++failed;
      if (first_error.empty()) first_error = std::string(m.status().message());
      line["error"] = std::string(m.status().message());
    }
    if (report != nullptr) PrintJson(*report, line);
  };
  Progress progress(ctx.err, "produced");
  std::string line;
  while (std::getline(*ctx.in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    client::ProducerRecord r{.topic = *topic};
    if (*partition >= 0) r.partition = static_cast<int32_t>(*partition);
    if (separator.has_value()) {
      const size_t at = line.find(*separator);
      if (at == std::string::npos) {
        record_outcome(std::nullopt, line,
                       absl::InvalidArgumentError(
                           absl::StrCat("no key separator '", *separator, "' in the line")));
        continue;
      }
      r.key = line.substr(0, at);
      r.value = line.substr(at + separator->size());
    } else {
      r.value = line;
    }
    std::optional<std::string> key = r.key;
    std::string value = *r.value;  // reported as typed
    if (null_value.has_value() && *r.value == *null_value) r.value = std::nullopt;
    (*producer)->Send(std::move(r), [&, key, value](absl::StatusOr<client::RecordMetadata> m) {
      record_outcome(key, value, m);
    });
    ++sent;
    progress.Update(sent);
  }
  absl::Status flushed = (*producer)->Close(config.delivery_timeout + ctx.timeout);
  progress.Done(sent);
  absl::MutexLock lock(&mu);
  if (report != nullptr) report->flush();
  if (failed > 0) {
    return absl::UnavailableError(absl::StrCat(
        failed, " of ", failed + delivered, " records were not delivered; first: ", first_error));
  }
  return flushed;
}

const std::vector<FlagSpec> kConsumeFlags = {{"group"},
                                             {"group-instance-id"},
                                             {"from-beginning", false},
                                             {"offset"},
                                             {"partition"},
                                             {"max-messages"},
                                             {"timeout-ms"},
                                             {"print-key", false},
                                             {"print-offset", false},
                                             {"print-partition", false}};

absl::Status RunConsume(const Context& ctx, const Args& args) {
  absl::StatusOr<std::string> topic = OneTopic(args, "consume");
  if (!topic.ok()) return topic.status();
  const std::optional<std::string> group = args.Get("group");
  if (group.has_value() && (args.Has("offset") || args.Has("partition"))) {
    return absl::InvalidArgumentError(
        "--group reads the partitions the group assigns: no --partition or --offset");
  }
  if (!group.has_value() && args.Has("group-instance-id")) {
    return absl::InvalidArgumentError("--group-instance-id needs --group");
  }
  absl::StatusOr<int64_t> partition = args.GetInt("partition", -1, 0, 1 << 20);
  absl::StatusOr<int64_t> offset = args.GetInt("offset", -1, 0, INT64_MAX);
  absl::StatusOr<int64_t> max_messages = args.GetInt("max-messages", -1, 1, INT64_MAX);
  absl::StatusOr<int64_t> timeout_ms = args.GetInt("timeout-ms", -1, 0, INT64_MAX);
  for (const absl::Status& st :
       {partition.status(), offset.status(), max_messages.status(), timeout_ms.status()}) {
    if (!st.ok()) return st;
  }
  if (*offset >= 0 && *partition < 0) {
    return absl::InvalidArgumentError("--offset needs --partition");
  }
  if (*offset >= 0 && args.Has("from-beginning")) {
    return absl::InvalidArgumentError("--offset and --from-beginning exclude each other");
  }
  absl::StatusOr<std::unique_ptr<client::Admin>> admin =
      client::Admin::Create({.bootstrap = ctx.bootstrap, .timeout = ctx.timeout});
  if (!admin.ok()) return admin.status();
  absl::StatusOr<client::TopicDescription> described = (*admin)->DescribeTopic(*topic);
  if (!described.ok()) return described.status();
  std::vector<client::TopicPartition> partitions;
  for (const v1::PartitionDescription& p : described->partitions) {
    if (*partition < 0 || p.partition() == *partition)
      partitions.push_back({*topic, p.partition()});
  }
  if (partitions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(*topic, " has no partition ", *partition));
  }
  // With a group, --from-beginning is where partitions without a committed
  // offset start (as Kafka's console consumer does); the group's offsets
  // win where there are some.
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer = client::Consumer::Create(
      {.bootstrap = ctx.bootstrap,
       .group_id = group.value_or(""),
       .client_id = "samsa-cli",
       .group_instance_id = args.Get("group-instance-id").value_or(""),
       .auto_offset_reset = args.Has("from-beginning") ? client::OffsetReset::kEarliest
                                                       : client::OffsetReset::kLatest,
       .request_timeout = ctx.timeout});
  if (!consumer.ok()) return consumer.status();
  if (group.has_value()) {
    // Each change of the partitions it reads, one line on stderr.
    auto report = [&ctx, &group](const char* what) {
      return [&ctx, &group, what](const std::vector<client::TopicPartition>& tps) {
        std::vector<std::string> names;
        for (const client::TopicPartition& tp : tps) {
          names.push_back(absl::StrCat(tp.topic, "-", tp.partition));
        }
        *ctx.err << "group " << *group << ": " << what << " " << absl::StrJoin(names, " ")
                 << std::endl;
      };
    };
    if (absl::Status st = (*consumer)->Subscribe({*topic}, {.on_revoked = report("revoked"),
                                                            .on_assigned = report("assigned"),
                                                            .on_lost = report("lost")});
        !st.ok()) {
      return st;
    }
  } else {
    (*consumer)->Assign(partitions);
  }
  if (*offset >= 0) {
    if (absl::Status st = (*consumer)->Seek(partitions[0], *offset); !st.ok()) return st;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  const bool key = args.Has("print-key"), off = args.Has("print-offset"),
             part = args.Has("print-partition");
  const bool offsets_topic = *topic == kOffsetsTopic;
  int64_t printed = 0;
  // What a group commits: per partition, the first record not printed.
  std::map<client::TopicPartition, int64_t> next_unprinted;
  std::set<client::TopicPartition> stopped;  // a record of it went unprinted
  absl::Time last_data = MonotonicNow();
  Progress progress(ctx.err, "consumed");
  while (!interrupted && (*max_messages < 0 || printed < *max_messages)) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (!records.ok()) return records.status();
    if (records->empty()) {
      if (*timeout_ms >= 0 && MonotonicNow() - last_data >= absl::Milliseconds(*timeout_ms)) break;
      continue;
    }
    last_data = MonotonicNow();
    for (const client::ConsumerRecord& r : *records) {
      if (*max_messages >= 0 && printed >= *max_messages) {
        // Returned but not printed: the group must read it next time.
        next_unprinted.try_emplace({r.topic, r.partition}, r.offset);
        stopped.insert({r.topic, r.partition});
        continue;
      }
      if (ctx.json) {
        json line = {
            {"partition", r.partition}, {"offset", r.offset}, {"timestamp", r.timestamp_ms}};
        if (offsets_topic) {
          AddOffsetsRecord(r, &line);
        } else {
          line["key"] = RecordBytes(r.key);
          line["value"] = RecordBytes(r.value);
        }
        PrintJson(*ctx.out, line);
      } else {
        std::string line;
        if (part) absl::StrAppend(&line, r.partition, "\t");
        if (off) absl::StrAppend(&line, r.offset, "\t");
        if (offsets_topic) {
          absl::StrAppend(&line, OffsetsRecordText(r));
        } else {
          if (key) absl::StrAppend(&line, r.key.value_or("null"), "\t");
          absl::StrAppend(&line, r.value.value_or("null"));
        }
        *ctx.out << line << "\n";
      }
      ++printed;
      next_unprinted[{r.topic, r.partition}] = r.offset + 1;
    }
    ctx.out->flush();
    progress.Update(printed);
  }
  progress.Done(printed);
  // Stopped by a signal, perhaps because the brokers are gone: the commit
  // and the leave get kStopTimeout between them, not the request timeout.
  const absl::Time stop_by = MonotonicNow() + (interrupted ? kStopTimeout : ctx.timeout);
  if (group.has_value()) {
    // Commit exactly what was printed (a poll may have returned more); the
    // consumer's Close then has nothing left to commit.
    for (const auto& [tp, offset] : next_unprinted) (void)(*consumer)->Seek(tp, offset);
    if (absl::Status st = (*consumer)->Commit(stop_by - MonotonicNow()); !st.ok()) {
      (*consumer)->Close(absl::ZeroDuration());
      std::vector<std::string> uncommitted;
      for (const auto& [tp, offset] : next_unprinted) {
        uncommitted.push_back(absl::StrCat(tp.topic, "-", tp.partition, " at ", offset));
      }
      return absl::Status(
          st.code(),
          absl::StrCat("group ", *group, ": could not commit ",
                       uncommitted.empty() ? "its positions" : absl::StrJoin(uncommitted, ", "),
                       " (the next run reads them again): ", st.message()));
    }
  }
  (*consumer)->Close(std::max(absl::ZeroDuration(), stop_by - MonotonicNow()));
  return absl::OkStatus();
}

}  // namespace samsa::tools
