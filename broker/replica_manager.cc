#include "broker/replica_manager.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/cluster_config.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/wire_error.h"
#include "storage/batch_builder.h"
#include "storage/record_batch.h"
#include "storage/record_reader.h"
#include "storage/topic_config.h"

namespace samsa::broker {

// One Produce request in flight: the answer fills in as partitions finish.
struct ReplicaManager::ProduceCall {
  absl::Mutex mu;
  v1::ProduceResponse response;
  int pending ABSL_GUARDED_BY(mu) = 0;
  Done<v1::ProduceResponse> done;

  // One partition's answer is final; the last one sends the response.
  void Finish() {
    bool last;
    {
      absl::MutexLock lock(&mu);
      last = --pending == 0;
    }
    if (last) done(std::move(response));
  }
};

namespace {

std::string CheckpointPath(const std::string& data_dir) {
  return data_dir + "/logs/high-watermark-checkpoint";
}

// The error code a client acts on for a storage failure.
v1::ErrorCode CodeFor(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kInvalidArgument:
      return v1::CORRUPT_MESSAGE;
    case absl::StatusCode::kUnavailable:
      return v1::KAFKA_STORAGE_ERROR;
    default:
      return v1::UNKNOWN_SERVER_ERROR;
  }
}

// Encodes plain records into one uncompressed batch.
absl::StatusOr<std::string> EncodePlain(const google::protobuf::RepeatedPtrField<v1::Record>& plain,
                                        int64_t now_ms) {
  storage::BatchBuilder builder;
  std::vector<storage::RecordHeaderView> headers;
  for (const v1::Record& r : plain) {
    headers.clear();
    for (const v1::RecordHeader& h : r.headers()) {
      headers.push_back(
          {h.key(), h.has_value() ? std::optional<std::string_view>(h.value()) : std::nullopt});
    }
    builder.Append(r.timestamp_ms() != 0 ? r.timestamp_ms() : now_ms,
                   r.has_key() ? std::optional<std::string_view>(r.key()) : std::nullopt,
                   r.has_value() ? std::optional<std::string_view>(r.value()) : std::nullopt,
                   headers);
  }
  return builder.Build();
}

// The largest batch in `records`, or an error if they do not frame.
absl::StatusOr<size_t> LargestBatch(std::span<const uint8_t> records) {
  size_t largest = 0;
  while (!records.empty()) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(records);
    if (!h.ok()) return h.status();
    if (h->size() > records.size()) {
      return absl::DataLossError("a batch runs past the end of the records");
    }
    largest = std::max(largest, h->size());
    records = records.subspan(h->size());
  }
  return largest;
}

// A compacted log keeps the latest record per key: a record without one
// could never be told apart from others (Kafka rejects it too).
absl::Status CheckKeyed(std::span<const uint8_t> records) {
  while (!records.empty()) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(records);
    if (!h.ok()) return h.status();
    if (h->size() > records.size()) return absl::DataLossError("a batch runs past the records");
    int32_t index = 0;
    RETURN_IF_ERROR(
        storage::ForEachRecord(records.first(h->size()), [&](const storage::RecordView& r) {
          if (!r.key.has_value()) {
            return absl::InvalidArgumentError(
                absl::StrCat("record ", index,
                             " of a batch has no key; a topic with cleanup.policy=compact "
                             "needs a key on every record"));
          }
          ++index;
          return absl::OkStatus();
        }));
    records = records.subspan(h->size());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaManager>> ReplicaManager::Open(
    ReplicaManagerOptions options) {
  storage::LogManagerOptions lm;
  lm.dirs = {options.data_dir + "/logs"};
  lm.default_config = options.default_log_config;
  lm.cleaner = options.cleaner;
  lm.env = options.env;
  lm.clock = options.clock;
  if (options.probe != nullptr) {
    lm.on_sync = [probe = options.probe](absl::Duration d) { probe->OnFlush(d); };
  }
  if (absl::Status st = options.env->CreateDirs(lm.dirs.front()); !st.ok()) return st;
  absl::StatusOr<std::unique_ptr<storage::LogManager>> logs = storage::LogManager::Open(lm);
  if (!logs.ok()) return logs.status();
  absl::StatusOr<HighWatermarks> hws =
      ReadHighWatermarks(options.env, CheckpointPath(options.data_dir));
  if (!hws.ok()) {
    SAMSA_LOG(WARNING) << hws.status() << "; high watermarks start at each log's start";
  }
  auto manager =
      std::unique_ptr<ReplicaManager>(new ReplicaManager(std::move(options), std::move(*logs)));
  if (hws.ok()) {
    absl::MutexLock lock(&manager->mu_);
    manager->checkpointed_ = std::move(*hws);
  }
  return manager;
}

void ReplicaManager::CheckpointHighWatermarks() {
  HighWatermarks now;
  {
    absl::MutexLock lock(&mu_);
    if (!replicas_made_) return;
    for (const auto& [tp, p] : partitions_) now[tp] = p->high_watermark();
    if (now == checkpointed_) return;
  }
  if (absl::Status st = WriteHighWatermarks(options_.env, CheckpointPath(options_.data_dir), now);
      !st.ok()) {
    SAMSA_LOG(ERROR) << "high-watermark checkpoint: " << st;
    return;
  }
  absl::MutexLock lock(&mu_);
  checkpointed_ = std::move(now);
}

ReplicaManager::ReplicaManager(ReplicaManagerOptions options,
                               std::unique_ptr<storage::LogManager> logs)
    : options_(std::move(options)),
      logs_(std::move(logs)),
      image_(std::make_shared<const MetadataImage>()),
      acks_all_(MonotonicNow(), absl::Milliseconds(1), 4096, [this] { OnEarlierDeadline(); }),
      follower_fetches_(MonotonicNow(), absl::Milliseconds(1), 4096,
                        [this] { OnEarlierDeadline(); }),
      consumer_fetches_(MonotonicNow(), absl::Milliseconds(1), 4096,
                        [this] { OnEarlierDeadline(); }),
      sessions_({.max_sessions = options_.fetch_session_slots,
                 .refresh = options_.replica_lag_max / 4,
                 .on_wake = [this](const void* session) { follower_fetches_.Check(session); },
                 // Another start after each restart (from the injected clock).
                 .first_id = static_cast<uint32_t>(absl::ToUnixMicros(options_.clock->Now()))}),
      move_throttle_(options_.move_max_bytes_per_second, options_.clock),
      isr_({.self = options_.self,
            .replica_lag_max = options_.replica_lag_max,
            .alter_partition = options_.alter_partition,
            .broker_epoch = options_.broker_epoch,
            .probe = options_.probe,
            // No longer held back by the proposal's followers.
            .on_answer = [this](Partition* p) { OnHighWatermark(p); }}) {
  expire_ = scheduler_.Add("expire waiting requests", absl::InfiniteFuture(),
                           [this](absl::Time now) { return ExpireWaiting(now); });
  scheduler_.Every("retention", options_.retention_check_interval, [this] {
    logs_->ApplyRetention(options_.clock->Now());  // each log reports what it deleted
  });
  scheduler_.Every("checkpoints", options_.checkpoint_interval, [this] {
    CheckpointHighWatermarks();
    SnapshotProducers(Partition::SnapshotWhen::kIfRolled);
  });
  scheduler_.Start();
}

ReplicaManager::~ReplicaManager() { (void)Close(); }

absl::Status ReplicaManager::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return absl::OkStatus();
    stop_ = true;
  }
  scheduler_.Stop();
  isr_.Stop();
  {
    absl::MutexLock lock(&fetchers_mu_);
    fetchers_.clear();
  }
  acks_all_.Shutdown();
  follower_fetches_.Shutdown();
  consumer_fetches_.Shutdown();
  CheckpointHighWatermarks();
  SnapshotProducers(Partition::SnapshotWhen::kAlways);
  return logs_->Close();
}

std::shared_ptr<Partition> ReplicaManager::Find(const storage::TopicPartitionName& tp) const {
  absl::MutexLock lock(&mu_);
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second;
}

void ReplicaManager::OnImage(std::shared_ptr<const MetadataImage> image) {
  absl::flat_hash_map<storage::TopicPartitionName, std::pair<const TopicImage*, int32_t>> assigned;
  for (const auto& [name, topic] : image->topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionImage& p = topic->partitions[i];
      if (std::find(p.replicas.begin(), p.replicas.end(), options_.self) == p.replicas.end()) {
        continue;
      }
      assigned[{name, PartitionId(static_cast<int32_t>(i))}] = {topic.get(),
                                                                static_cast<int32_t>(i)};
    }
  }
  move_throttle_.SetRate(ClusterInt(image->cluster_configs(), kReplicaMoveMaxBytesPerSecond,
                                    options_.move_max_bytes_per_second));
  std::vector<storage::TopicPartitionName> gone;
  {
    absl::MutexLock lock(&mu_);
    image_ = image;
    for (const auto& [tp, partition] : partitions_) {
      auto it = assigned.find(tp);
      if (it == assigned.end() || it->second.first->id != partition->state()->topic_id) {
        gone.push_back(tp);
      }
    }
    for (const storage::TopicPartitionName& tp : gone) partitions_.erase(tp);
  }
  if (!strays_swept_ && options_.broker_epoch) {
    const BrokerImage* self = image->FindBroker(options_.self);
    if (self != nullptr && self->epoch == options_.broker_epoch()) {
      strays_swept_ = true;
      for (const storage::TopicPartitionName& tp : logs_->partitions()) {
        if (!assigned.contains(tp) && Find(tp) == nullptr) gone.push_back(tp);
      }
    }
  }
  for (const storage::TopicPartitionName& tp : gone) {
    if (absl::Status st = logs_->Delete(tp); !st.ok()) {
      SAMSA_LOG(ERROR) << "cannot delete the log of " << storage::PartitionDirName(tp) << ": "
                       << st;
    } else {
      SAMSA_LOG(INFO) << "deleted the replica of " << storage::PartitionDirName(tp);
    }
  }
  for (const auto& [tp, where] : assigned) {
    const TopicImage& topic = *where.first;
    const PartitionImage& p = topic.partitions[where.second];
    absl::StatusOr<storage::TopicConfig> config =
        storage::ParseTopicConfig(options_.default_log_config, topic.configs);
    if (!config.ok()) {
      SAMSA_LOG(ERROR) << "topic " << topic.name << ": " << config.status();
      continue;
    }
    std::shared_ptr<Partition> partition = Find(tp);
    if (partition == nullptr) {
      absl::StatusOr<std::shared_ptr<storage::PartitionLog>> log = logs_->Acquire(tp, config->log);
      if (!log.ok()) {
        SAMSA_LOG(ERROR) << "cannot open the log of " << storage::PartitionDirName(tp) << ": "
                         << log.status();
        continue;
      }
      Offset checkpointed(0);
      {
        absl::MutexLock lock(&mu_);
        if (auto it = checkpointed_.find(tp); it != checkpointed_.end()) checkpointed = it->second;
      }
      partition = std::make_shared<Partition>(tp, *log, options_.self, checkpointed);
      absl::StatusOr<Partition::ProducerLoad> load = partition->LoadProducers();
      if (!load.ok()) {
        SAMSA_LOG(ERROR) << storage::PartitionDirName(tp) << ": producer state: " << load.status();
      } else if (load->bytes_replayed > 0 || load->snapshot.has_value()) {
        SAMSA_LOG(INFO) << storage::PartitionDirName(tp) << ": producer state from "
                        << (load->snapshot
                                ? absl::StrCat("the snapshot at ", load->snapshot->value())
                                : std::string("the log"))
                        << " and " << load->bytes_replayed << " bytes of log after it";
      }
      absl::MutexLock lock(&mu_);
      partitions_[tp] = partition;
    } else {
      partition->log()->SetConfig(config->log);
    }
    PartitionState s;
    s.topic_id = topic.id;
    s.leader = p.leader == options_.self;
    s.leader_id = p.leader;
    s.leader_epoch = p.leader_epoch;
    s.partition_epoch = p.partition_epoch;
    s.replicas = p.replicas;
    s.isr = p.isr;
    s.min_insync_replicas = config->min_insync_replicas;
    s.max_message_bytes = config->max_message_bytes;
    s.flush_always = config->log.flush_policy.kind == storage::FlushPolicy::Kind::kAlways;
    s.log_append_time = config->log.timestamp_type == storage::TimestampType::kLogAppendTime;
    s.compacted = config->log.cleanup_policy.compact;
    s.moving_in = std::find(p.adding.begin(), p.adding.end(), options_.self) != p.adding.end();
    const std::shared_ptr<const PartitionState> before = partition->state();
    // Leading anew, or a new ISR or replica set: it may want an ISR change
    // (ISR changes bump the partition epoch).
    const bool isr_may_change =
        s.leader && (!before->leader || before->leader_epoch != s.leader_epoch ||
                     before->partition_epoch != s.partition_epoch);
    partition->SetState(std::move(s));
    if (isr_may_change) isr_.CheckSoon(partition);
    if (!partition->state()->flush_always) {
      partition->OnLocalOffset(partition->log()->log_end_offset());
    }
  }
  {
    absl::MutexLock lock(&mu_);
    replicas_made_ = true;
  }
  UpdateFetchers(*image);
  // Leaderships and ISRs changed, partitions came and went: any waiting
  // request may be settled.
  acks_all_.CheckAll();
  follower_fetches_.CheckAll();
  consumer_fetches_.CheckAll();
  sessions_.TouchAll();
}

void ReplicaManager::ReportSizes(v1::BrokerHeartbeatRequest* request) {
  std::shared_ptr<const MetadataImage> image;
  std::vector<std::pair<storage::TopicPartitionName, std::shared_ptr<Partition>>> partitions;
  {
    absl::MutexLock lock(&mu_);
    image = image_;
    partitions.assign(partitions_.begin(), partitions_.end());
  }
  const absl::Duration now = options_.clock->Monotonic();
  const bool report_led = !next_led_report_.has_value() || now >= *next_led_report_;
  if (report_led) next_led_report_ = now + kLedSizesEvery;
  int64_t total = 0;
  for (const auto& [tp, partition] : partitions) {
    const int64_t bytes = static_cast<int64_t>(partition->log()->size_bytes());
    total += bytes;
    const TopicImage* topic = image == nullptr ? nullptr : image->FindTopic(tp.topic);
    const int32_t index = tp.partition.value();
    if (topic == nullptr || index >= static_cast<int32_t>(topic->partitions.size())) continue;
    auto add = [&](v1::ReplicaSize* r) {
      *r->mutable_topic_id() = topic->id.ToProto();
      r->set_partition(index);
      r->set_bytes(bytes);
    };
    if (topic->partitions[index].moving()) add(request->add_moving_replicas());
    if (report_led && partition->state()->leader) add(request->add_led_replicas());
  }
  request->set_log_bytes(total);
  if (absl::StatusOr<storage::DiskSpace> disk = options_.env->GetDiskSpace(options_.data_dir);
      disk.ok()) {
    request->set_disk_total_bytes(static_cast<int64_t>(disk->capacity_bytes));
    request->set_disk_free_bytes(static_cast<int64_t>(disk->free_bytes));
  }
}

ReplicaManager::FetchLane ReplicaManager::LaneOf(const PartitionState& s) const {
  return s.moving_in && !ContainsId(s.isr, options_.self) ? FetchLane::kMoves
                                                          : FetchLane::kReplication;
}

void ReplicaManager::UpdateFetchers(const MetadataImage& image) {
  struct Lane {
    std::string address;
    std::vector<std::shared_ptr<Partition>> partitions;
  };
  absl::flat_hash_map<std::pair<NodeId, FetchLane>, Lane> lanes;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, p] : partitions_) {
      const std::shared_ptr<const PartitionState> held = p->state();
      const PartitionState& s = *held;
      if (s.leader || s.leader_id == kNoNode) continue;
      if (const BrokerImage* b = image.FindBroker(s.leader_id); b != nullptr) {
        Lane& lane = lanes[{s.leader_id, LaneOf(s)}];
        lane.address = b->address;
        lane.partitions.push_back(p);
      }
    }
  }
  absl::MutexLock lock(&fetchers_mu_);
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    auto wanted = lanes.find(it->first);
    if (wanted == lanes.end() || wanted->second.address != it->second->address()) {
      fetchers_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto& [key, lane] : lanes) {
    std::unique_ptr<ReplicaFetcher>& fetcher = fetchers_[key];
    if (fetcher == nullptr) {
      fetcher = std::make_unique<ReplicaFetcher>(
          ReplicaFetcherOptions{.self = options_.self,
                                .leader = key.first,
                                .address = lane.address,
                                .broker_epoch = options_.broker_epoch
                                                    ? options_.broker_epoch
                                                    : std::function<int64_t()>([] { return 0; }),
                                .probe = options_.probe,
                                .move_throttle = &move_throttle_},
          options_.replica_channel(key.first, lane.address));
    }
    fetcher->SetPartitions(std::move(lane.partitions));
  }
}

std::shared_ptr<Partition> ReplicaManager::LeaderFor(const std::string& topic, int32_t partition,
                                                     std::optional<int32_t> epoch, v1::Error* error,
                                                     v1::LeaderHint* hint) const {
  std::shared_ptr<Partition> p = Find({topic, PartitionId(partition)});
  if (p == nullptr) {
    SetError(error, v1::UNKNOWN_TOPIC_OR_PARTITION,
             absl::StrCat("no partition ", topic, "-", partition, " on this broker"));
    return nullptr;
  }
  const std::shared_ptr<const PartitionState> held = p->state();
  const PartitionState& s = *held;
  if (epoch.has_value() && *epoch != s.leader_epoch.value()) {
    const bool older = *epoch < s.leader_epoch.value();
    *hint = HintFor(s);
    SetError(error, older ? v1::FENCED_LEADER_EPOCH : v1::UNKNOWN_LEADER_EPOCH,
             absl::StrCat("leader epoch ", *epoch, " is ", older ? "older" : "newer", " than ",
                          s.leader_epoch.value()));
    return nullptr;
  }
  if (!s.leader) {
    *hint = HintFor(s);
    SetError(error, v1::NOT_LEADER_OR_FOLLOWER,
             absl::StrCat(topic, "-", partition, " is led by broker ", s.leader_id.value()));
    return nullptr;
  }
  return p;
}

v1::LeaderHint ReplicaManager::HintFor(const PartitionState& s) const {
  v1::LeaderHint hint;
  hint.set_leader_id(s.leader_id.value());
  hint.set_leader_epoch(s.leader_epoch.value());
  absl::MutexLock lock(&mu_);
  if (const BrokerImage* b = image_->FindBroker(s.leader_id); b != nullptr) {
    hint.set_leader_address(b->address);
  }
  return hint;
}

void ReplicaManager::Produce(v1::ProduceRequest request, Done<v1::ProduceResponse> done) {
  auto call = std::make_shared<ProduceCall>();
  call->done = std::move(done);
  // The whole answer is laid out first: completions hold pointers into it.
  int total = 0;
  for (const v1::ProduceRequest::Topic& t : request.topics()) {
    v1::ProduceResponse::Topic* out = call->response.add_topics();
    out->set_name(t.name());
    for (const v1::ProduceRequest::Partition& p : t.partitions()) {
      v1::ProduceResponse::Partition* po = out->add_partitions();
      po->set_partition(p.partition());
      po->set_base_offset(-1);
      po->set_log_append_time_ms(-1);
      ++total;
    }
  }
  {
    absl::MutexLock lock(&call->mu);
    call->pending = total + 1;  // +1 until every partition was started
  }
  const absl::Duration timeout = absl::Milliseconds(std::max(0, request.timeout_ms()));
  for (int i = 0; i < request.topics_size(); ++i) {
    v1::ProduceRequest::Topic& t = *request.mutable_topics(i);
    for (int j = 0; j < t.partitions_size(); ++j) {
      v1::ProduceResponse::Partition* out = call->response.mutable_topics(i)->mutable_partitions(j);
      if (request.acks() != 0 && request.acks() != 1 && request.acks() != -1) {
        SetError(out->mutable_error(), v1::INVALID_REQUIRED_ACKS,
                 absl::StrCat("acks must be -1, 0 or 1, not ", request.acks()));
        call->Finish();
        continue;
      }
      ProducePartition(t.name(), *t.mutable_partitions(j), request.acks(), timeout, call, out);
    }
  }
  call->Finish();
}

// An acks=all produce of one partition's batch: done once the high
// watermark of the leadership that appended it covers it. Only that
// leadership can say so: once this broker follows (or leads again in a
// later epoch), its high watermark is another leader's, over a log that may
// have been cut below the batch and filled with other records.
class ReplicaManager::AcksAllWait final : public DelayedOperation {
 public:
  AcksAllWait(std::shared_ptr<Partition> partition, Epoch epoch, Offset needed, absl::Time deadline,
              std::shared_ptr<ProduceCall> call, v1::ProduceResponse::Partition* out)
      : DelayedOperation(deadline),
        partition_(std::move(partition)),
        epoch_(epoch),
        needed_(needed),
        call_(std::move(call)),
        out_(out) {}

 protected:
  bool Ready() override {
    const Partition::Commit commit = partition_->CommitOf(epoch_, needed_);
    if (commit == Partition::Commit::kPending) return false;
    moved_.store(commit == Partition::Commit::kLeadershipMoved, std::memory_order_relaxed);
    return true;
  }
  void Complete(Outcome outcome) override {
    if (outcome == Outcome::kExpired) {
      SetError(out_->mutable_error(), v1::REQUEST_TIMED_OUT,
               "the ISR did not acknowledge the records in time");
    } else if (outcome == Outcome::kShutdown) {
      SetError(out_->mutable_error(), v1::REQUEST_TIMED_OUT, "the broker is shutting down");
    } else if (moved_.load(std::memory_order_relaxed)) {
      SetError(out_->mutable_error(), v1::NOT_LEADER_OR_FOLLOWER,
               "the partition's leadership moved before the ISR acknowledged the records");
    }
    call_->Finish();
  }

 private:
  const std::shared_ptr<Partition> partition_;
  const Epoch epoch_;    // the leadership the batch was appended in
  const Offset needed_;  // the high watermark that covers the batch
  const std::shared_ptr<ProduceCall> call_;
  v1::ProduceResponse::Partition* const out_;
  std::atomic<bool> moved_{false};
};

void ReplicaManager::ProducePartition(const std::string& topic, v1::ProduceRequest::Partition& in,
                                      int32_t acks, absl::Duration timeout,
                                      std::shared_ptr<ProduceCall> call,
                                      v1::ProduceResponse::Partition* out) {
  auto fail = [&](v1::ErrorCode code, std::string message) {
    SetError(out->mutable_error(), code, std::move(message));
    call->Finish();
  };
  std::shared_ptr<Partition> partition =
      LeaderFor(topic, in.partition(), std::nullopt, out->mutable_error(), out->mutable_leader());
  if (partition == nullptr) return call->Finish();
  const std::shared_ptr<const PartitionState> held = partition->state();
  const PartitionState& s = *held;
  std::string bytes;
  if (!in.plain().empty()) {
    if (!in.records().empty()) {
      return fail(v1::INVALID_REQUEST, "a partition carries either records or plain, not both");
    }
    absl::StatusOr<std::string> encoded =
        EncodePlain(in.plain(), absl::ToUnixMillis(options_.clock->Now()));
    if (!encoded.ok()) return fail(v1::CORRUPT_MESSAGE, std::string(encoded.status().message()));
    bytes = std::move(*encoded);
  } else {
    bytes = std::move(*in.mutable_records());  // appended in place: offsets are assigned in it
  }
  std::span<uint8_t> span(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  absl::StatusOr<size_t> largest = LargestBatch(span);
  if (!largest.ok()) return fail(v1::CORRUPT_MESSAGE, std::string(largest.status().message()));
  if (static_cast<int64_t>(*largest) > s.max_message_bytes) {
    return fail(v1::MESSAGE_TOO_LARGE,
                absl::StrCat("a batch of ", *largest, " bytes is over max.message.bytes ",
                             s.max_message_bytes));
  }
  if (s.compacted) {
    if (absl::Status keyed = CheckKeyed(span); !keyed.ok()) {
      return fail(keyed.code() == absl::StatusCode::kInvalidArgument ? v1::INVALID_RECORD
                                                                     : v1::CORRUPT_MESSAGE,
                  std::string(keyed.message()));
    }
  }
  if (acks == -1 && static_cast<int64_t>(s.isr.size()) < s.min_insync_replicas) {
    return fail(v1::NOT_ENOUGH_REPLICAS,
                absl::StrCat("the ISR has ", s.isr.size(), " members; min.insync.replicas is ",
                             s.min_insync_replicas));
  }
  using Outcome = Partition::LeaderAppend::Outcome;
  Partition::LeaderAppend appended = partition->AppendAsLeader(span, s.leader_epoch);
  switch (appended.outcome) {
    case Outcome::kAppended:
      if (!appended.status.ok()) {
        return fail(CodeFor(appended.status), std::string(appended.status.message()));
      }
      if (options_.probe != nullptr) {
        options_.probe->OnAppend(topic, static_cast<int64_t>(appended.info.bytes),
                                 appended.info.record_count);
      }
      // Followers waiting for records have some.
      follower_fetches_.Check(partition.get());
      sessions_.Touch(partition.get(), /*wake=*/true);
      break;
    case Outcome::kDuplicate:
      break;  // a retry: answered with the original offsets once they are acknowledged
    case Outcome::kOutOfOrder:
      return fail(v1::OUT_OF_ORDER_SEQUENCE_NUMBER, appended.message);
    case Outcome::kFencedEpoch:
      return fail(v1::INVALID_PRODUCER_EPOCH, appended.message);
    case Outcome::kInvalid:
      return fail(v1::INVALID_RECORD, appended.message);
  }
  const storage::AppendInfo* info = &appended.info;
  out->set_log_start_offset(partition->log()->log_start_offset().value());
  const Offset end = info->last_offset + 1;
  if (acks == 0) {
    call->Finish();  // the durability wait below still moves the high watermark
  } else {
    out->set_base_offset(info->first_offset.value());
    if (info->log_append_time.has_value()) out->set_log_append_time_ms(*info->log_append_time);
  }
  auto acknowledged = [this, partition, epoch = s.leader_epoch, end, acks, timeout, call, out]() {
    if (acks == 0) return;
    if (acks == 1) return call->Finish();
    const Purgatory::Key key[] = {partition.get()};
    acks_all_.Watch(
        std::make_shared<AcksAllWait>(partition, epoch, end, MonotonicNow() + timeout, call, out),
        key);
  };
  if (!s.flush_always) {
    partition->OnLocalOffset(partition->log()->log_end_offset());
    acknowledged();
    OnHighWatermark(partition.get());
    return;
  }
  logs_->WaitDurable(
      partition->log(), end,
      [this, partition, end, acknowledged, acks, call, out](absl::Status st) mutable {
        if (!st.ok()) {
          if (acks == 0) return;  // answered already
          SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR, std::string(st.message()));
          return call->Finish();
        }
        partition->OnLocalOffset(end);
        acknowledged();
        OnHighWatermark(partition.get());
      });
}

void ReplicaManager::OnHighWatermark(const Partition* partition) {
  acks_all_.Check(partition);
  consumer_fetches_.Check(partition);
  sessions_.Touch(partition, /*wake=*/false);  // followers learn it with their next fetch
}

void ReplicaManager::OnEarlierDeadline() { scheduler_.RunSoon(expire_); }

void ReplicaManager::SnapshotProducers(Partition::SnapshotWhen when) {
  std::vector<std::shared_ptr<Partition>> all;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, p] : partitions_) all.push_back(p);
  }
  for (const std::shared_ptr<Partition>& p : all) {
    if (absl::Status st = p->SnapshotProducers(when); !st.ok()) {
      SAMSA_LOG(ERROR) << p->log()->dir() << ": producer snapshot: " << st;
    }
  }
}

absl::Time ReplicaManager::ExpireWaiting(absl::Time now) {
  acks_all_.Advance(now);
  follower_fetches_.Advance(now);
  consumer_fetches_.Advance(now);
  return std::min({acks_all_.NextDeadline(), follower_fetches_.NextDeadline(),
                   consumer_fetches_.NextDeadline()});
}

void ReplicaManager::RefreshGauges() {
  if (options_.probe == nullptr) return;
  std::vector<std::shared_ptr<Partition>> all;
  int64_t waiting;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, p] : partitions_) all.push_back(p);
    waiting = static_cast<int64_t>(acks_all_.size());
  }
  int64_t bytes = 0, lag = 0;
  for (const std::shared_ptr<Partition>& p : all) {
    bytes += static_cast<int64_t>(p->log()->size_bytes());
    lag = std::max(lag, p->MaxFollowerLag());
  }
  options_.probe->SetPartitions(static_cast<int64_t>(all.size()));
  options_.probe->SetLogBytes(bytes);
  if (absl::StatusOr<storage::DiskSpace> disk = options_.env->GetDiskSpace(options_.data_dir);
      disk.ok()) {
    options_.probe->SetDiskSpace(disk->capacity_bytes, disk->free_bytes);
  }
  options_.probe->SetFollowerLag(lag);
  options_.probe->SetAcksAllWaiting(waiting);
  options_.probe->SetCleaner(logs_->cleaner().metrics());
}

}  // namespace samsa::broker
