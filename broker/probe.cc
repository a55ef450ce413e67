#include "broker/probe.h"

#include <algorithm>

#include "common/metrics.h"

namespace samsa::broker {
namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
}

}  // namespace
BrokerProbe::BrokerProbe(prometheus::Registry& r, NodeId self)
    : self_(self),
      fenced_(NewGauge(r, "samsa_broker_fenced", "1 while the controller has this broker fenced")),
      epoch_(NewGauge(r, "samsa_broker_epoch", "Broker epoch of this registration")),
      offset_(NewGauge(r, "samsa_broker_metadata_offset", "Offset of the applied metadata image")),
      leaderships_(NewGauge(r, "samsa_broker_leaderships", "Partitions this broker leads")),
      partitions_(NewGauge(r, "samsa_broker_partitions", "Partition replicas on this broker")),
      under_replicated_(NewGauge(r, "samsa_broker_under_replicated_partitions",
                                 "Partitions led here whose ISR is smaller than their replicas")),
      offline_(NewGauge(r, "samsa_broker_offline_partitions",
                        "Partitions of the cluster without a leader")),
      bytes_in_(
          NewCounterFamily(r, "samsa_broker_bytes_in_total", "Record bytes appended as leader")),
      records_in_(
          NewCounterFamily(r, "samsa_broker_records_in_total", "Records appended as leader")),
      bytes_out_(NewCounterFamily(r, "samsa_broker_bytes_out_total",
                                  "Record bytes returned to consumers")),
      records_out_(NewCounterFamily(r, "samsa_broker_records_out_total",
                                    "Records in the batches returned to consumers")),
      requests_(NewCounterFamily(r, "samsa_broker_requests_total", "Requests served, per RPC")),
      request_seconds_(prometheus::BuildHistogram()
                           .Name("samsa_broker_request_seconds")
                           .Help("Time to answer a request, per RPC")
                           .Register(r)),
      isr_changes_(NewCounterFamily(r, "samsa_broker_isr_changes_total",
                                    "ISR shrinks and expands asked of the controller")),
      acks_all_waiting_(NewGauge(r, "samsa_broker_acks_all_waiting",
                                 "acks=all produce partitions waiting for the ISR")),
      log_bytes_(NewGauge(r, "samsa_broker_log_bytes", "Bytes of all partition logs here")),
      log_dir_capacity_(NewGauge(r, "samsa_broker_log_dir_capacity_bytes",
                                 "Size of the file system holding data.dir")),
      log_dir_free_(NewGauge(r, "samsa_broker_log_dir_free_bytes",
                             "Space left on the file system holding data.dir")),
      flush_seconds_(prometheus::BuildHistogram()
                         .Name("samsa_broker_flush_seconds")
                         .Help("Time of each partition log fsync")
                         .Register(r)
                         .Add({}, LatencyBuckets())),
      follower_lag_(NewGauge(r, "samsa_broker_follower_lag_records",
                             "Largest lag of a follower behind a leader here")),
      truncated_below_hw_(NewCounter(r, "samsa_broker_truncations_below_high_watermark_total",
                                     "Follower truncations that cut committed records")),
      groups_(prometheus::BuildGauge()
                  .Name("samsa_broker_groups")
                  .Help("Consumer groups coordinated here, by state")
                  .Register(r)),
      group_members_(NewGauge(r, "samsa_broker_group_members",
                              "Members of the consumer groups coordinated here")),
      rebalances_(NewCounter(r, "samsa_broker_group_rebalances_total",
                             "Target assignments computed for the groups coordinated here")),
      commit_seconds_(prometheus::BuildHistogram()
                          .Name("samsa_broker_offset_commit_seconds")
                          .Help("Time to commit offsets (acks=all to __consumer_offsets)")
                          .Register(r)
                          .Add({}, LatencyBuckets())),
      consumer_lag_(prometheus::BuildGauge()
                        .Name("samsa_broker_consumer_lag_records")
                        .Help("Records between a group's committed offset and the high watermark")
                        .Register(r)),
      cleaner_read_(NewCounter(r, "samsa_broker_log_cleaner_bytes_read_total",
                               "Bytes of compacted logs the cleaner read")),
      cleaner_written_(NewCounter(r, "samsa_broker_log_cleaner_bytes_written_total",
                                  "Bytes of cleaned segments the cleaner wrote")),
      cleaner_removed_(NewCounter(r, "samsa_broker_log_cleaner_records_removed_total",
                                  "Records compaction removed (older values, expired tombstones)")),
      cleaner_errors_(NewCounter(r, "samsa_broker_log_cleaner_errors_total",
                                 "Cleaning passes that failed and marked a log uncleanable")),
      cleaner_throttled_(NewCounter(r, "samsa_broker_log_cleaner_throttled_seconds_total",
                                    "Time the cleaner slept to stay within its I/O budget")),
      cleaner_dirty_ratio_(NewGauge(r, "samsa_broker_log_cleaner_max_dirty_ratio",
                                    "Largest share of not-yet-cleaned bytes of a compacted log")),
      cleaner_since_clean_(
          NewGauge(r, "samsa_broker_log_cleaner_max_seconds_since_last_clean",
                   "Longest time a compacted log here has gone without a cleaning pass")),
      cleaner_uncleanable_(NewGauge(r, "samsa_broker_log_cleaner_uncleanable_logs",
                                    "Compacted logs the cleaner gave up on (see the log)")) {
  fenced_.Set(1);
  // Both series exist from the start, so a dashboard shows 0, not "no data".
  for (const char* change : {"shrink", "expand"}) isr_changes_.Add({{"change", change}});
}

void BrokerProbe::OnImage(const MetadataImage& image) {
  offset_.Set(static_cast<double>(image.offset()));
  int64_t leads = 0, under = 0, offline = 0;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) {
      offline += p.leader == kNoNode ? 1 : 0;
      if (p.leader != self_) continue;
      ++leads;
      under += p.isr.size() < p.replicas.size() ? 1 : 0;
    }
  }
  leaderships_.Set(static_cast<double>(leads));
  under_replicated_.Set(static_cast<double>(under));
  offline_.Set(static_cast<double>(offline));
}

void BrokerProbe::OnAppend(const std::string& topic, int64_t bytes, int64_t records) {
  bytes_in_.Add({{"topic", topic}}).Increment(static_cast<double>(bytes));
  records_in_.Add({{"topic", topic}}).Increment(static_cast<double>(records));
}

void BrokerProbe::OnFetch(const std::string& topic, int64_t bytes, int64_t records) {
  bytes_out_.Add({{"topic", topic}}).Increment(static_cast<double>(bytes));
  records_out_.Add({{"topic", topic}}).Increment(static_cast<double>(records));
}

void BrokerProbe::OnRequest(const std::string& api, double seconds) {
  requests_.Add({{"api", api}}).Increment();
  request_seconds_.Add({{"api", api}}, LatencyBuckets()).Observe(seconds);
}

void BrokerProbe::SetGroups(const std::map<std::string, int64_t>& by_state, int64_t members,
                            int64_t rebalances) {
  for (const auto& [state, n] : by_state) {
    groups_.Add({{"state", state}}).Set(static_cast<double>(n));
  }
  group_members_.Set(static_cast<double>(members));
  absl::MutexLock lock(&mu_);
  if (rebalances > rebalances_seen_) {
    rebalances_.Increment(static_cast<double>(rebalances - rebalances_seen_));
  }
  rebalances_seen_ = rebalances;
}

void BrokerProbe::SetConsumerLag(const std::vector<Lag>& lags) {
  absl::MutexLock lock(&mu_);
  std::vector<prometheus::Gauge*> series;
  for (const Lag& l : lags) {
    prometheus::Gauge& g = consumer_lag_.Add(
        {{"group", l.group}, {"topic", l.topic}, {"partition", std::to_string(l.partition)}});
    g.Set(static_cast<double>(l.records));
    series.push_back(&g);
  }
  // Groups no longer coordinated here (or deleted) stop being exported.
  for (prometheus::Gauge* old : lag_series_) {
    if (std::find(series.begin(), series.end(), old) == series.end()) consumer_lag_.Remove(old);
  }
  lag_series_ = std::move(series);
}

void BrokerProbe::OnIsrChange(IsrChange change) {
  isr_changes_.Add({{"change", change == IsrChange::kShrink ? "shrink" : "expand"}}).Increment();
}

}  // namespace samsa::broker

namespace samsa::broker {

void BrokerProbe::SetCleaner(const storage::CleanerMetrics& m) {
  absl::MutexLock lock(&mu_);
  const storage::CleanerMetrics& last = cleaner_last_;
  cleaner_read_.Increment(static_cast<double>(m.bytes_read - last.bytes_read));
  cleaner_written_.Increment(static_cast<double>(m.bytes_written - last.bytes_written));
  cleaner_removed_.Increment(static_cast<double>(m.records_removed - last.records_removed));
  cleaner_errors_.Increment(static_cast<double>(m.errors - last.errors));
  cleaner_throttled_.Increment(absl::ToDoubleSeconds(m.throttled - last.throttled));
  cleaner_dirty_ratio_.Set(m.max_dirty_ratio);
  cleaner_since_clean_.Set(absl::ToDoubleSeconds(m.max_time_since_last_clean));
  cleaner_uncleanable_.Set(static_cast<double>(m.uncleanable_logs));
  cleaner_last_ = m;
}

}  // namespace samsa::broker
