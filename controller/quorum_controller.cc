#include "controller/quorum_controller.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/metadata_describe.h"
#include "controller/broker_lifecycle.h"
#include "controller/partition_changes.h"
#include "controller/reassignment.h"

namespace samsa::controller {
namespace {

// Builds the `finish` of a write whose answer is `*response`, naming the
// active controller; on failure the answer is replaced by the whole-request
// error.
template <typename Response>
auto AnswerWith(std::shared_ptr<Response> response, QuorumController::Done<Response> done) {
  return [response = std::move(response), done = std::move(done)](
             const v1::Error& error, const v1::LeaderHint& hint) mutable {
    if (error.code() != v1::NONE) {
      Response failed;
      *failed.mutable_error() = error;
      *failed.mutable_controller() = hint;
      done(std::move(failed));
      return;
    }
    *response->mutable_controller() = hint;
    done(std::move(*response));
  };
}

int64_t LeaderChanges(const v1::MetadataBatch& batch) {
  int64_t n = 0;
  for (const v1::MetadataRecord& r : batch.records()) {
    n += r.has_partition_change() && r.partition_change().has_leader() ? 1 : 0;
  }
  return n;
}

}  // namespace

QuorumController::QuorumController(ControllerOptions options)
    : options_(std::move(options)), committed_(std::make_shared<const MetadataImage>()) {
  timer_ = std::thread([this] { TimerLoop(); });
}

QuorumController::~QuorumController() { Stop(); }

void QuorumController::Stop() {
  std::vector<Waiter> waiters;
  std::vector<v1::FetchMetadataResponse> answers;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
    waiters.swap(waiters_);
    for (const Waiter& w : waiters) answers.push_back(FetchLocked(w.from_offset, w.max_batches));
  }
  wakeup_.Notify();
  timer_.join();
  for (size_t i = 0; i < waiters.size(); ++i) waiters[i].done(std::move(answers[i]));
}

void QuorumController::Attach(raft::Node* node) {
  absl::MutexLock lock(&mu_);
  node_ = node;
}

std::shared_ptr<const MetadataImage> QuorumController::committed() const {
  absl::MutexLock lock(&mu_);
  return committed_;
}

bool QuorumController::active() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

Uuid QuorumController::NewTopicId() {
  return Uuid{absl::Uniform<uint64_t>(rng_), absl::Uniform<uint64_t>(rng_)};
}

v1::LeaderHint QuorumController::Hint() const {
  v1::LeaderHint hint;
  const NodeId leader(known_leader_.load(std::memory_order_relaxed));
  hint.set_leader_id(leader.value());
  hint.set_leader_epoch(static_cast<int32_t>(known_term_.load(std::memory_order_relaxed)));
  if (auto it = options_.voters.find(leader); it != options_.voters.end()) {
    hint.set_leader_address(it->second);
  }
  return hint;
}

void QuorumController::Write(Decide decide, WriteMode mode, Finish finish) {
  absl::ReleasableMutexLock lock(&mu_);
  if (!active_ || node_ == nullptr) {
    lock.Release();
    finish(MakeError(v1::NOT_CONTROLLER,
                     absl::StrCat("controller ", options_.node_id.value(), " is not active")),
           Hint());
    return;
  }
  PendingBatch batch(latest_);
  decide(batch);
  if (mode == WriteMode::kValidateOnly || batch.empty()) {
    lock.Release();
    finish(v1::Error(), Hint());
    return;
  }
  std::string data = batch.batch().SerializeAsString();
  latest_ = std::move(batch).TakeImage();
  // Under mu_, so batches enter the log in the order they were decided. The
  // callback may run right here (a stopped node), so it must not lock mu_.
  node_->ProposeInTerm(
      leader_term_, std::move(data),
      [this, finish = std::move(finish)](absl::StatusOr<raft::Index> index) mutable {
        if (index.ok()) {
          finish(v1::Error(), Hint());
          return;
        }
        finish(MakeError(v1::NOT_CONTROLLER,
                         absl::StrCat("the write did not commit: ", index.status().message())),
               Hint());
      });
}

void QuorumController::CreateTopics(const v1::CreateTopicsRequest& request,
                                    Done<v1::CreateTopicsResponse> done) {
  auto response = std::make_shared<v1::CreateTopicsResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        *response = controller::CreateTopics(
            request, options_.topic_defaults,
            [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return NewTopicId(); }, batch);
      },
      ModeOf(request.validate_only()), AnswerWith(response, std::move(done)));
}

void QuorumController::DeleteTopics(const v1::DeleteTopicsRequest& request,
                                    Done<v1::DeleteTopicsResponse> done) {
  auto response = std::make_shared<v1::DeleteTopicsResponse>();
  Write([&](PendingBatch& batch) { *response = controller::DeleteTopics(request, batch); },
        WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::CreatePartitions(const v1::CreatePartitionsRequest& request,
                                        Done<v1::CreatePartitionsResponse> done) {
  auto response = std::make_shared<v1::CreatePartitionsResponse>();
  Write([&](PendingBatch& batch) { *response = controller::CreatePartitions(request, batch); },
        ModeOf(request.validate_only()), AnswerWith(response, std::move(done)));
}

void QuorumController::AlterConfigs(const v1::AlterConfigsRequest& request,
                                    Done<v1::AlterConfigsResponse> done) {
  auto response = std::make_shared<v1::AlterConfigsResponse>();
  Write([&](PendingBatch& batch) { *response = controller::AlterConfigs(request, batch); },
        ModeOf(request.validate_only()), AnswerWith(response, std::move(done)));
}

void QuorumController::RegisterBroker(const v1::RegisterBrokerRequest& request,
                                      Done<v1::RegisterBrokerResponse> done) {
  auto response = std::make_shared<v1::RegisterBrokerResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        *response = controller::RegisterBroker(request, batch);
        if (response->error().code() == v1::NONE) {
          sessions_[NodeId(request.broker_id())] = options_.clock->Monotonic();
        }
      },
      WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::BrokerHeartbeat(const v1::BrokerHeartbeatRequest& request,
                                       Done<v1::BrokerHeartbeatResponse> done) {
  auto response = std::make_shared<v1::BrokerHeartbeatResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        *response = controller::BrokerHeartbeat(request, *committed_, batch);
        if (response->error().code() == v1::NONE) {
          const NodeId broker(request.broker_id());
          sessions_[broker] = options_.clock->Monotonic();
          usage_.disks[broker] = {.log_bytes = request.log_bytes(),
                                  .total_bytes = request.disk_total_bytes(),
                                  .free_bytes = request.disk_free_bytes()};
          auto& sizes = moving_bytes_[broker];
          sizes.clear();
          for (const v1::ReplicaSize& r : request.moving_replicas()) {
            sizes[{Uuid::FromProto(r.topic_id()), r.partition()}] = r.bytes();
          }
          for (const v1::ReplicaSize& r : request.led_replicas()) {
            usage_.partition_bytes[{Uuid::FromProto(r.topic_id()), r.partition()}] = r.bytes();
          }
        }
      },
      WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::AlterPartition(const v1::AlterPartitionRequest& request,
                                      Done<v1::AlterPartitionResponse> done) {
  auto response = std::make_shared<v1::AlterPartitionResponse>();
  Write(
      [&](PendingBatch& batch) {
        *response = controller::AlterPartition(request, batch);
        // A follower that joined the ISR may be the last a move waited for.
        if (absl::StatusOr<int64_t> n = controller::CompleteReassignments(batch); !n.ok()) {
          SAMSA_LOG(ERROR) << "completing reassignments: " << n.status();
        }
      },
      WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::AlterPartitionReassignments(
    const v1::AlterPartitionReassignmentsRequest& request,
    Done<v1::AlterPartitionReassignmentsResponse> done) {
  auto response = std::make_shared<v1::AlterPartitionReassignmentsResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        *response = controller::AlterPartitionReassignments(request, batch);
        const MoveCounts moves = CountMoves(latest_, batch.batch());
        if (moves.started + moves.completed + moves.cancelled > 0) {
          SAMSA_LOG(INFO) << "reassignments: " << moves.started << " started, " << moves.completed
                          << " completed, " << moves.cancelled << " cancelled";
        }
      },
      WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::ListPartitionReassignments(
    const v1::ListPartitionReassignmentsRequest& request,
    Done<v1::ListPartitionReassignmentsResponse> done) {
  v1::ListPartitionReassignmentsResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (active_) {
      response = ListMovesLocked(request);
    }
  }
  if (response.error().code() == v1::NONE && !active()) {
    *response.mutable_error() =
        MakeError(v1::NOT_CONTROLLER,
                  absl::StrCat("controller ", options_.node_id.value(), " is not active"));
  }
  *response.mutable_controller() = Hint();
  done(std::move(response));
}

void QuorumController::ControlledShutdown(const v1::ControlledShutdownRequest& request,
                                          Done<v1::ControlledShutdownResponse> done) {
  auto response = std::make_shared<v1::ControlledShutdownResponse>();
  Write([&](PendingBatch& batch) { *response = controller::ControlledShutdown(request, batch); },
        WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::AllocateProducerIds(const v1::AllocateProducerIdsRequest& request,
                                           Done<v1::AllocateProducerIdsResponse> done) {
  auto response = std::make_shared<v1::AllocateProducerIdsResponse>();
  Write([&](PendingBatch& batch) { *response = controller::AllocateProducerIds(request, batch); },
        WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

v1::ListPartitionReassignmentsResponse QuorumController::ListMovesLocked(
    const v1::ListPartitionReassignmentsRequest& request) const {
  return controller::ListPartitionReassignments(
      request, *committed_,
      [this](const Uuid& topic, int32_t partition, NodeId broker)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> int64_t {
            auto b = moving_bytes_.find(broker);
            if (b == moving_bytes_.end()) return -1;
            auto it = b->second.find({topic, partition});
            return it == b->second.end() ? -1 : it->second;
          });
}

void QuorumController::ExpireSessions() {
  const absl::Duration now = options_.clock->Monotonic();
  std::vector<std::pair<NodeId, int64_t>> expired;
  {
    absl::MutexLock lock(&mu_);
    if (!active_) return;
    for (const auto& [id, b] : latest_.brokers()) {
      if (b.fenced) continue;
      auto it = sessions_.find(id);
      if (it == sessions_.end() || now - it->second > options_.session_timeout) {
        expired.emplace_back(id, b.epoch);
      }
    }
  }
  for (const auto& session : expired) {
    const NodeId id = session.first;
    const int64_t epoch = session.second;
    Write(
        [&](PendingBatch& batch) {
          const BrokerImage* b = batch.image().FindBroker(id);
          if (b == nullptr || b->fenced || b->epoch != epoch) return;  // it moved on meanwhile
          if (absl::Status st = FenceBroker(id, epoch, batch); !st.ok()) {
            SAMSA_LOG(ERROR) << "cannot fence broker " << id << ": " << st;
            return;
          }
          SAMSA_LOG(INFO) << "broker " << id << " epoch " << epoch
                          << " missed its session; fencing it";
          if (options_.probe != nullptr) options_.probe->OnSessionExpired();
        },
        WriteMode::kPropose, [](const v1::Error&, const v1::LeaderHint&) {});
  }
}

v1::FetchMetadataResponse QuorumController::FetchLocked(int64_t from_offset,
                                                        int32_t max_batches) const {
  v1::FetchMetadataResponse r;
  const int64_t committed = committed_->offset();
  if (from_offset < history_base_) {
    // Older batches are gone from memory: the caller starts from the image.
    *r.mutable_snapshot() = committed_->ToSnapshot();
    r.set_offset(committed);
    return r;
  }
  auto it = std::upper_bound(history_.begin(), history_.end(), from_offset,
                             [](int64_t off, const auto& e) { return off < e.first; });
  int32_t n = 0;
  for (; it != history_.end() && n < max_batches; ++it, ++n) {
    v1::MetadataEntry* e = r.add_entries();
    e->set_offset(it->first);
    *e->mutable_batch() = it->second;
  }
  r.set_offset(it == history_.end() ? std::max(committed, from_offset) : it[-1].first);
  return r;
}

void QuorumController::FetchMetadata(const v1::FetchMetadataRequest& request,
                                     Done<v1::FetchMetadataResponse> done) {
  const int32_t max_batches = request.max_batches() > 0
                                  ? std::min(request.max_batches(), options_.max_fetch_batches)
                                  : options_.max_fetch_batches;
  v1::FetchMetadataResponse response;
  {
    absl::MutexLock lock(&mu_);
    if (request.from_offset() >= committed_->offset() && request.max_wait_ms() > 0 && !stop_) {
      waiters_.push_back({request.from_offset(), max_batches,
                          MonotonicNow() + absl::Milliseconds(request.max_wait_ms()),
                          std::move(done)});
      return;
    }
    response = FetchLocked(request.from_offset(), max_batches);
  }
  done(std::move(response));
}

absl::Status QuorumController::Apply(const raft::Entry& entry) {
  const int64_t offset = entry.index.value();
  std::vector<std::pair<Done<v1::FetchMetadataResponse>, v1::FetchMetadataResponse>> answers;
  {
    absl::MutexLock lock(&mu_);
    auto next = std::make_shared<MetadataImage>(*committed_);
    int64_t leader_changes = 0;
    MoveCounts moves;
    if (entry.type != raft::EntryType::kNormal || entry.data.empty()) {
      next->AdvanceTo(offset);
    } else {
      v1::MetadataBatch batch;
      if (!batch.ParseFromString(entry.data)) {
        return absl::DataLossError(absl::StrCat("metadata log entry ", offset, " (term ",
                                                entry.term.value(), ") is not a metadata batch"));
      }
      // One copy per batch: a record that does not fit stops the node, so
      // the half-applied `next` is never published.
      for (int i = 0; i < batch.records_size(); ++i) {
        if (absl::Status st = next->ApplyRecord(batch.records(i), offset); !st.ok()) {
          return absl::DataLossError(
              absl::StrCat("metadata offset ", offset, ", record ", i, ": ", st.message()));
        }
      }
      next->AdvanceTo(offset);
      leader_changes = LeaderChanges(batch);
      moves = CountMoves(*committed_, batch);
      history_.emplace_back(offset, std::move(batch));
      while (history_.size() > options_.history_entries) {
        history_base_ = history_.front().first;
        history_.pop_front();
      }
    }
    committed_ = std::move(next);
    if (options_.probe != nullptr) options_.probe->OnImage(*committed_, leader_changes, moves);
    if (entry.type == raft::EntryType::kNormal && entry.data.empty() &&
        entry.term == leader_term_ && !active_) {
      // Our term's no-op: everything before it is applied, so the image is
      // complete. Sessions restart: nobody could heartbeat an inactive node.
      latest_ = *committed_;
      active_ = true;
      sessions_.clear();
      const absl::Duration now = options_.clock->Monotonic();
      for (const auto& [id, b] : latest_.brokers()) sessions_[id] = now;
      // The balancer's soft state starts over. Moves in progress complete
      // on their own; a broker that holds no replica yet counts as joining,
      // so a balance the last active controller had no time to start
      // happens. Nothing else is moved: a failover does not undo where an
      // operator put replicas.
      known_brokers_.clear();
      absl::flat_hash_set<NodeId> holding;
      for (const auto& [name, topic] : latest_.topics()) {
        for (const PartitionImage& p : topic->partitions) {
          holding.insert(p.replicas.begin(), p.replicas.end());
        }
      }
      for (const auto& [id, b] : latest_.brokers()) {
        if (holding.contains(id)) known_brokers_.insert(id);
      }
      fenced_since_.clear();
      balancing_ = false;
      elect_after_moves_ = MovingPartitions(latest_) > 0;
      if (options_.probe != nullptr) options_.probe->OnActive(true);
      SAMSA_LOG(INFO) << "controller " << options_.node_id << " is active in term " << entry.term;
    }
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->from_offset < committed_->offset()) {
        answers.emplace_back(std::move(it->done), FetchLocked(it->from_offset, it->max_batches));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [done, response] : answers) done(std::move(response));
  return absl::OkStatus();
}

std::string QuorumController::Snapshot() {
  absl::MutexLock lock(&mu_);
  return committed_->SerializeSnapshot();
}

absl::Status QuorumController::Restore(const std::string& data) {
  MetadataImage image;
  if (!data.empty()) {
    v1::MetadataSnapshot snapshot;
    if (!snapshot.ParseFromString(data)) {
      return absl::DataLossError("the metadata snapshot does not parse");
    }
    absl::StatusOr<MetadataImage> restored = MetadataImage::FromSnapshot(snapshot);
    if (!restored.ok()) return restored.status();
    image = std::move(*restored);
  }
  absl::MutexLock lock(&mu_);
  committed_ = std::make_shared<const MetadataImage>(std::move(image));
  history_.clear();
  history_base_ = committed_->offset();
  if (options_.probe != nullptr) options_.probe->OnImage(*committed_, 0);
  return absl::OkStatus();
}

void QuorumController::OnLeadershipChange(const raft::Status& status) {
  known_leader_.store(status.leader.value(), std::memory_order_relaxed);
  known_term_.store(status.term.value(), std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  const bool leads = status.role == raft::Role::kLeader;
  if (leads && status.term == leader_term_) return;
  leader_term_ = leads ? status.term : Term(0);
  if (active_) {
    SAMSA_LOG(INFO) << "controller " << options_.node_id << " is no longer active (term "
                    << status.term << ", leader " << status.leader << ")";
  }
  active_ = false;
  if (options_.probe != nullptr) options_.probe->OnActive(false);
}

void QuorumController::TimerLoop() {
  const absl::Duration period =
      std::clamp(options_.session_timeout / 10, absl::Milliseconds(10), absl::Milliseconds(500));
  absl::Time next_session_check = MonotonicNow() + period;
  const bool rebalance = options_.leader_rebalance_interval > absl::ZeroDuration();
  absl::Time next_rebalance =
      rebalance ? MonotonicNow() + options_.leader_rebalance_interval : absl::InfiniteFuture();
  while (true) {
    std::vector<Waiter> expired;
    {
      absl::MutexLock lock(&mu_);
      absl::Time wake = std::min(next_session_check, next_rebalance);
      for (const Waiter& w : waiters_) wake = std::min(wake, w.deadline);
      wakeup_.WaitUntil(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; }, wake);
      if (stop_) return;
      const absl::Time now = MonotonicNow();
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->deadline <= now) {
          expired.push_back(std::move(*it));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Waiter& w : expired) {
      v1::FetchMetadataResponse r;
      {
        absl::MutexLock lock(&mu_);
        r = FetchLocked(w.from_offset, w.max_batches);
      }
      w.done(std::move(r));
    }
    if (MonotonicNow() >= next_session_check) {
      ExpireSessions();
      Maintain();
      next_session_check = MonotonicNow() + period;
    }
    if (MonotonicNow() >= next_rebalance) {
      ElectPreferredLeaders();
      next_rebalance = MonotonicNow() + options_.leader_rebalance_interval;
    }
  }
}

void QuorumController::ElectPreferredLeaders() {
  Write(  // answered NOT_CONTROLLER, and ignored, unless active
      [this](PendingBatch& batch) {
        absl::StatusOr<int64_t> moved =
            controller::ElectPreferredLeaders(batch, options_.leader_imbalance_percent);
        if (!moved.ok()) {
          SAMSA_LOG(ERROR) << "preferred leader election: " << moved.status();
          return;
        }
        if (*moved == 0) return;
        SAMSA_LOG(INFO) << "moving " << *moved << " partitions back to their preferred leader";
        if (options_.probe != nullptr) options_.probe->OnPreferredLeaders(*moved);
      },
      WriteMode::kPropose, [](const v1::Error&, const v1::LeaderHint&) {});
}

BalancePlan QuorumController::Plan(const MetadataImage& image, PlanScope scope) const {
  const bool even_out = scope == PlanScope::kEvenOut;
  BalanceOptions options{
      .even_out = even_out,
      .even_disk = even_out && options_.balancer.mode == AutoBalancerMode::kContinuous,
      .max_moves = options_.balancer.concurrent_moves,
      .max_disk_usage = options_.balancer.max_disk_usage};
  if (options_.balancer.mode != AutoBalancerMode::kOff) {
    const absl::Duration now = options_.clock->Monotonic();
    for (const auto& [id, since] : fenced_since_) {
      if (now - since >= options_.balancer.node_unavailable_timeout) options.evacuate.insert(id);
    }
  }
  return PlanBalance(image, usage_, options);
}

int64_t QuorumController::StartMoves(const BalancePlan& plan, PendingBatch& batch) {
  int64_t started = 0;
  for (const PlannedMove& m : plan.moves) {
    const v1::Error e = StartReassignment(batch, m.topic, m.partition, m.to);
    if (e.code() == v1::NONE) {
      ++started;
    } else {
      SAMSA_LOG(WARNING) << "balancer: " << e.message();
    }
  }
  if (started > 0 || plan.unplaceable != last_unplaceable_) {
    last_plan_at_ = options_.clock->Now();
    last_plan_moves_ = started;
    last_unplaceable_ = plan.unplaceable;
  }
  if (started > 0) elect_after_moves_ = true;
  return started;
}

void QuorumController::Maintain() {
  Write(  // answered NOT_CONTROLLER, and ignored, unless active
      [this](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        if (absl::StatusOr<int64_t> n = controller::CompleteReassignments(batch); !n.ok()) {
          SAMSA_LOG(ERROR) << "completing reassignments: " << n.status();
        } else if (*n > 0) {
          SAMSA_LOG(INFO) << "completing the reassignment of " << *n << " partition(s)";
        }
        if (absl::StatusOr<int64_t> n = UnregisterDecommissioned(batch); !n.ok()) {
          SAMSA_LOG(ERROR) << "unregistering decommissioned brokers: " << n.status();
        } else if (*n > 0) {
          SAMSA_LOG(INFO) << "unregistered " << *n << " decommissioned broker(s)";
        }
        const MetadataImage& image = batch.image();
        const absl::Duration now = options_.clock->Monotonic();
        absl::erase_if(fenced_since_, [&](const auto& e) {
          const BrokerImage* b = image.FindBroker(e.first);
          return b == nullptr || !b->fenced;
        });
        absl::erase_if(usage_.partition_bytes, [&](const auto& e) {
          const TopicImage* topic = image.FindTopic(e.first.first);
          return topic == nullptr ||
                 e.first.second >= static_cast<int32_t>(topic->partitions.size());
        });
        // An unregistered broker that registers again joins anew.
        absl::erase_if(known_brokers_, [&](NodeId id) { return image.FindBroker(id) == nullptr; });
        for (const auto& [id, b] : image.brokers()) {
          if (b.fenced) fenced_since_.try_emplace(id, now);
          // Joined: able to take replicas for the first time (a new broker
          // registers fenced, and is unfenced once it caught up).
          if (b.accepts_replicas() && known_brokers_.insert(id).second &&
              options_.balancer.mode != AutoBalancerMode::kOff) {
            SAMSA_LOG(INFO) << "broker " << id << " joined: balancing partitions";
            balancing_ = true;
          }
        }
        if (options_.balancer.mode == AutoBalancerMode::kContinuous) balancing_ = true;
        const int64_t moving = MovingPartitions(image);
        int64_t started = 0;
        if (moving < options_.balancer.concurrent_moves) {
          const BalancePlan plan =
              Plan(image, balancing_ ? PlanScope::kEvenOut : PlanScope::kRepairs);
          started = StartMoves(plan, batch);
          if (started > 0) {
            SAMSA_LOG(INFO) << "balancer: started " << started << " move(s), "
                            << MovingPartitions(batch.image()) << " partition(s) moving";
          }
          if (balancing_ && plan.moves.empty()) balancing_ = false;
        }
        if (elect_after_moves_ && moving == 0 && started == 0) {
          elect_after_moves_ = false;
          absl::StatusOr<int64_t> moved = controller::ElectPreferredLeaders(batch, 0);
          if (moved.ok() && *moved > 0) {
            SAMSA_LOG(INFO) << "balancer: moved " << *moved
                            << " leadership(s) to their preferred replica";
          }
        }
      },
      WriteMode::kPropose, [](const v1::Error&, const v1::LeaderHint&) {});
  if (options_.probe != nullptr) options_.probe->OnBytesLeftToMove(BytesLeftToMove());
}

int64_t QuorumController::BytesLeftToMove() const {
  v1::ListPartitionReassignmentsResponse moves;
  {
    absl::MutexLock lock(&mu_);
    if (!active_) return 0;
    moves = ListMovesLocked({});
  }
  int64_t left = 0;
  for (const v1::PartitionReassignment& m : moves.reassignments()) {
    if (m.bytes_total() >= 0 && m.bytes_copied() >= 0) {
      left += std::max<int64_t>(0, m.bytes_total() - m.bytes_copied());
    }
  }
  return left;
}

void QuorumController::DecommissionBroker(const v1::DecommissionBrokerRequest& request,
                                          Done<v1::DecommissionBrokerResponse> done) {
  auto response = std::make_shared<v1::DecommissionBrokerResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        *response = controller::DecommissionBroker(request, batch);
        if (response->error().code() != v1::NONE || batch.empty()) return;
        SAMSA_LOG(INFO) << "broker " << request.broker_id()
                        << (request.recommission() ? " recommissioned" : " is being decommissioned")
                        << "; it holds " << response->replicas() << " replica(s)";
        balancing_ = options_.balancer.mode != AutoBalancerMode::kOff;
      },
      WriteMode::kPropose, AnswerWith(response, std::move(done)));
}

void QuorumController::BalancePartitions(const v1::BalancePartitionsRequest& request,
                                         Done<v1::BalancePartitionsResponse> done) {
  auto response = std::make_shared<v1::BalancePartitionsResponse>();
  Write(
      [&](PendingBatch& batch) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        const BalancePlan plan = Plan(batch.image(), PlanScope::kEvenOut);
        for (const PlannedMove& m : plan.moves) {
          v1::PlannedMove* out = response->add_moves();
          out->set_topic(m.topic);
          out->set_partition(m.partition);
          for (NodeId r : m.from) out->add_replicas(r.value());
          for (NodeId r : m.to) out->add_target(r.value());
        }
        for (const std::string& u : plan.unplaceable) response->add_unplaceable(u);
        if (request.dry_run()) return;
        const int64_t started = StartMoves(plan, batch);
        SAMSA_LOG(INFO) << "cluster balance: started " << started << " move(s)";
        balancing_ = true;
      },
      ModeOf(request.dry_run()), AnswerWith(response, std::move(done)));
}

v1::DescribeTopicsResponse QuorumController::DescribeTopics(
    const v1::DescribeTopicsRequest& request) const {
  return controller::DescribeTopics(request, *committed());
}

v1::DescribeConfigsResponse QuorumController::DescribeConfigs(
    const v1::DescribeConfigsRequest& request) const {
  return controller::DescribeConfigs(request, *committed());
}

v1::DescribeClusterResponse QuorumController::DescribeCluster() const {
  const std::shared_ptr<const MetadataImage> image = committed();
  v1::DescribeClusterResponse r;
  r.set_metadata_offset(image->offset());
  r.set_controller_id(Hint().leader_id());
  absl::flat_hash_map<NodeId, std::pair<int32_t, int32_t>> held;  // replicas, preferred leads
  for (const auto& [name, topic] : image->topics()) {
    for (const PartitionImage& p : topic->partitions) {
      for (NodeId id : p.replicas) ++held[id].first;
      if (!p.replicas.empty()) ++held[p.replicas.front()].second;
    }
  }
  for (const auto& [id, b] : image->brokers()) {
    v1::BrokerDescription* d = r.add_brokers();
    DescribeBroker(b, d);
    d->set_replicas(held[id].first);
    d->set_preferred_leaders(held[id].second);
  }
  for (const auto& [k, v] : image->cluster_configs()) (*r.mutable_cluster_configs())[k] = v;
  {
    absl::MutexLock lock(&mu_);
    for (v1::BrokerDescription& d : *r.mutable_brokers()) {
      auto disk = usage_.disks.find(NodeId(d.broker_id()));
      d.set_log_bytes(active_ && disk != usage_.disks.end() ? disk->second.log_bytes : -1);
    }
  }
  v1::BalancerStatus* balancer = r.mutable_balancer();
  balancer->set_mode(AutoBalancerModeName(options_.balancer.mode));
  balancer->set_partitions_moving(static_cast<int32_t>(MovingPartitions(*image)));
  balancer->set_bytes_left(-1);
  bool active = false;
  {
    absl::MutexLock lock(&mu_);
    active = active_;
    if (active_ && last_plan_at_ > absl::UnixEpoch()) {
      balancer->set_last_plan_at_ms(absl::ToUnixMillis(last_plan_at_));
      balancer->set_last_plan_moves(static_cast<int32_t>(last_plan_moves_));
      for (const std::string& u : last_unplaceable_) balancer->add_unplaceable(u);
    }
  }
  if (active) balancer->set_bytes_left(BytesLeftToMove());
  return r;
}

v1::DescribeQuorumResponse QuorumController::DescribeQuorum() const {
  v1::DescribeQuorumResponse r;
  raft::Status s;
  {
    absl::MutexLock lock(&mu_);  // keeps node_ alive (Attach(nullptr) waits)
    if (node_ != nullptr) s = node_->status();
  }
  if (s.role != raft::Role::kLeader) {
    *r.mutable_error() = MakeError(
        v1::NOT_CONTROLLER,
        absl::StrCat("controller ", options_.node_id.value(), " does not lead the quorum"));
    *r.mutable_controller() = Hint();
    return r;
  }
  r.set_leader_id(s.leader.value());
  r.set_term(s.term.value());
  r.set_commit_index(s.commit.value());
  r.set_last_index(s.last_index.value());
  for (NodeId id : s.conf.voters) {
    v1::DescribeQuorumResponse::Voter* v = r.add_voters();
    v->set_id(id.value());
    if (auto it = options_.voters.find(id); it != options_.voters.end()) {
      v->set_address(it->second);
    }
    const raft::Index match = id == s.id             ? s.last_index
                              : s.match.contains(id) ? s.match.at(id)
                                                     : raft::Index(0);
    v->set_match_index(match.value());
    v->set_lag(s.last_index.value() - match.value());
  }
  return r;
}

}  // namespace samsa::controller
