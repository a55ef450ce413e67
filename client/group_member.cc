#include "client/group_member.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "common/await.h"
#include "common/clock.h"

namespace samsa::client {
namespace {

// Errors that mean "ask where the coordinator is again".
bool CoordinatorMoved(v1::ErrorCode code) {
  return code == v1::NOT_COORDINATOR || code == v1::COORDINATOR_NOT_AVAILABLE ||
         code == v1::COORDINATOR_LOAD_IN_PROGRESS;
}

}  // namespace

GroupMember::GroupMember(const ConsumerConfig* config, Transport* transport, Metadata* metadata,
                         Host host)
    : config_(*config), transport_(transport), metadata_(metadata), host_(std::move(host)) {}

GroupMember::~GroupMember() { Leave(MonotonicNow()); }

void GroupMember::Subscribe(std::vector<std::string> topics, RebalanceListener listener) {
  bool start = false;
  {
    absl::MutexLock lock(&mu_);
    start = subscription_.empty();
    subscription_ = std::move(topics);
    subscription_sent_ = false;
    listener_ = std::move(listener);
    if (start && config_.enable_auto_commit) {
      next_auto_commit_ = MonotonicNow() + config_.auto_commit_interval;
    }
  }
  if (start) {
    host_.assign({});
    thread_ = std::thread([this] { Loop(); });
  }
}

absl::StatusOr<std::string> GroupMember::Coordinator(absl::Duration timeout, Cancellation* cancel) {
  {
    absl::MutexLock lock(&mu_);
    if (!coordinator_.empty()) return coordinator_;
  }
  v1::FindCoordinatorRequest req;
  req.set_group(config_.group_id);
  absl::StatusOr<v1::FindCoordinatorResponse> r =
      AwaitCallback<absl::StatusOr<v1::FindCoordinatorResponse>>(
          [&](auto reply) {
            transport_->FindCoordinator(metadata_->AnyBroker(), req, timeout, std::move(reply));
          },
          timeout + absl::Seconds(5), cancel);
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) return KafkaError(r->error());
  absl::MutexLock lock(&mu_);
  coordinator_ = r->address();
  return coordinator_;
}

void GroupMember::Loop() {
  while (true) {
    std::map<TopicPartition, int64_t> commit;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      wake_ = false;
      commit.swap(pending_commit_);
    }
    HeartbeatOnce();
    if (!commit.empty()) (void)CommitOffsets(commit, config_.request_timeout, &stopping_);
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
    wakeup_.Wait(mu_, woken, heartbeat_interval_);
  }
}

void GroupMember::Wake() {
  wake_ = true;
  wakeup_.Notify();
}

void GroupMember::HeartbeatOnce() {
  absl::StatusOr<std::string> coordinator = Coordinator(config_.request_timeout, &stopping_);
  if (!coordinator.ok()) {
    absl::MutexLock lock(&mu_);
    heartbeat_interval_ = config_.retry_backoff;
    return;
  }
  v1::ConsumerGroupHeartbeatRequest req;
  req.set_group(config_.group_id);
  req.set_client_id(config_.client_id);
  req.set_instance_id(config_.group_instance_id);
  req.set_rebalance_timeout_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(config_.rebalance_timeout)));
  {
    absl::MutexLock lock(&mu_);
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
          config_.request_timeout + absl::Seconds(5), &stopping_);
  const v1::ErrorCode code = r.ok() ? r->error().code() : v1::NETWORK_EXCEPTION;
  bool lost = false;
  if (code != v1::NONE) {
    absl::MutexLock lock(&mu_);
    heartbeat_interval_ = config_.retry_backoff;
    if (!r.ok() || CoordinatorMoved(code)) {
      coordinator_.clear();
    } else if (code == v1::UNKNOWN_MEMBER_ID || code == v1::FENCED_MEMBER_EPOCH) {
      // Fenced: what it owned may already be someone else's. Drop it
      // without committing and join again.
      member_epoch_ = 0;
      lost_.insert(lost_.end(), owned_.begin(), owned_.end());
      owned_.clear();
      committed_.clear();
      target_.reset();
      lost = true;
    } else if (code == v1::UNRELEASED_INSTANCE_ID) {
      // The previous holder of this instance id has not left: once it does
      // or its session expires, the join goes through.
      heartbeat_interval_ = std::max(config_.retry_backoff, absl::Seconds(1));
    }
  }
  if (lost) {
    host_.assign({});
    host_.changed();
  }
  if (code != v1::NONE) return;
  std::set<TopicPartition> next;
  for (const v1::TopicPartitions& t : r->assignment().topics()) {
    for (int32_t p : t.partitions()) next.insert({t.topic(), p});
  }
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    member_id_ = r->member_id();
    member_epoch_ = r->member_epoch();
    subscription_sent_ = true;
    heartbeat_interval_ = absl::Milliseconds(std::max(r->heartbeat_interval_ms(), 10));
    changed = next != owned_;
    target_ = std::move(next);
  }
  if (changed) host_.changed();
}

void GroupMember::ApplyChanges() {
  std::optional<std::set<TopicPartition>> next;
  std::vector<TopicPartition> lost, owned;
  std::function<void(const std::vector<TopicPartition>&)> on_lost;
  bool commit_due = false;
  {
    absl::MutexLock lock(&mu_);
    if (subscription_.empty() || stop_) return;
    next.swap(target_);
    lost.swap(lost_);
    on_lost = listener_.on_lost;
    commit_due = MonotonicNow() >= next_auto_commit_;
    if (commit_due) next_auto_commit_ = MonotonicNow() + config_.auto_commit_interval;
    owned.assign(owned_.begin(), owned_.end());
  }
  if (!lost.empty() && on_lost) on_lost(lost);
  if (commit_due) {
    // Everything the polls before this one returned has been handled.
    std::map<TopicPartition, int64_t> positions = host_.positions(owned);
    absl::MutexLock lock(&mu_);
    DropCommitted(&positions);
    for (auto& [tp, offset] : positions) pending_commit_[tp] = offset;
    if (!pending_commit_.empty()) Wake();
  }
  if (next.has_value()) Reconcile(*next);
}

void GroupMember::Reconcile(const std::set<TopicPartition>& next) {
  std::vector<TopicPartition> revoked, added;
  RebalanceListener listener;
  {
    absl::MutexLock lock(&mu_);
    for (const TopicPartition& tp : owned_) {
      if (!next.contains(tp)) revoked.push_back(tp);
    }
    for (const TopicPartition& tp : next) {
      if (!owned_.contains(tp)) added.push_back(tp);
    }
    listener = listener_;
  }
  if (revoked.empty() && added.empty()) return;
  if (!revoked.empty()) {
    if (listener.on_revoked) listener.on_revoked(revoked);
    if (config_.enable_auto_commit) {
      std::map<TopicPartition, int64_t> positions = host_.positions(revoked);
      {
        absl::MutexLock lock(&mu_);
        DropCommitted(&positions);
      }
      (void)CommitOffsets(positions, config_.request_timeout);
    }
  }
  // Where the new partitions start: the group's committed offsets.
  std::map<TopicPartition, int64_t> committed;
  bool fetched = added.empty();
  if (!added.empty()) {
    absl::StatusOr<std::string> coordinator = Coordinator(config_.request_timeout, nullptr);
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
        fetched = true;
        for (const v1::OffsetFetchResponse::Partition& p : r->partitions()) {
          if (p.offset() >= 0) committed[{p.topic(), p.partition()}] = p.offset();
        }
      }
    }
  }
  std::vector<TopicPartition> now;
  {
    absl::MutexLock lock(&mu_);
    for (const TopicPartition& tp : revoked) {
      owned_.erase(tp);
      committed_.erase(tp);
    }
    if (fetched) {
      for (const TopicPartition& tp : added) {
        owned_.insert(tp);
        if (auto it = committed.find(tp); it != committed.end()) committed_[tp] = it->second;
      }
    } else if (!target_.has_value()) {
      // Without the committed offsets the new partitions wait for the next
      // Poll rather than start at the reset position.
      target_ = next;
    }
    now.assign(owned_.begin(), owned_.end());
    Wake();  // tell the coordinator at once
  }
  host_.assign(now);
  for (const auto& [tp, offset] : committed) host_.seek(tp, offset);
  if (fetched && !added.empty() && listener.on_assigned) listener.on_assigned(added);
}

void GroupMember::DropCommitted(std::map<TopicPartition, int64_t>* offsets) {
  std::erase_if(*offsets, [this](const auto& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = committed_.find(entry.first);
    return it != committed_.end() && it->second == entry.second;
  });
}

absl::Status GroupMember::CommitOffsets(const std::map<TopicPartition, int64_t>& offsets,
                                        absl::Duration timeout, Cancellation* cancel) {
  const absl::Time deadline = MonotonicNow() + timeout;
  while (true) {
    absl::Status st = CommitOnce(offsets, deadline - MonotonicNow(), cancel);
    // The coordinator moving or loading, or a lost answer: commit again (a
    // commit is idempotent). Fenced (a stale epoch) is final.
    const std::optional<v1::ErrorCode> code = KafkaCodeOf(st);
    const bool retriable = code.has_value() ? IsRetriable(*code)
                                            : st.code() == absl::StatusCode::kUnavailable ||
                                                  st.code() == absl::StatusCode::kDeadlineExceeded;
    if (st.ok() || !retriable || MonotonicNow() + config_.retry_backoff >= deadline ||
        (cancel != nullptr && cancel->cancelled())) {
      return st;
    }
    absl::SleepFor(config_.retry_backoff);
  }
}

absl::Status GroupMember::CommitOnce(const std::map<TopicPartition, int64_t>& offsets,
                                     absl::Duration timeout, Cancellation* cancel) {
  if (offsets.empty()) return absl::OkStatus();
  v1::OffsetCommitRequest req;
  req.set_group(config_.group_id);
  {
    absl::MutexLock lock(&mu_);
    req.set_member_id(member_id_);
    req.set_member_epoch(member_epoch_);
  }
  for (const auto& [tp, offset] : offsets) {
    v1::OffsetCommitRequest::Partition* p = req.add_partitions();
    p->set_topic(tp.topic);
    p->set_partition(tp.partition);
    p->set_offset(offset);
    p->set_leader_epoch(-1);
  }
  absl::StatusOr<std::string> coordinator = Coordinator(timeout, cancel);
  if (!coordinator.ok()) return coordinator.status();
  absl::StatusOr<v1::OffsetCommitResponse> r =
      AwaitCallback<absl::StatusOr<v1::OffsetCommitResponse>>(
          [&](auto reply) {
            transport_->OffsetCommit(*coordinator, req, timeout, std::move(reply));
          },
          timeout + absl::Seconds(5), cancel);
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) {
    if (CoordinatorMoved(r->error().code())) {
      absl::MutexLock lock(&mu_);
      coordinator_.clear();
    }
    return KafkaError(r->error());
  }
  for (const v1::OffsetCommitResponse::Partition& p : r->partitions()) {
    if (p.error().code() != v1::NONE) {
      return WithContext(KafkaError(p.error()), absl::StrCat(p.topic(), "-", p.partition()));
    }
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [tp, offset] : offsets) {
    if (owned_.contains(tp)) committed_[tp] = offset;
  }
  return absl::OkStatus();
}

void GroupMember::Leave(absl::Time deadline) {
  bool in_group = false;
  {
    absl::MutexLock lock(&mu_);
    in_group = !subscription_.empty() && !stop_;
    stop_ = true;
    wakeup_.Notify();
  }
  stopping_.Cancel();
  if (thread_.joinable()) thread_.join();
  if (!in_group) return;
  std::vector<TopicPartition> owned;
  std::function<void(const std::vector<TopicPartition>&)> on_revoked;
  {
    absl::MutexLock lock(&mu_);
    owned.assign(owned_.begin(), owned_.end());
    on_revoked = listener_.on_revoked;
  }
  if (!owned.empty() && on_revoked) on_revoked(owned);
  // Each call gets what is left of the close's time.
  auto left = [&] {
    return std::max(absl::ZeroDuration(),
                    std::min(config_.request_timeout, deadline - MonotonicNow()));
  };
  if (config_.enable_auto_commit) {
    std::map<TopicPartition, int64_t> positions = host_.positions(owned);
    {
      absl::MutexLock lock(&mu_);
      DropCommitted(&positions);
    }
    (void)CommitOffsets(positions, left());
  }
  v1::ConsumerGroupHeartbeatRequest req;
  req.set_group(config_.group_id);
  {
    absl::MutexLock lock(&mu_);
    if (member_id_.empty()) return;
    req.set_member_id(member_id_);
  }
  // A dynamic member's partitions go to the others now; a static member's
  // wait for it to come back within its session timeout.
  req.set_member_epoch(config_.group_instance_id.empty() ? -1 : -2);
  absl::StatusOr<std::string> coordinator = Coordinator(left(), nullptr);
  if (!coordinator.ok()) return;
  const absl::Duration timeout = left();
  (void)AwaitCallback<absl::StatusOr<v1::ConsumerGroupHeartbeatResponse>>(
      [&](auto reply) {
        transport_->ConsumerGroupHeartbeat(*coordinator, req, timeout, std::move(reply));
      },
      timeout);
}

absl::Status GroupMember::Commit(absl::Duration timeout) {
  std::vector<TopicPartition> owned;
  {
    absl::MutexLock lock(&mu_);
    if (subscription_.empty())
      return absl::FailedPreconditionError("not in a group: Subscribe first");
    owned.assign(owned_.begin(), owned_.end());
  }
  return CommitOffsets(host_.positions(owned), timeout);
}

}  // namespace samsa::client
