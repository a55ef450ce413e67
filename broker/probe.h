// BrokerProbe: the broker's Prometheus metrics (style rule 12 in docs/development.md).
//
//   samsa_broker_fenced                      1 while the controller has this broker fenced
//   samsa_broker_epoch                       the broker epoch of this registration
//   samsa_broker_metadata_offset             offset of the applied metadata image
//   samsa_broker_leaderships                 partitions this broker leads
//   samsa_broker_partitions                  partition replicas on this broker
//   samsa_broker_under_replicated_partitions led here with an ISR smaller than the replicas
//   samsa_broker_offline_partitions          partitions of the cluster without a leader
//   samsa_broker_bytes_in_total{topic}       record bytes appended as leader
//   samsa_broker_records_in_total{topic}     records appended as leader
//   samsa_broker_bytes_out_total{topic}      record bytes returned to consumers
//   samsa_broker_records_out_total{topic}    records in the batches returned to consumers
//   samsa_broker_requests_total{api}         requests served, per RPC
//   samsa_broker_request_seconds{api}        time to answer, per RPC
//   samsa_broker_isr_changes_total{change}   ISR shrinks and expands asked of the controller
//   samsa_broker_acks_all_waiting            acks=all produce partitions waiting for the ISR
//   samsa_broker_log_bytes                   bytes of all partition logs here
//   samsa_broker_log_dir_capacity_bytes      size of the file system holding data.dir
//   samsa_broker_log_dir_free_bytes          space left there
//   samsa_broker_flush_seconds               time of each partition log fsync
//   samsa_broker_follower_lag_records        largest lag of a follower behind a leader here
//   samsa_broker_groups{state}               consumer groups coordinated here, by state
//   samsa_broker_group_members               members of the groups coordinated here
//   samsa_broker_group_rebalances_total      target assignments computed for them
//   samsa_broker_offset_commit_seconds       time to commit offsets (count: commits)
//   samsa_broker_consumer_lag_records{group,topic,partition}
//                                            records between a group's committed offset
//                                            and the partition's high watermark, for the
//                                            groups coordinated here (every 2 s)
//   samsa_broker_truncations_below_high_watermark_total
//                                            follower truncations that cut committed records
//                                            (must stay 0 with flush.policy=always and clean
//                                            elections, docs/architecture.md §6)
//   samsa_broker_log_cleaner_bytes_read_total, _bytes_written_total
//                                            compaction I/O (rate(): bytes per second)
//   samsa_broker_log_cleaner_records_removed_total
//                                            records compaction removed
//   samsa_broker_log_cleaner_errors_total    passes that failed, marking a log uncleanable
//   samsa_broker_log_cleaner_throttled_seconds_total
//                                            time slept for log.cleaner.io.max.bytes.per.second
//   samsa_broker_log_cleaner_max_dirty_ratio largest dirty share of a compacted log here
//   samsa_broker_log_cleaner_max_seconds_since_last_clean
//                                            longest a compacted log went without a pass
//   samsa_broker_log_cleaner_uncleanable_logs
//                                            compacted logs the cleaner gave up on
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metadata_image.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "storage/log_cleaner.h"

namespace samsa::broker {

class BrokerProbe {
 public:
  BrokerProbe(prometheus::Registry& registry, NodeId self);

  void OnRegistered(int64_t epoch) { epoch_.Set(static_cast<double>(epoch)); }
  void OnFenced(bool fenced) { fenced_.Set(fenced ? 1 : 0); }
  void OnImage(const MetadataImage& image);
  void OnAppend(const std::string& topic, int64_t bytes, int64_t records);
  void OnFetch(const std::string& topic, int64_t bytes, int64_t records);
  void OnFlush(absl::Duration d) { flush_seconds_.Observe(absl::ToDoubleSeconds(d)); }
  void OnRequest(const std::string& api, double seconds);
  enum class IsrChange { kShrink, kExpand };
  void OnIsrChange(IsrChange change);
  void SetAcksAllWaiting(int64_t n) { acks_all_waiting_.Set(static_cast<double>(n)); }
  void SetLogBytes(int64_t n) { log_bytes_.Set(static_cast<double>(n)); }
  void SetDiskSpace(uint64_t capacity, uint64_t free) {
    log_dir_capacity_.Set(static_cast<double>(capacity));
    log_dir_free_.Set(static_cast<double>(free));
  }
  void SetFollowerLag(int64_t n) { follower_lag_.Set(static_cast<double>(n)); }
  void SetPartitions(int64_t replicas) { partitions_.Set(static_cast<double>(replicas)); }
  void OnTruncatedBelowHighWatermark() { truncated_below_hw_.Increment(); }
  void SetGroups(const std::map<std::string, int64_t>& by_state, int64_t members,
                 int64_t rebalances);
  void OnOffsetCommit(absl::Duration d) { commit_seconds_.Observe(absl::ToDoubleSeconds(d)); }
  struct Lag {
    std::string group;
    std::string topic;
    int32_t partition = 0;
    int64_t records = 0;
  };
  // Replaces every consumer lag series with `lags`.
  void SetConsumerLag(const std::vector<Lag>& lags);
  // The log cleaner's totals and gauges (log_cleaner.h).
  void SetCleaner(const storage::CleanerMetrics& m);

 private:
  const NodeId self_;
  prometheus::Gauge& fenced_;
  prometheus::Gauge& epoch_;
  prometheus::Gauge& offset_;
  prometheus::Gauge& leaderships_;
  prometheus::Gauge& partitions_;
  prometheus::Gauge& under_replicated_;
  prometheus::Gauge& offline_;
  prometheus::Family<prometheus::Counter>& bytes_in_;
  prometheus::Family<prometheus::Counter>& records_in_;
  prometheus::Family<prometheus::Counter>& bytes_out_;
  prometheus::Family<prometheus::Counter>& records_out_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Counter>& isr_changes_;
  prometheus::Gauge& acks_all_waiting_;
  prometheus::Gauge& log_bytes_;
  prometheus::Gauge& log_dir_capacity_;
  prometheus::Gauge& log_dir_free_;
  prometheus::Histogram& flush_seconds_;
  prometheus::Gauge& follower_lag_;
  prometheus::Counter& truncated_below_hw_;
  prometheus::Family<prometheus::Gauge>& groups_;
  prometheus::Gauge& group_members_;
  prometheus::Counter& rebalances_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Family<prometheus::Gauge>& consumer_lag_;
  prometheus::Counter& cleaner_read_;
  prometheus::Counter& cleaner_written_;
  prometheus::Counter& cleaner_removed_;
  prometheus::Counter& cleaner_errors_;
  prometheus::Counter& cleaner_throttled_;
  prometheus::Gauge& cleaner_dirty_ratio_;
  prometheus::Gauge& cleaner_since_clean_;
  prometheus::Gauge& cleaner_uncleanable_;
  absl::Mutex mu_;
  storage::CleanerMetrics cleaner_last_ ABSL_GUARDED_BY(mu_);
  int64_t rebalances_seen_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<prometheus::Gauge*> lag_series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::broker
