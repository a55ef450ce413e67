#include "raft/node.h"

#include "absl/time/clock.h"
#include "common/logging.h"

namespace samsa::raft {

Node::Node(NodeOptions options, DurableLog* log, StateMachine* state, Transport* transport,
           Restored restored)
    : options_(options),
      log_(log),
      state_(state),
      transport_(transport),
      raft_(options.raft, std::move(restored)),
      last_snapshot_(raft_.log().snapshot().index) {}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(NodeOptions options, DurableLog* log,
                                                  StateMachine* state, Transport* transport) {
  absl::StatusOr<Restored> restored = log->Load();
  if (!restored.ok()) return restored.status();
  if (absl::Status st = state->Restore(restored->snapshot_data); !st.ok()) return st;
  std::unique_ptr<Node> node(new Node(options, log, state, transport, std::move(*restored)));
  {
    absl::MutexLock lock(&node->mu_);
    node->status_ = node->raft_.status();
  }
  node->thread_ = std::thread([n = node.get()] { n->Loop(); });
  node->sync_thread_ = std::thread([n = node.get()] { n->SyncLoop(); });
  return node;
}

Node::~Node() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  wakeup_.Notify();
  sync_wakeup_.Notify();
  thread_.join();
  sync_thread_.join();
  const absl::Status stopped = absl::UnavailableError("the raft node stopped");
  for (auto& [index, p] : pending_) p.done(stopped);
  for (auto& [ctx, done] : reads_) done(stopped);
  for (ConfirmedRead& r : confirmed_reads_) r.done(stopped);
  absl::MutexLock lock(&mu_);
  for (Proposal& p : proposals_) p.done(stopped);
  for (ProposeCallback& done : read_requests_) done(stopped);
}

void Node::Receive(Message m) {
  {
    absl::MutexLock lock(&mu_);
    inbox_.push_back(std::move(m));
  }
  wakeup_.Notify();
}

void Node::Propose(std::string data, ProposeCallback done) {
  Enqueue({std::move(data), false, {}, std::move(done), Term(0)});
}

void Node::ProposeInTerm(Term term, std::string data, ProposeCallback done) {
  Enqueue({std::move(data), false, {}, std::move(done), term});
}

void Node::ProposeConfChange(ConfChange change, ProposeCallback done) {
  Enqueue({{}, true, change, std::move(done), Term(0)});
}

void Node::Enqueue(Proposal p) {
  absl::Status failed;
  {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) proposals_.push_back(std::move(p));
    failed = failure_;
  }
  if (failed.ok()) return wakeup_.Notify();
  // A stopped node answers at once rather than queueing forever.
  p.done(absl::UnavailableError(failed.message()));
}

void Node::ReadIndex(ProposeCallback done) {
  {
    absl::MutexLock lock(&mu_);
    read_requests_.push_back(std::move(done));
  }
  wakeup_.Notify();
}

void Node::TransferLeadership(NodeId to) {
  {
    absl::MutexLock lock(&mu_);
    transfer_to_ = to;
  }
  wakeup_.Notify();
}

Status Node::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

absl::Status Node::failure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

void Node::Fail(const absl::Status& st) {
  SAMSA_LOG(ERROR) << "raft node " << options_.raft.id << " stops: " << st;
  {
    // Before any callback: a proposer that hears UNAVAILABLE can ask why.
    absl::MutexLock lock(&mu_);
    failure_ = st;
  }
  for (auto& [index, p] : pending_) p.done(absl::UnavailableError(st.message()));
  pending_.clear();
  for (auto& [ctx, done] : reads_) done(absl::UnavailableError(st.message()));
  reads_.clear();
  for (ConfirmedRead& r : confirmed_reads_) r.done(absl::UnavailableError(st.message()));
  confirmed_reads_.clear();
}

void Node::Loop() {
  absl::Time next_tick = MonotonicNow() + options_.tick;
  while (true) {
    std::deque<Message> inbox;
    std::deque<Proposal> proposals;
    std::deque<ProposeCallback> reads;
    NodeId transfer_to = kNoNode;
    std::optional<std::pair<Index, Term>> synced;
    absl::Status sync_failed;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !inbox_.empty() || !proposals_.empty() || !read_requests_.empty() ||
               transfer_to_ != kNoNode || synced_.has_value() || !sync_failure_.ok();
      };
      wakeup_.WaitUntil(mu_, has_work, next_tick);
      if (stop_ || !failure_.ok()) return;
      sync_failed = sync_failure_;
      std::swap(synced, synced_);
      inbox.swap(inbox_);
      proposals.swap(proposals_);
      reads.swap(read_requests_);
      std::swap(transfer_to, transfer_to_);
    }
    if (!sync_failed.ok()) {
      Fail(sync_failed);
      return;
    }
    if (synced.has_value()) raft_.Synced(synced->first, synced->second);
    for (Message& m : inbox) raft_.Step(m);
    if (const absl::Time now = MonotonicNow(); now >= next_tick) {
      raft_.Tick();
      next_tick += options_.tick;
      if (next_tick < now) next_tick = now + options_.tick;  // fell behind
    }
    if (transfer_to != kNoNode) (void)raft_.TransferLeadership(transfer_to);
    for (Proposal& p : proposals) {
      if (p.term != Term(0) && (p.term != raft_.term() || raft_.role() != Role::kLeader)) {
        p.done(absl::AbortedError("the leadership the proposal was made for is over"));
        continue;
      }
      absl::StatusOr<Index> index =
          p.conf ? raft_.ProposeConfChange(p.change) : raft_.Propose(std::move(p.data));
      if (!index.ok()) {
        p.done(index.status());
      } else {
        pending_[index->value()] = Pending{raft_.term(), std::move(p.done)};
      }
    }
    for (ProposeCallback& done : reads) {
      const uint64_t ctx = ++next_read_;
      if (absl::Status st = raft_.ReadIndex(ctx); !st.ok()) {
        done(st);
      } else {
        reads_[ctx] = std::move(done);
      }
    }
    NotifyLeadership();
    if (!DrainReady()) return;
    if (raft_.role() != Role::kLeader) {
      // The core dropped its unconfirmed reads with its leadership.
      for (auto& [ctx, done] : reads_) {
        done(absl::AbortedError("leadership changed before the read was confirmed"));
      }
      reads_.clear();
    }
    PublishStatus();
  }
}

void Node::NotifyLeadership() {
  if (raft_.role() == notified_role_ && raft_.term() == notified_term_ &&
      raft_.leader() == notified_leader_) {
    return;
  }
  notified_role_ = raft_.role();
  notified_term_ = raft_.term();
  notified_leader_ = raft_.leader();
  state_->OnLeadershipChange(raft_.status());
}

void Node::PublishStatus() {
  Status status = raft_.status();
  if (options_.probe != nullptr) options_.probe->OnStatus(status);
  absl::MutexLock lock(&mu_);
  status_ = std::move(status);
}

void Node::RequestSync(Index index, Term term) {
  {
    absl::MutexLock lock(&mu_);
    sync_wanted_ = {index, term};
  }
  sync_wakeup_.Notify();
}

void Node::SyncLoop() {
  while (true) {
    std::pair<Index, Term> wanted;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || sync_wanted_.has_value();
      };
      sync_wakeup_.Wait(mu_, has_work, absl::InfiniteDuration());
      if (stop_) return;
      wanted = *sync_wanted_;
      sync_wanted_.reset();
    }
    // Covers every write made before it started: `wanted` and anything
    // written after it too.
    const absl::Time start = MonotonicNow();
    const absl::Status st = log_->Sync();
    if (options_.probe != nullptr) {
      options_.probe->OnPersist(absl::ToDoubleSeconds(MonotonicNow() - start));
    }
    {
      absl::MutexLock lock(&mu_);
      if (st.ok()) {
        synced_ = wanted;
      } else {
        sync_failure_ = st;
      }
    }
    wakeup_.Notify();
    if (!st.ok()) return;
  }
}

bool Node::WriteUnsynced(const Ready& rd) {
  for (const Message& m : rd.messages) transport_->Send(m);
  if (rd.entries.empty()) return true;
  if (absl::Status st = log_->Write(rd.entries); !st.ok()) {
    Fail(st);
    return false;
  }
  RequestSync(rd.entries.back().index, rd.entries.back().term);
  return true;
}

bool Node::Save(const Ready& rd) {
  // A leader's appends go out before its own write (thesis §10.2.1): its
  // entries count toward commit only once stable on its disk (raft.cc
  // MaybeCommit), and its term was made durable before it became leader.
  // Every other message waits for the write (persist, then send).
  for (const Message& m : rd.messages) {
    if (m.type == MessageType::kAppend) transport_->Send(m);
  }
  const absl::Time start = MonotonicNow();
  if (absl::Status st = log_->Save(rd); !st.ok()) {
    Fail(st);
    return false;
  }
  if (options_.probe != nullptr) {
    options_.probe->OnPersist(absl::ToDoubleSeconds(MonotonicNow() - start));
  }
  for (const Message& m : rd.messages) {
    if (m.type != MessageType::kAppend) transport_->Send(m);
  }
  return true;
}

bool Node::DrainReady() {
  while (raft_.HasReady()) {
    Ready rd = raft_.GetReady();
    if (!(rd.may_sync_later ? WriteUnsynced(rd) : Save(rd))) return false;
    NotifyLeadership();
    if (rd.snapshot.has_value()) {
      if (absl::Status st = state_->Restore(rd.snapshot->data); !st.ok()) {
        Fail(st);
        return false;
      }
      last_snapshot_ = rd.snapshot->meta.index;
    }
    std::vector<std::pair<ProposeCallback, absl::StatusOr<Index>>> completed;
    for (const Entry& e : rd.committed) {
      if (absl::Status st = state_->Apply(e); !st.ok()) {
        Fail(st);
        return false;
      }
      auto it = pending_.find(e.index.value());
      if (it == pending_.end()) continue;
      completed.emplace_back(
          std::move(it->second.done),
          it->second.term == e.term
              ? absl::StatusOr<Index>(e.index)
              : absl::AbortedError("leadership changed before the proposal committed"));
      pending_.erase(it);
    }
    for (const ReadState& rs : rd.read_states) {
      if (auto it = reads_.find(rs.context); it != reads_.end()) {
        confirmed_reads_.push_back({rs.index, std::move(it->second)});
        reads_.erase(it);
      }
    }
    if (rd.may_sync_later) {
      raft_.AdvanceUnsynced(rd);
    } else {
      raft_.Advance(rd);
    }
    // Confirmed reads are answered once the state machine caught up.
    const Index applied_now = raft_.log().applied();
    for (auto it = confirmed_reads_.begin(); it != confirmed_reads_.end();) {
      if (it->index > applied_now) {
        ++it;
        continue;
      }
      completed.emplace_back(std::move(it->done), it->index);
      it = confirmed_reads_.erase(it);
    }
    // Proposers learn of their entry once everything it implies (a
    // membership change included) shows in status().
    if (!completed.empty()) {
      PublishStatus();
      for (auto& [done, result] : completed) done(std::move(result));
    }
    const Index applied = raft_.log().applied();
    if (applied - last_snapshot_ >= options_.snapshot_every) {
      std::string data = state_->Snapshot();
      if (absl::Status st = raft_.Compact(Snapshot{SnapshotMeta{applied, Term(0), {}}, data});
          !st.ok()) {
        Fail(st);
        return false;
      }
      if (absl::Status st = log_->SaveSnapshot(raft_.log().snapshot(), data); !st.ok()) {
        Fail(st);
        return false;
      }
      last_snapshot_ = applied;
    }
  }
  return true;
}

}  // namespace samsa::raft
