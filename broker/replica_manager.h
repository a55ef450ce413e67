// ReplicaManager: the partition replicas of this broker and the produce and
// fetch paths on them (Kafka's ReplicaManager).
//
// Replicas follow the metadata image: every partition the image assigns to
// this broker gets a local log (data.dir/logs/<topic>-<partition>, LogConfig
// from the broker defaults and the topic's configs) and the role the image
// gives it; a replica the image no longer assigns (its topic deleted, or
// moved away) has its log deleted. A log found on disk at start that the
// image does not assign here (it was moved away while this broker was down)
// is deleted once the image holds this broker's current registration: from
// then on the image knows every assignment made before this process
// started, so a log it does not assign is not needed.
//
// Produce (leaders only): every partition's batches are validated (framing,
// CRC), stamped with offsets and the leader epoch and appended with one
// write; nothing of a refused batch is written. acks=0 answers at once,
// acks=1 once the append is durable under flush.policy=always (at once
// otherwise), acks=-1 once the high watermark covers the batch, or
// REQUEST_TIMED_OUT after timeout_ms; with fewer ISR members than
// min.insync.replicas it is refused before anything is written
// (NOT_ENOUGH_REPLICAS). Plain records are encoded into one batch here.
//
// Fetch (leaders only): batches from the offset asked up to the high
// watermark (consumers never see more), at least one batch per partition,
// within max_bytes; OFFSET_OUT_OF_RANGE below the log start or above the
// log end; `decoded` turns them into records.
//
// Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER
// (with the leader and epoch as a hint), FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH (a fetch naming an older / newer epoch),
// MESSAGE_TOO_LARGE (over the topic's max.message.bytes), CORRUPT_MESSAGE,
// INVALID_REQUIRED_ACKS, KAFKA_STORAGE_ERROR (the log directory is offline).
//
// Threads: OnImage runs on the metadata thread; Produce and Fetch on gRPC
// threads; completions on the flusher threads and the scheduler's. Callbacks
// (`done`) must not block. Replica fetchers: one per leader followed, and
// while a move adds replicas here, another for those of them catching up
// outside the ISR: the ISR's replication never waits behind a move's
// appends and fsyncs in the same round.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "broker/fetch_session.h"
#include "broker/hw_checkpoint.h"
#include "broker/isr_manager.h"
#include "broker/move_throttle.h"
#include "broker/partition.h"
#include "broker/probe.h"
#include "broker/purgatory.h"
#include "broker/replica_channel.h"
#include "broker/replica_fetcher.h"
#include "broker/wire.h"
#include "common/clock.h"
#include "common/metadata_image.h"
#include "common/scheduler.h"
#include "samsa/v1/broker.pb.h"
#include "storage/log_manager.h"

namespace samsa::broker {

struct ReplicaManagerOptions {
  NodeId self = kNoNode;
  std::string data_dir;
  storage::LogConfig default_log_config = {};
  storage::LogCleanerOptions cleaner = {};  // compaction (log.cleaner.*)
  storage::Env* env = nullptr;              // must outlive the manager
  Clock* clock = nullptr;                   // must outlive the manager
  // replica.lag.time.max.ms: a follower not caught up for this long leaves
  // the ISR.
  absl::Duration replica_lag_max = absl::Seconds(30);
  // max.incremental.fetch.session.cache.slots: followers' fetch sessions
  // kept (fetch_session.h).
  size_t fetch_session_slots = 1000;
  // replica.move.max.bytes.per.second (move_throttle.h) of the config file;
  // the cluster's dynamic value, when set, replaces it. < 0: no limit.
  int64_t move_max_bytes_per_second = -1;
  // How often retention deletes old closed segments (log.retention.*).
  absl::Duration retention_check_interval = absl::Minutes(5);
  // How often the high-watermark checkpoint is written (when a high
  // watermark moved) and producer state snapshotted (when a log rolled):
  // Kafka's replica.high.watermark.checkpoint.interval.ms.
  absl::Duration checkpoint_interval = absl::Seconds(5);
  // Sends an ISR change to the active controller (QuorumClient); empty: ISR
  // changes are not requested. Called from the ISR thread (isr_manager.h).
  std::function<absl::StatusOr<v1::AlterPartitionResponse>(v1::AlterPartitionRequest)>
      alter_partition = nullptr;
  std::function<int64_t()> broker_epoch = nullptr;  // for fetch and AlterPartition
  BrokerProbe* probe = nullptr;                     // metrics, if any; must outlive it
  // How followers reach the leaders they fetch from.
  ReplicaChannelFactory replica_channel = NewGrpcReplicaChannel;
  // Tests only: runs when a fetch found nothing to return, just before it
  // parks (to append or commit in that gap).
  std::function<void()> before_parking_fetch = nullptr;
};

class ReplicaManager {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(T)>;

  static absl::StatusOr<std::unique_ptr<ReplicaManager>> Open(ReplicaManagerOptions options);
  ~ReplicaManager();

  // Brings replicas and roles in line with `image`.
  // The log directories that went offline (a failed write or fsync), with
  // the error that took each down.
  std::vector<std::pair<std::string, absl::Status>> OfflineLogDirs() const {
    return logs_->offline_dirs();
  }
  void OnImage(std::shared_ptr<const MetadataImage> image);
  // The size of every replica here, of each replica of a partition being
  // reassigned, and every kLedSizesEvery of each replica led here, for the
  // controller (heartbeats; one thread).
  void ReportSizes(v1::BrokerHeartbeatRequest* request);
  static constexpr absl::Duration kLedSizesEvery = absl::Seconds(30);

  void Produce(v1::ProduceRequest request, Done<v1::ProduceResponse> done);
  // Answers at once when min_bytes are readable or a partition has an
  // error, else when the high watermarks let enough through or max_wait_ms
  // passes.
  void Fetch(const v1::FetchRequest& request, Done<FetchAnswer> done);
  v1::ListOffsetsResponse ListOffsets(const v1::ListOffsetsRequest& request);
  // A follower's fetch (leader side): answers at once when a partition has
  // records, an error or a divergence, else when records are appended here
  // or max_wait_ms passes.
  void ReplicaFetch(const v1::ReplicaFetchRequest& request, Done<ReplicaFetchAnswer> done);

  // Answers every waiting produce (REQUEST_TIMED_OUT) and closes the logs.
  absl::Status Close();

  // Refreshes the gauges that sum over partitions (log bytes, follower lag,
  // disk space, acks=all waiting, cleaner): when metrics are scraped, so
  // an unscraped broker never walks its partitions for them.
  void RefreshGauges();

  // The replica of `tp` here, or nullptr.
  std::shared_ptr<Partition> Find(const storage::TopicPartitionName& tp) const;

 private:
  struct ProduceCall;
  class AcksAllWait;
  // A partition a parked fetch reads, as it was when the fetch parked.
  struct WatchedPartition {
    std::shared_ptr<Partition> partition;
    Offset from;  // where the fetch reads
    Epoch epoch;  // the leadership it was parked under
  };
  template <typename Request, typename Answer>
  class ParkedFetch;
  class FollowerFetchWait;
  class SessionFetchWait;
  class ConsumerFetchWait;

  explicit ReplicaManager(ReplicaManagerOptions options, std::unique_ptr<storage::LogManager> logs);
  // Appends one partition's records; finishes `out` or leaves it to a
  // completion that `call` tracks.
  void ProducePartition(const std::string& topic, v1::ProduceRequest::Partition& in, int32_t acks,
                        absl::Duration timeout, std::shared_ptr<ProduceCall> call,
                        v1::ProduceResponse::Partition* out);
  // The high watermark of `partition` may have moved: completes the
  // acks=all produces it covers and the consumer fetches it can answer.
  void OnHighWatermark(const Partition* partition);
  // A purgatory took a deadline before the one the expiry task is due at.
  void OnEarlierDeadline();
  // The answer to a consumer's fetch; `bytes` readable records in it,
  // `error` when any partition has one.
  FetchAnswer AnswerFetch(const v1::FetchRequest& request, int64_t* bytes, bool* error);
  // Sends a consumer fetch's answer, counting the bytes it returns.
  void Deliver(FetchAnswer answer, Done<FetchAnswer>& done);
  // Writes the high-watermark checkpoint if any high watermark moved.
  void CheckpointHighWatermarks();
  // Snapshots the producer state of every partition (see
  // Partition::SnapshotProducers).
  void SnapshotProducers(Partition::SnapshotWhen when);
  // The answer to a follower's fetch without a session; `has_news` when any
  // partition has records, an error or a divergence to report.
  ReplicaFetchAnswer AnswerReplicaFetch(const v1::ReplicaFetchRequest& request, bool* has_news);
  // Adds `in`'s answer to `answer` if it has news for the follower (and
  // sets `has_news` for records, an error or a divergence), spending
  // `budget`; `partition` is the replica here (null: none). `reported`:
  // the follower said `in` in this request, so it reports where the
  // follower is; else it is what the follower said before (a session),
  // which only says the follower is still there. Returns whether records
  // were due and left out for want of budget.
  bool AnswerReplicaPartition(const std::shared_ptr<Partition>& partition,
                              const v1::ReplicaFetchRequest::Partition& in, NodeId replica,
                              bool reported, absl::Time now, int64_t* budget,
                              ReplicaFetchAnswer* answer, bool* has_news);
  // The answer to `entries` of a session's request; `has_news` as above.
  ReplicaFetchAnswer AnswerSession(FetchSession& session,
                                   const std::vector<FetchSession::Entry*>& entries,
                                   const std::vector<bool>& named, int32_t max_bytes,
                                   bool* has_news);
  // Starts fetchers for leaders this broker follows, stops the others.
  void UpdateFetchers(const MetadataImage& image);
  enum class FetchLane { kReplication, kMoves };
  FetchLane LaneOf(const PartitionState& s) const;
  // Expires what waits in the purgatories; returns when next to.
  absl::Time ExpireWaiting(absl::Time now);
  v1::LeaderHint HintFor(const PartitionState& s) const;
  // The partition if this broker leads it in `epoch` (when given); else
  // nullptr with the error (and where to go) filled in.
  std::shared_ptr<Partition> LeaderFor(const std::string& topic, int32_t partition,
                                       std::optional<int32_t> epoch, v1::Error* error,
                                       v1::LeaderHint* hint) const;

  const ReplicaManagerOptions options_;
  std::unique_ptr<storage::LogManager> logs_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<storage::TopicPartitionName, std::shared_ptr<Partition>> partitions_
      ABSL_GUARDED_BY(mu_);
  // Requests waiting for an event on a partition (purgatory.h), keyed by
  // the Partition: acks=all produces for its high watermark, follower
  // fetches for an append, consumer fetches for its high watermark. A
  // scheduler task expires them, due at the next deadline.
  Purgatory acks_all_;
  Purgatory follower_fetches_;  // also keyed by FetchSession: a session's long-poll
  Purgatory consumer_fetches_;
  // Followers' fetch sessions (fetch_session.h), touched by the events
  // above.
  FetchSessions sessions_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  HighWatermarks checkpointed_ ABSL_GUARDED_BY(mu_);  // as loaded, then as last written
  // Until the first image made the replicas, the checkpoint is not rewritten
  // (it would lose every high watermark not yet loaded).
  bool replicas_made_ ABSL_GUARDED_BY(mu_) = false;
  // Logs on disk the image does not assign were deleted (see above).
  bool strays_swept_ = false;  // OnImage's thread only
  // When the led replicas' sizes are next reported (ReportSizes' thread).
  std::optional<absl::Duration> next_led_report_;
  MoveThrottle move_throttle_;
  IsrManager isr_;
  // Timed work: expiring the purgatories (task expire_), retention,
  // checkpoints and producer snapshots.
  Scheduler scheduler_;
  Scheduler::TaskId expire_ = 0;
  absl::Mutex fetchers_mu_;  // only OnImage and Close change the fetchers
  absl::flat_hash_map<std::pair<NodeId, FetchLane>, std::unique_ptr<ReplicaFetcher>> fetchers_
      ABSL_GUARDED_BY(fetchers_mu_);
};

}  // namespace samsa::broker
