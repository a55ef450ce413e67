// Consumer's group membership (consumer.h): a thread that finds the group's
// coordinator, heartbeats (KIP-848), adopts the assignments it answers and
// commits positions.
#include "absl/strings/str_cat.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "common/await.h"

namespace samsa::client {
namespace {

// Errors that mean "ask where the coordinator is again".
bool CoordinatorMoved(v1::ErrorCode code) {
  return code == v1::NOT_COORDINATOR || code == v1::COORDINATOR_NOT_AVAILABLE ||
         code == v1::COORDINATOR_LOAD_IN_PROGRESS;
}

}  // namespace

absl::Status Consumer::Subscribe(std::vector<std::string> topics) {
  if (config_.group_id.empty()) {
    return absl::FailedPreconditionError("Subscribe needs ConsumerConfig::group_id");
  }
  if (topics.empty()) return absl::InvalidArgumentError("Subscribe needs at least one topic");
  bool start = false;
  {
    absl::MutexLock lock(&group_mu_);
    start = subscription_.empty();
    subscription_ = std::move(topics);
    subscription_sent_ = false;
  }
  if (start) {
    Assign({});
    group_thread_ = std::thread([this] { GroupLoop(); });
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Consumer::Coordinator(absl::Duration timeout) {
  {
    absl::MutexLock lock(&group_mu_);
    if (!coordinator_.empty()) return coordinator_;
  }
  v1::FindCoordinatorRequest req;
  req.set_group(config_.group_id);
  absl::StatusOr<v1::FindCoordinatorResponse> r =
      AwaitCallback<absl::StatusOr<v1::FindCoordinatorResponse>>(
          [&](auto reply) {
            transport_->FindCoordinator(metadata_.AnyBroker(), req, timeout, std::move(reply));
          },
          timeout + absl::Seconds(5));
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) return KafkaError(r->error());
  absl::MutexLock lock(&group_mu_);
  coordinator_ = r->address();
  return coordinator_;
}

void Consumer::GroupLoop() {
  absl::Time next_commit = absl::Now() + config_.auto_commit_interval;
  while (true) {
    absl::Duration wait;
    {
      absl::MutexLock lock(&group_mu_);
      if (group_stop_) return;
      wait = heartbeat_interval_;
    }
    HeartbeatOnce();
    if (config_.enable_auto_commit && absl::Now() >= next_commit) {
      std::vector<TopicPartition> owned;
      {
        absl::MutexLock lock(&group_mu_);
        owned.assign(owned_.begin(), owned_.end());
      }
      if (!owned.empty()) (void)CommitPositions(owned, config_.request_timeout);
      next_commit = absl::Now() + config_.auto_commit_interval;
    }
    absl::MutexLock lock(&group_mu_);
    if (heartbeat_interval_ < wait) wait = heartbeat_interval_;  // asked to come back sooner
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(group_mu_) { return group_stop_; };
    group_mu_.AwaitWithTimeout(absl::Condition(&stopping), wait);
  }
}

void Consumer::HeartbeatOnce() {
  absl::StatusOr<std::string> coordinator = Coordinator(config_.request_timeout);
  if (!coordinator.ok()) {
    absl::MutexLock lock(&group_mu_);
    heartbeat_interval_ = config_.retry_backoff;
    return;
  }
  v1::ConsumerGroupHeartbeatRequest req;
  req.set_group(config_.group_id);
  req.set_client_id(config_.client_id);
  {
    absl::MutexLock lock(&group_mu_);
    req.set_member_id(member_id_);
    req.set_member_epoch(member_epoch_);
    if (member_epoch_ == 0 || !subscription_sent_) {
      for (const std::string& t : subscription_) req.mutable_subscription()->add_topics(t);
    }
    std::map<std::string, v1::TopicPartitions*> by_topic;
    v1::GroupAssignment* owned = req.mutable_owned();
    for (const TopicPartition& tp : owned_) {
      v1::TopicPartitions*& t = by_topic[tp.topic];
      if (t == nullptr) {
        t = owned->add_topics();
        t->set_topic(tp.topic);
      }
      t->add_partitions(tp.partition);
    }
  }
  absl::StatusOr<v1::ConsumerGroupHeartbeatResponse> r =
      AwaitCallback<absl::StatusOr<v1::ConsumerGroupHeartbeatResponse>>(
          [&](auto reply) {
            transport_->ConsumerGroupHeartbeat(*coordinator, req, config_.request_timeout,
                                               std::move(reply));
          },
          config_.request_timeout + absl::Seconds(5));
  const v1::ErrorCode code = r.ok() ? r->error().code() : v1::NETWORK_EXCEPTION;
  bool lost = false;
  if (code != v1::NONE) {
    absl::MutexLock lock(&group_mu_);
    heartbeat_interval_ = config_.retry_backoff;
    if (!r.ok() || CoordinatorMoved(code)) {
      coordinator_.clear();
    } else if (code == v1::UNKNOWN_MEMBER_ID || code == v1::FENCED_MEMBER_EPOCH) {
      // Fenced: what it owned may already be someone else's. Drop it
      // without committing and join again.
      member_epoch_ = 0;
      owned_.clear();
      lost = true;
    }
  }
  if (lost) Assign({});
  if (code != v1::NONE) return;
  {
    absl::MutexLock lock(&group_mu_);
    member_id_ = r->member_id();
    member_epoch_ = r->member_epoch();
    subscription_sent_ = true;
    heartbeat_interval_ = absl::Milliseconds(std::max(r->heartbeat_interval_ms(), 10));
  }
  Reconcile(r->assignment());
}

void Consumer::Reconcile(const v1::GroupAssignment& assignment) {
  std::set<TopicPartition> next;
  for (const v1::TopicPartitions& t : assignment.topics()) {
    for (int32_t p : t.partitions()) next.insert({t.topic(), p});
  }
  std::vector<TopicPartition> revoked, added;
  {
    absl::MutexLock lock(&group_mu_);
    for (const TopicPartition& tp : owned_) {
      if (!next.contains(tp)) revoked.push_back(tp);
    }
    for (const TopicPartition& tp : next) {
      if (!owned_.contains(tp)) added.push_back(tp);
    }
  }
  if (revoked.empty() && added.empty()) return;
  if (!revoked.empty() && config_.enable_auto_commit) {
    (void)CommitPositions(revoked, config_.request_timeout);
  }
  // Where the new partitions start: the group's committed offsets.
  std::map<TopicPartition, int64_t> committed;
  if (!added.empty()) {
    absl::StatusOr<std::string> coordinator = Coordinator(config_.request_timeout);
    v1::OffsetFetchRequest req;
    req.set_group(config_.group_id);
    for (const TopicPartition& tp : added) {
      v1::TopicPartition* p = req.add_partitions();
      p->set_topic(tp.topic);
      p->set_partition(tp.partition);
    }
    if (coordinator.ok()) {
      absl::StatusOr<v1::OffsetFetchResponse> r =
          AwaitCallback<absl::StatusOr<v1::OffsetFetchResponse>>(
              [&](auto reply) {
                transport_->OffsetFetch(*coordinator, req, config_.request_timeout,
                                        std::move(reply));
              },
              config_.request_timeout + absl::Seconds(5));
      if (r.ok() && r->error().code() == v1::NONE) {
        for (const v1::OffsetFetchResponse::Partition& p : r->partitions()) {
          if (p.offset() >= 0) committed[{p.topic(), p.partition()}] = p.offset();
        }
      } else {
        // Without the committed offsets the new partitions wait for the
        // next heartbeat rather than start at the reset position.
        added.clear();
      }
    } else {
      added.clear();
    }
  }
  std::vector<TopicPartition> now;
  {
    absl::MutexLock lock(&group_mu_);
    for (const TopicPartition& tp : revoked) owned_.erase(tp);
    for (const TopicPartition& tp : added) owned_.insert(tp);
    now.assign(owned_.begin(), owned_.end());
    heartbeat_interval_ = absl::ZeroDuration();  // tell the coordinator at once
  }
  Assign(now);
  for (const auto& [tp, offset] : committed) (void)Seek(tp, offset);
}

absl::Status Consumer::CommitPositions(const std::vector<TopicPartition>& partitions,
                                       absl::Duration timeout) {
  v1::OffsetCommitRequest req;
  req.set_group(config_.group_id);
  {
    absl::MutexLock lock(&group_mu_);
    req.set_member_id(member_id_);
    req.set_member_epoch(member_epoch_);
  }
  {
    absl::MutexLock lock(&mu_);
    for (const TopicPartition& tp : partitions) {
      auto it = parts_.find(tp);
      if (it == parts_.end() || !it->second.position.has_value()) continue;
      v1::OffsetCommitRequest::Partition* p = req.add_partitions();
      p->set_topic(tp.topic);
      p->set_partition(tp.partition);
      p->set_offset(*it->second.position);
      p->set_leader_epoch(-1);
    }
  }
  if (req.partitions().empty()) return absl::OkStatus();
  absl::StatusOr<std::string> coordinator = Coordinator(timeout);
  if (!coordinator.ok()) return coordinator.status();
  absl::StatusOr<v1::OffsetCommitResponse> r =
      AwaitCallback<absl::StatusOr<v1::OffsetCommitResponse>>(
          [&](auto reply) {
            transport_->OffsetCommit(*coordinator, req, timeout, std::move(reply));
          },
          timeout + absl::Seconds(5));
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) {
    if (CoordinatorMoved(r->error().code())) {
      absl::MutexLock lock(&group_mu_);
      coordinator_.clear();
    }
    return KafkaError(r->error());
  }
  for (const v1::OffsetCommitResponse::Partition& p : r->partitions()) {
    if (p.error().code() != v1::NONE) {
      return WithContext(KafkaError(p.error()), absl::StrCat(p.topic(), "-", p.partition()));
    }
  }
  return absl::OkStatus();
}

void Consumer::LeaveGroup() {
  bool in_group = false;
  {
    absl::MutexLock lock(&group_mu_);
    in_group = !subscription_.empty() && !group_stop_;
    group_stop_ = true;
  }
  if (group_thread_.joinable()) group_thread_.join();
  if (!in_group) return;
  if (config_.enable_auto_commit) (void)Commit(config_.request_timeout);
  v1::ConsumerGroupHeartbeatRequest req;
  req.set_group(config_.group_id);
  {
    absl::MutexLock lock(&group_mu_);
    if (member_id_.empty()) return;
    req.set_member_id(member_id_);
  }
  req.set_member_epoch(-1);  // leaving: its partitions go to the others now
  absl::StatusOr<std::string> coordinator = Coordinator(config_.request_timeout);
  if (!coordinator.ok()) return;
  (void)AwaitCallback<absl::StatusOr<v1::ConsumerGroupHeartbeatResponse>>(
      [&](auto reply) {
        transport_->ConsumerGroupHeartbeat(*coordinator, req, config_.request_timeout,
                                           std::move(reply));
      },
      config_.request_timeout + absl::Seconds(5));
}

absl::Status Consumer::Commit(absl::Duration timeout) {
  std::vector<TopicPartition> owned;
  {
    absl::MutexLock lock(&group_mu_);
    if (subscription_.empty())
      return absl::FailedPreconditionError("not in a group: Subscribe first");
    owned.assign(owned_.begin(), owned_.end());
  }
  return CommitPositions(owned, timeout);
}

}  // namespace samsa::client
