#include "broker/group_runtime.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_channel.h"
#include "common/logging.h"
#include "common/wire_error.h"
#include "storage/env.h"

namespace samsa::broker {

// __consumer_offsets through the ReplicaManager: appends are acks=all
// produce requests; reads go to the local replica up to its high watermark.
class GroupRuntime::ReplicaLog final : public OffsetsLog {
 public:
  explicit ReplicaLog(ReplicaManager* replicas) : replicas_(replicas) {}

  void Append(PartitionId partition, std::string batch,
              absl::AnyInvocable<void(v1::ErrorCode, std::string)> done) override {
    v1::ProduceRequest req;
    req.set_acks(-1);
    req.set_timeout_ms(5000);
    v1::ProduceRequest::Topic* t = req.add_topics();
    t->set_name(kOffsetsTopic);
    v1::ProduceRequest::Partition* p = t->add_partitions();
    p->set_partition(partition.value());
    p->set_records(std::move(batch));
    replicas_->Produce(std::move(req), [done = std::move(done)](v1::ProduceResponse r) mutable {
      if (r.topics_size() != 1 || r.topics(0).partitions_size() != 1) {
        return done(v1::UNKNOWN_SERVER_ERROR, "no answer for the __consumer_offsets partition");
      }
      const v1::Error& e = r.topics(0).partitions(0).error();
      // The client sees the coordinator moved, not a produce error.
      done(e.code() == v1::NOT_LEADER_OR_FOLLOWER ? v1::NOT_COORDINATOR : e.code(), e.message());
    });
  }

  absl::StatusOr<std::string> ReadCommitted(PartitionId partition, Offset from) override {
    std::shared_ptr<Partition> p = replicas_->Find({kOffsetsTopic, partition});
    if (p == nullptr) return std::string();
    // A replica truncated below what was applied (a new leader's log won):
    // what was applied past its end must be forgotten and replayed.
    if (from > p->log()->log_end_offset()) {
      return absl::OutOfRangeError(absl::StrCat("applied up to ", from.value(),
                                                ", past the log end ",
                                                p->log()->log_end_offset().value()));
    }
    const Offset hw = p->high_watermark();
    if (from >= hw) return std::string();
    absl::StatusOr<storage::ReadSlice> slice = p->log()->Read(
        std::max(from, p->log()->log_start_offset()), 1 << 20, hw, storage::FirstBatch::kAlways);
    if (!slice.ok()) return slice.status();
    return std::string(slice->bytes.view());
  }

  Offset LogEnd(PartitionId partition) override {
    std::shared_ptr<Partition> p = replicas_->Find({kOffsetsTopic, partition});
    return p == nullptr ? Offset(-1) : p->log()->log_end_offset();
  }
  Offset EndOffsetForEpoch(PartitionId partition, Epoch epoch) override {
    std::shared_ptr<Partition> p = replicas_->Find({kOffsetsTopic, partition});
    return p == nullptr ? Offset(-1) : p->log()->EndOffsetForEpoch(epoch).second;
  }
  Offset HighWatermark(PartitionId partition) override {
    std::shared_ptr<Partition> p = replicas_->Find({kOffsetsTopic, partition});
    return p == nullptr ? Offset(-1) : p->high_watermark();
  }

 private:
  ReplicaManager* const replicas_;
};

absl::StatusOr<std::unique_ptr<GroupRuntime>> GroupRuntime::Open(GroupRuntimeOptions options) {
  const std::string dir = storage::JoinPath(options.data_dir, "group-offsets");
  absl::StatusOr<std::unique_ptr<OffsetStore>> store = OffsetStore::Open(dir);
  if (!store.ok()) return store.status();
  return std::unique_ptr<GroupRuntime>(new GroupRuntime(std::move(options), *std::move(store)));
}

GroupRuntime::GroupRuntime(GroupRuntimeOptions options, std::unique_ptr<OffsetStore> store)
    : options_(std::move(options)),
      store_(std::move(store)),
      log_(std::make_unique<ReplicaLog>(options_.replicas)) {
  coordinator_ = std::make_unique<GroupCoordinator>(
      GroupCoordinatorOptions{.assignor = options_.assignor,
                              .session_timeout = options_.session_timeout,
                              .heartbeat_interval = options_.heartbeat_interval,
                              .log = log_.get(),
                              .store = store_.get()});
  thread_ = std::thread([this] { Loop(); });
}

GroupRuntime::~GroupRuntime() { Close(); }

void GroupRuntime::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  wakeup_.Notify();
  thread_.join();
}

void GroupRuntime::OnImage(std::shared_ptr<const MetadataImage> image) {
  int32_t partitions = 0;
  std::set<PartitionId> led;
  if (const TopicImage* t = image->FindTopic(kOffsetsTopic)) {
    partitions = static_cast<int32_t>(t->partitions.size());
    for (int32_t p = 0; p < partitions; ++p) {
      if (t->partitions[static_cast<size_t>(p)].leader == options_.self) led.insert(PartitionId(p));
    }
  }
  coordinator_->SetLeadership(partitions, std::move(led));
  absl::MutexLock lock(&mu_);
  image_ = std::move(image);
}

std::map<std::string, int32_t> GroupRuntime::TopicPartitionCounts() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int32_t> out;
  if (image_ == nullptr) return out;
  for (const auto& [name, t] : image_->topics()) {
    out[name] = static_cast<int32_t>(t->partitions.size());
  }
  return out;
}

v1::FindCoordinatorResponse GroupRuntime::FindCoordinator(
    const v1::FindCoordinatorRequest& request) {
  v1::FindCoordinatorResponse r;
  r.set_node_id(-1);
  if (request.group().empty()) {
    SetError(r.mutable_error(), v1::INVALID_GROUP_ID, "the group id is empty");
    return r;
  }
  std::shared_ptr<const MetadataImage> image;
  bool create = false;
  {
    absl::MutexLock lock(&mu_);
    image = image_;
    if (image != nullptr && image->FindTopic(kOffsetsTopic) == nullptr &&
        MonotonicNow() - create_requested_ > absl::Seconds(5)) {
      create_requested_ = MonotonicNow();
      create = true;
    }
  }
  if (image == nullptr || image->FindTopic(kOffsetsTopic) == nullptr) {
    if (create && options_.create_topic && image != nullptr) {
      int32_t brokers = 0;
      for (const auto& [id, b] : image->brokers()) brokers += b.eligible() ? 1 : 0;
      v1::CreateTopicsRequest req;
      req.set_allow_internal(true);
      v1::CreateTopicsRequest::Topic* t = req.add_topics();
      t->set_name(kOffsetsTopic);
      t->set_partitions(options_.offsets_partitions);
      t->set_replication_factor(
          std::max(1, std::min(options_.offsets_replication_factor, brokers)));
      // The latest commit of each (group, topic, partition) stays for
      // replicas and coordinators built later; a deletion's tombstone goes
      // after delete.retention.ms. Nothing expires by time or size.
      (*t->mutable_configs())["cleanup.policy"] = "compact";
      (*t->mutable_configs())["retention.ms"] = "-1";
      (*t->mutable_configs())["segment.bytes"] = std::to_string(options_.offsets_segment_bytes);
      SAMSA_LOG(INFO) << "creating " << kOffsetsTopic << " (" << options_.offsets_partitions
                      << " partitions, replication factor " << t->replication_factor() << ")";
      options_.create_topic(std::move(req));
    }
    SetError(r.mutable_error(), v1::COORDINATOR_NOT_AVAILABLE,
             absl::StrCat(kOffsetsTopic, " is being created; try again"));
    return r;
  }
  const TopicImage* t = image->FindTopic(kOffsetsTopic);
  const int32_t p = coordinator_->PartitionFor(request.group()).value();
  if (p < 0 || p >= static_cast<int32_t>(t->partitions.size())) {
    SetError(r.mutable_error(), v1::COORDINATOR_NOT_AVAILABLE, "the coordinator is moving");
    return r;
  }
  const NodeId leader = t->partitions[static_cast<size_t>(p)].leader;
  const BrokerImage* b = leader == kNoNode ? nullptr : image->FindBroker(leader);
  if (b == nullptr) {
    SetError(r.mutable_error(), v1::COORDINATOR_NOT_AVAILABLE,
             absl::StrCat(kOffsetsTopic, " partition ", p, " has no leader"));
    return r;
  }
  r.set_node_id(leader.value());
  r.set_address(b->address);
  return r;
}

v1::ConsumerGroupHeartbeatResponse GroupRuntime::Heartbeat(
    const v1::ConsumerGroupHeartbeatRequest& request) {
  return coordinator_->Heartbeat(request, TopicPartitionCounts(), MonotonicNow());
}

void GroupRuntime::OffsetCommit(const v1::OffsetCommitRequest& request,
                                absl::AnyInvocable<void(v1::OffsetCommitResponse)> done) {
  const absl::Time start = MonotonicNow();
  coordinator_->OffsetCommit(
      request, absl::Now(),
      [this, start, done = std::move(done)](v1::OffsetCommitResponse r) mutable {
        if (options_.probe != nullptr) options_.probe->OnOffsetCommit(MonotonicNow() - start);
        done(std::move(r));
      });
}

v1::OffsetFetchResponse GroupRuntime::OffsetFetch(const v1::OffsetFetchRequest& request) {
  return coordinator_->OffsetFetch(request);
}

void GroupRuntime::RefreshLag() {
  std::shared_ptr<const MetadataImage> image;
  {
    absl::MutexLock lock(&mu_);
    image = image_;
  }
  if (image == nullptr) return;
  const std::vector<GroupCoordinator::Committed> committed = coordinator_->CommittedOffsets();
  std::map<std::pair<std::string, PartitionId>, int64_t> ends;
  std::map<std::string, v1::ListOffsetsRequest> remote;  // by leader address
  for (const GroupCoordinator::Committed& c : committed) {
    const std::pair<std::string, PartitionId> tp(c.topic, c.partition);
    const TopicImage* t = image->FindTopic(c.topic);
    const int32_t index = c.partition.value();
    if (ends.contains(tp) || t == nullptr || index < 0 ||
        index >= static_cast<int32_t>(t->partitions.size())) {
      continue;
    }
    const NodeId leader = t->partitions[static_cast<size_t>(index)].leader;
    if (leader == options_.self) {
      std::shared_ptr<Partition> p = options_.replicas->Find({c.topic, c.partition});
      if (p != nullptr) {
        if (std::optional<Offset> latest = p->LatestOffset()) ends[tp] = latest->value();
      }
      continue;
    }
    const BrokerImage* b = leader == kNoNode ? nullptr : image->FindBroker(leader);
    if (b == nullptr) continue;
    ends[tp] = -1;  // asked below
    v1::ListOffsetsRequest& req = remote[b->address];
    v1::ListOffsetsRequest::Topic* topic = nullptr;
    for (v1::ListOffsetsRequest::Topic& existing : *req.mutable_topics()) {
      if (existing.name() == c.topic) topic = &existing;
    }
    if (topic == nullptr) {
      topic = req.add_topics();
      topic->set_name(c.topic);
    }
    v1::ListOffsetsRequest::Partition* p = topic->add_partitions();
    p->set_partition(index);
    p->set_timestamp(-1);  // the latest: the high watermark
  }
  for (const auto& [address, req] : remote) {
    std::unique_ptr<v1::Broker::Stub>& stub = peers_[address];
    if (stub == nullptr) stub = v1::Broker::NewStub(NewChannel(address));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    v1::ListOffsetsResponse r;
    if (!stub->ListOffsets(&ctx, req, &r).ok()) continue;
    for (const v1::ListOffsetsResponse::Topic& t : r.topics()) {
      for (const v1::ListOffsetsResponse::Partition& p : t.partitions()) {
        if (p.error().code() == v1::NONE) ends[{t.name(), PartitionId(p.partition())}] = p.offset();
      }
    }
  }
  std::vector<BrokerProbe::Lag> lags;
  for (const GroupCoordinator::Committed& c : committed) {
    auto it = ends.find({c.topic, c.partition});
    if (it == ends.end() || it->second < 0) continue;
    lags.push_back({c.group, c.topic, c.partition.value(),
                    std::max<int64_t>(0, it->second - c.offset.value())});
  }
  options_.probe->SetConsumerLag(lags);
}

void GroupRuntime::Loop() {
  absl::Time next_materialize = MonotonicNow();
  absl::Time next_expiry = MonotonicNow() + absl::Minutes(1);
  absl::Time next_lag = MonotonicNow() + absl::Seconds(1);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      wakeup_.Wait(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; },
          absl::Milliseconds(100));
      if (stop_) return;
    }
    const std::map<std::string, int32_t> topics = TopicPartitionCounts();
    coordinator_->ExpireSessions(MonotonicNow(), topics);
    if (MonotonicNow() < next_materialize) continue;
    next_materialize = MonotonicNow() + absl::Seconds(1);
    if (MonotonicNow() >= next_expiry) {
      // Commit times are wall-clock dates (they are stored).
      coordinator_->ExpireOffsets(absl::Now(), options_.offsets_retention);
      next_expiry = MonotonicNow() + absl::Minutes(1);
    }
    if (options_.probe != nullptr) {
      const GroupCoordinator::Stats s = coordinator_->stats();
      options_.probe->SetGroups(s.groups_by_state, s.members, s.rebalances);
      if (MonotonicNow() >= next_lag) {
        RefreshLag();
        next_lag = MonotonicNow() + absl::Seconds(2);
      }
    }
    auto it = topics.find(kOffsetsTopic);
    for (int32_t i = 0; it != topics.end() && i < it->second; ++i) {
      const PartitionId p(i);
      if (options_.replicas->Find({kOffsetsTopic, p}) == nullptr) continue;
      if (absl::Status st = coordinator_->Materialize(p); !st.ok()) {
        SAMSA_LOG(ERROR) << kOffsetsTopic << "-" << p << ": " << st;
      }
    }
  }
}

}  // namespace samsa::broker
