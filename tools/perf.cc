// `samsa perf produce|consume|e2e`: load generators with latency
// percentiles (docs/cli.md).
//
//   produce  N records of B random bytes through the Producer, optionally
//            paced at R records/s; latency = Send to its acknowledgement.
//   consume  N records from the start of every partition; latency = how
//            long each Poll that returned records waited for them.
//   e2e      a producer paced at R records/s and a consumer in one process;
//            latency = Send to the consumer seeing the record (each record
//            carries its send time).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/clock.h"
#include "common/endian.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/histogram.h"
#include "tools/json_output.h"
#include "tools/progress.h"

namespace samsa::tools {
namespace {

using nlohmann::json;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string topic;
  int64_t records = 0;
  int64_t record_size = 100;
  int64_t throughput = -1;  // records/s; -1: as fast as possible
  int64_t key_space = 0;    // > 0: record i has key i mod key_space (a compacted topic)
  std::string group;        // perf consume: read as this group (committing)
  client::ProducerConfig producer;
};

absl::StatusOr<Options> ParseOptions(const Context& ctx, const Args& args, bool producing) {
  if (args.positional.size() != 2) {
    return absl::InvalidArgumentError("perf takes produce|consume|e2e and one topic name");
  }
  Options o;
  o.topic = args.positional[1];
  absl::StatusOr<int64_t> records = args.GetInt("records", -1, 1, INT64_MAX);
  absl::StatusOr<int64_t> size = args.GetInt("record-size", -1, 8, 1 << 20);
  absl::StatusOr<int64_t> rate = args.GetInt("throughput", -1, 1, INT64_MAX);
  absl::StatusOr<int64_t> batch = args.GetInt("batch-size", 65536, 1, 64 << 20);
  absl::StatusOr<int64_t> linger = args.GetInt("linger-ms", 5, 0, 60000);
  absl::StatusOr<int64_t> key_space = args.GetInt("key-space", 0, 1, INT64_MAX);
  for (const absl::Status& st : {records.status(), size.status(), rate.status(), batch.status(),
                                 linger.status(), key_space.status()}) {
    if (!st.ok()) return st;
  }
  if (*records < 0) return absl::InvalidArgumentError("perf needs --records N");
  if (producing && *size < 0) return absl::InvalidArgumentError("perf needs --record-size B");
  o.records = *records;
  o.record_size = *size;
  o.throughput = *rate;
  o.key_space = *key_space;
  o.producer.bootstrap = ctx.bootstrap;
  o.producer.batch_size = static_cast<int32_t>(*batch);
  o.producer.linger = absl::Milliseconds(*linger);
  o.producer.request_timeout = ctx.timeout;
  o.producer.max_block = ctx.timeout;
  o.producer.delivery_timeout = 2 * ctx.timeout + o.producer.linger;
  const std::string acks = args.Get("acks").value_or("all");
  if (acks == "1" || acks == "0") {
    o.producer.acks = acks == "1" ? 1 : 0;
    o.producer.idempotence = false;
  } else if (acks != "all" && acks != "-1") {
    return absl::InvalidArgumentError(absl::StrCat("--acks '", acks, "': all, 1 or 0"));
  }
  if (std::optional<std::string> c = args.Get("compression")) {
    absl::StatusOr<client::Compression> codec = client::ParseCompression(*c);
    if (!codec.ok()) return absl::InvalidArgumentError(absl::StrCat("--compression '", *c, "'"));
    o.producer.compression = *codec;
  }
  o.group = args.Get("group").value_or("");
  return o;
}

// Sleeps until record `i` is due at `rate` records/s from `start`.
void Pace(int64_t i, int64_t rate, absl::Time start) {
  if (rate <= 0) return;
  const absl::Time due = start + absl::Seconds(static_cast<double>(i) / static_cast<double>(rate));
  const absl::Duration wait = due - MonotonicNow();
  if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
}

void Report(const Context& ctx, const char* what, int64_t records, int64_t bytes, int64_t errors,
            absl::Duration elapsed, const LatencyHistogram& h) {
  const double secs = std::max(1e-6, absl::ToDoubleSeconds(elapsed));
  const double rps = static_cast<double>(records) / secs;
  const double mbps = static_cast<double>(bytes) / (1 << 20) / secs;
  auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
  if (ctx.json) {
    PrintJson(*ctx.out, json{{"records", records},
                             {"errors", errors},
                             {"seconds", secs},
                             {"records_per_sec", rps},
                             {"mb_per_sec", mbps},
                             {"p50_ms", ms(h.Quantile(0.5))},
                             {"p99_ms", ms(h.Quantile(0.99))},
                             {"p999_ms", ms(h.Quantile(0.999))},
                             {"max_ms", ms(h.max())}});
    return;
  }
  *ctx.out << absl::StrFormat(
      "%d records %s in %.2f s: %.0f records/s, %.2f MB/s; latency ms p50 %.2f, p99 %.2f, "
      "p99.9 %.2f, max %.2f%s\n",
      records, what, secs, rps, mbps, ms(h.Quantile(0.5)), ms(h.Quantile(0.99)),
      ms(h.Quantile(0.999)), ms(h.max()),
      errors > 0 ? absl::StrCat(" (", errors, " failed)") : std::string());
}

struct Latencies {
  explicit Latencies(bool e2e) : e2e(e2e) {}

  const bool e2e;  // the consumer measures; the producer only counts
  absl::Mutex mu;
  LatencyHistogram histogram ABSL_GUARDED_BY(mu);
  int64_t errors ABSL_GUARDED_BY(mu) = 0;
  int64_t done ABSL_GUARDED_BY(mu) = 0;
  std::string first_error ABSL_GUARDED_BY(mu);
};

// Sends o.records records of o.record_size bytes; each payload starts with
// its send time (steady clock, ns).
absl::Status ProduceAll(const Context& ctx, const Options& o, client::Producer& producer,
                        Latencies& lat) {
  std::string payload(static_cast<size_t>(o.record_size), '\0');
  std::mt19937_64 rng(1);
  for (char& c : payload) c = static_cast<char>('a' + rng() % 26);
  Progress progress(ctx.err, "sent");
  const absl::Time start = MonotonicNow();
  for (int64_t i = 0; i < o.records; ++i) {
    Pace(i, o.throughput, start);
    const int64_t sent_at = SteadyNanos();
    StoreBE(reinterpret_cast<uint8_t*>(payload.data()), sent_at);
    std::optional<std::string> key;
    if (o.key_space > 0) key = absl::StrFormat("%010d", i % o.key_space);
    producer.Send({.topic = o.topic, .key = std::move(key), .value = payload},
                  // Two words: the callback is kept without a heap allocation.
                  [&lat, sent_at](absl::StatusOr<client::RecordMetadata> m) {
                    absl::MutexLock lock(&lat.mu);
                    ++lat.done;
                    if (!m.ok()) {
                      if (lat.errors++ == 0) lat.first_error = std::string(m.status().message());
                      return;
                    }
                    if (!lat.e2e) lat.histogram.Record((SteadyNanos() - sent_at) / 1000);
                  });
    if (i % 1024 == 0) progress.Update(i);
  }
  progress.Done(o.records);
  return producer.Flush(o.producer.delivery_timeout + ctx.timeout);
}

absl::StatusOr<std::vector<client::TopicPartition>> Partitions(const Context& ctx,
                                                               const std::string& topic) {
  absl::StatusOr<std::unique_ptr<client::Admin>> admin =
      client::Admin::Create({.bootstrap = ctx.bootstrap, .timeout = ctx.timeout});
  if (!admin.ok()) return admin.status();
  absl::StatusOr<client::TopicDescription> t = (*admin)->DescribeTopic(topic);
  if (!t.ok()) return t.status();
  std::vector<client::TopicPartition> out;
  for (const v1::PartitionDescription& p : t->partitions) out.push_back({topic, p.partition()});
  return out;
}

absl::Status PerfProduce(const Context& ctx, const Options& o) {
  absl::StatusOr<std::unique_ptr<client::Producer>> producer = client::Producer::Create(o.producer);
  if (!producer.ok()) return producer.status();
  Latencies lat(/*e2e=*/false);
  const absl::Time start = MonotonicNow();
  absl::Status flushed = ProduceAll(ctx, o, **producer, lat);
  const absl::Duration elapsed = MonotonicNow() - start;
  (void)(*producer)->Close(ctx.timeout);
  absl::MutexLock lock(&lat.mu);
  Report(ctx, "sent", lat.done - lat.errors, (lat.done - lat.errors) * o.record_size, lat.errors,
         elapsed, lat.histogram);
  if (lat.errors > 0) {
    return absl::UnavailableError(
        absl::StrCat(lat.errors, " records failed; first: ", lat.first_error));
  }
  return flushed;
}

absl::Status PerfConsume(const Context& ctx, const Options& o) {
  absl::StatusOr<std::vector<client::TopicPartition>> partitions = Partitions(ctx, o.topic);
  if (!partitions.ok()) return partitions.status();
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = ctx.bootstrap,
                                .group_id = o.group,
                                .client_id = "samsa-perf",
                                .auto_offset_reset = client::OffsetReset::kEarliest,
                                .request_timeout = ctx.timeout});
  if (!consumer.ok()) return consumer.status();
  if (o.group.empty()) {
    (*consumer)->Assign(*partitions);
  } else if (absl::Status st = (*consumer)->Subscribe({o.topic}); !st.ok()) {
    return st;
  }
  LatencyHistogram h;
  int64_t records = 0, bytes = 0;
  Progress progress(ctx.err, "consumed");
  const absl::Time start = MonotonicNow();
  absl::Time last_data = start;
  while (records < o.records) {
    const absl::Time before = MonotonicNow();
    absl::StatusOr<std::vector<client::ConsumerRecord>> got =
        (*consumer)->Poll(absl::Milliseconds(200));
    if (!got.ok()) return got.status();
    if (got->empty()) {
      if (MonotonicNow() - last_data > ctx.timeout) {
        return absl::DeadlineExceededError(absl::StrCat("only ", records, " of ", o.records,
                                                        " records arrived; none for ",
                                                        absl::FormatDuration(ctx.timeout)));
      }
      continue;
    }
    last_data = MonotonicNow();
    h.Record(absl::ToInt64Microseconds(last_data - before));
    for (const client::ConsumerRecord& r : *got) {
      bytes += static_cast<int64_t>(r.value ? r.value->size() : 0);
    }
    records += static_cast<int64_t>(got->size());
    progress.Update(records);
  }
  progress.Done(records);
  Report(ctx, "consumed", records, bytes, 0, MonotonicNow() - start, h);
  (*consumer)->Close();
  return absl::OkStatus();
}

absl::Status PerfEndToEnd(const Context& ctx, const Options& o) {
  absl::StatusOr<std::vector<client::TopicPartition>> partitions = Partitions(ctx, o.topic);
  if (!partitions.ok()) return partitions.status();
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = ctx.bootstrap,
                                .auto_offset_reset = client::OffsetReset::kLatest,
                                .fetch_max_wait = absl::Milliseconds(100),
                                .request_timeout = ctx.timeout});
  if (!consumer.ok()) return consumer.status();
  (*consumer)->Assign(*partitions);
  for (const client::TopicPartition& tp : *partitions) {
    // Start from the end as it is now: only this run's records count.
    if (absl::StatusOr<int64_t> at = (*consumer)->Position(tp, ctx.timeout); !at.ok()) {
      return at.status();
    }
  }
  absl::StatusOr<std::unique_ptr<client::Producer>> producer = client::Producer::Create(o.producer);
  if (!producer.ok()) return producer.status();
  Latencies lat(/*e2e=*/true);
  LatencyHistogram e2e;
  int64_t seen = 0;
  absl::Status consumed;
  std::thread reader([&] {
    absl::Time last_data = MonotonicNow();
    while (seen < o.records) {
      absl::StatusOr<std::vector<client::ConsumerRecord>> got =
          (*consumer)->Poll(absl::Milliseconds(100));
      if (!got.ok()) {
        consumed = got.status();
        return;
      }
      const int64_t now = SteadyNanos();
      if (got->empty() && MonotonicNow() - last_data > 2 * ctx.timeout) {
        consumed = absl::DeadlineExceededError(
            absl::StrCat("the consumer saw ", seen, " of ", o.records, " records"));
        return;
      }
      for (const client::ConsumerRecord& r : *got) {
        if (!r.value.has_value() || r.value->size() < 8) continue;
        e2e.Record((now - LoadBE<int64_t>(reinterpret_cast<const uint8_t*>(r.value->data()))) /
                   1000);
        ++seen;
        last_data = MonotonicNow();
      }
    }
  });
  const absl::Time start = MonotonicNow();
  absl::Status flushed = ProduceAll(ctx, o, **producer, lat);
  reader.join();
  const absl::Duration elapsed = MonotonicNow() - start;
  (void)(*producer)->Close(ctx.timeout);
  (*consumer)->Close();
  if (!flushed.ok()) return flushed;
  if (!consumed.ok()) return consumed;
  absl::MutexLock lock(&lat.mu);
  Report(ctx, "end to end", seen, seen * o.record_size, lat.errors, elapsed, e2e);
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagSpec> kPerfFlags = {{"records"},     {"record-size"}, {"throughput"},
                                          {"acks"},        {"batch-size"},  {"linger-ms"},
                                          {"compression"}, {"group"},       {"key-space"}};

absl::Status RunPerf(const Context& ctx, const Args& args) {
  const std::string mode = args.positional.empty() ? "" : args.positional[0];
  if (mode != "produce" && mode != "consume" && mode != "e2e") {
    return absl::InvalidArgumentError("perf takes produce, consume or e2e");
  }
  absl::StatusOr<Options> o = ParseOptions(ctx, args, mode != "consume");
  if (!o.ok()) return o.status();
  if (mode == "produce") return PerfProduce(ctx, *o);
  if (mode == "consume") return PerfConsume(ctx, *o);
  if (o->throughput < 0) return absl::InvalidArgumentError("perf e2e needs --throughput R");
  return PerfEndToEnd(ctx, *o);
}

}  // namespace samsa::tools
