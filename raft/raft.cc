#include "raft/raft.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace samsa::raft {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

namespace {

bool Contains(const std::vector<NodeId>& v, NodeId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

void Erase(std::vector<NodeId>& v, NodeId id) {
  v.erase(std::remove(v.begin(), v.end(), id), v.end());
}

MessageType ResponseTo(MessageType t) {
  return t == MessageType::kPreVote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
}

}  // namespace

Raft::Raft(Config config, Restored restored)
    : config_(config),
      rng_(config.seed ^ (static_cast<uint64_t>(config.id.value()) * 0x9E3779B97F4A7C15ull)),
      log_(restored.snapshot, std::move(restored.entries), restored.hard_state.commit),
      conf_(restored.snapshot.conf),
      term_(restored.hard_state.term),
      vote_(restored.hard_state.vote),
      snapshot_data_(std::move(restored.snapshot_data)),
      persisted_(restored.hard_state) {
  SAMSA_CHECK(config_.election_ticks > config_.heartbeat_ticks && config_.heartbeat_ticks > 0)
      << "election timeout must exceed the heartbeat interval";
  ResetElectionTimeout();
}

bool Raft::IsVoter(NodeId id) const { return Contains(conf_.voters, id); }
bool Raft::IsMember(NodeId id) const { return IsVoter(id) || Contains(conf_.learners, id); }

std::vector<NodeId> Raft::Peers() const {
  std::vector<NodeId> out;
  for (NodeId n : conf_.voters) {
    if (n != id()) out.push_back(n);
  }
  for (NodeId n : conf_.learners) {
    if (n != id()) out.push_back(n);
  }
  return out;
}

void Raft::ResetElectionTimeout() {
  randomized_timeout_ = config_.election_ticks +
                        static_cast<int>(rng_() % static_cast<uint64_t>(config_.election_ticks));
}

void Raft::ResetTerm(Term term) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetElectionTimeout();
  votes_.clear();
  transferee_ = kNoNode;
  pending_reads_.clear();
  reads_before_commit_.clear();
}

void Raft::BecomeFollower(Term term, NodeId leader) {
  ResetTerm(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Raft::BecomePreCandidate() {
  // PreVote changes neither the term nor the vote (thesis §9.6).
  votes_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  ResetTerm(term_ + 1);
  vote_ = id();
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  SAMSA_CHECK(role_ == Role::kCandidate) << "only a candidate becomes leader";
  role_ = Role::kLeader;
  leader_ = id();
  progress_.clear();
  for (NodeId n : conf_.voters) progress_[n] = Progress{Index(0), log_.last_index() + 1};
  for (NodeId n : conf_.learners) progress_[n] = Progress{Index(0), log_.last_index() + 1};
  // Followers heard from us just now, in effect: give them an election
  // timeout before CheckQuorum judges.
  for (auto& [n, pr] : progress_) pr.recent_active = true;
  // A no-op starts the term, so entries of earlier terms can commit with it
  // (§5.4.2) and ReadIndex has a commit of this term to stand on.
  log_.Append({Entry{term_, log_.last_index() + 1, EntryType::kNormal, {}}});
  pending_conf_index_ = log_.last_index();
  MaybeCommit();
  BroadcastAppend();
}

void Raft::Campaign(Election election, Reason reason) {
  if (!IsVoter(id())) return;  // learners and removed nodes never campaign
  const bool pre = election == Election::kPreVote;
  if (pre) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  votes_[id()] = true;
  if (Quorum() == 1) {
    if (pre) {
      Campaign(Election::kVote, reason);
    } else {
      BecomeLeader();
    }
    return;
  }
  const Term term = pre ? term_ + 1 : term_;
  for (NodeId n : conf_.voters) {
    if (n == id()) continue;
    Message m;
    m.type = pre ? MessageType::kPreVote : MessageType::kVote;
    m.to = n;
    m.term = term;
    m.log_index = log_.last_index();
    m.log_term = log_.last_term();
    m.transfer = reason == Reason::kTransfer;
    Send(std::move(m));
  }
}

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    if (++election_elapsed_ >= config_.election_ticks) {
      election_elapsed_ = 0;
      // A transfer that did not finish within an election timeout is over.
      transferee_ = kNoNode;
      if (config_.check_quorum) {
        if (!QuorumActive()) {
          BecomeFollower(term_, kNoNode);  // thesis §6.2: step down
          return;
        }
        for (auto& [n, pr] : progress_) pr.recent_active = n == id();
      }
    }
    // A snapshot transfer whose chunks or replies were lost starts over.
    for (auto& [n, pr] : progress_) {
      if (pr.snapshot_sending && ++pr.snapshot_idle_ticks >= config_.election_ticks) {
        pr.snapshot_idle_ticks = 0;
        SendSnapshotChunk(n, 0);
      }
    }
    if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      BroadcastHeartbeat(0);
    }
    return;
  }
  // A node outside the configuration never campaigns, and its timer keeps
  // running so its leader lease lapses and it answers vote requests.
  if (++election_elapsed_ >= randomized_timeout_ && IsVoter(id())) {
    election_elapsed_ = 0;
    Campaign(config_.pre_vote ? Election::kPreVote : Election::kVote, Reason::kTimeout);
  }
}

bool Raft::QuorumActive() const {
  size_t active = 0;
  for (NodeId n : conf_.voters) {
    if (n == id()) {
      ++active;
    } else if (auto it = progress_.find(n); it != progress_.end() && it->second.recent_active) {
      ++active;
    }
  }
  return active >= Quorum();
}

void Raft::Send(Message m) {
  m.from = id();
  // Vote-type messages carry the term they are about; all others ours.
  if (m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResponse &&
      m.type != MessageType::kVote && m.type != MessageType::kVoteResponse) {
    m.term = term_;
  }
  outbox_.push_back(std::move(m));
}

void Raft::Step(const Message& m) {
  if (m.to != id() || m.from == id() || m.from == kNoNode) return;
  if (m.term > term_) {
    const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
    if (vote_request && !m.transfer && config_.check_quorum && leader_ != kNoNode &&
        election_elapsed_ < config_.election_ticks) {
      return;  // we heard from a live leader within the timeout: lease (thesis §4.2.3)
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject)) {
      // A pre-vote is about a future term: ours does not change.
    } else {
      const bool from_leader = m.type == MessageType::kAppend || m.type == MessageType::kSnapshot;
      BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if (m.type == MessageType::kAppend || m.type == MessageType::kSnapshot) {
      // A stale leader: tell it our term so it steps down. Without this, a
      // leader cut off and rejoining would never learn (with PreVote it
      // cannot win a vote that would tell it).
      Message r;
      r.type = MessageType::kAppendResponse;
      r.to = m.from;
      Send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      Message r;
      r.type = MessageType::kPreVoteResponse;
      r.to = m.from;
      r.term = term_;
      r.reject = true;
      Send(std::move(r));
    }
    return;
  }

  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kCandidate:
    case Role::kPreCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                        (m.type == MessageType::kPreVote && m.term > term_);
  Message r;
  r.type = ResponseTo(m.type);
  r.to = m.from;
  // No check that we are a voter ourselves: the candidate's configuration
  // says we are, and ours may be behind (a learner not yet told of its
  // promotion, a node re-added after removal); refusing could leave the
  // cluster without a quorum forever (as etcd/raft also reasons).
  if (can_vote && log_.IsUpToDate(m.log_index, m.log_term)) {
    r.term = m.term;
    if (m.type == MessageType::kVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    r.term = term_;
    r.reject = true;
  }
  Send(std::move(r));
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      leader_ = m.from;
      HandleAppend(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      HandleSnapshotChunk(m);
      break;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign at once, past any lease (§3.10).
      Campaign(Election::kVote, Reason::kTransfer);
      break;
    default:
      break;
  }
}

void Raft::StepCandidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      BecomeFollower(m.term, m.from);
      HandleAppend(m);
      return;
    case MessageType::kSnapshot:
      BecomeFollower(m.term, m.from);
      HandleSnapshotChunk(m);
      return;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse: {
      const bool pre = role_ == Role::kPreCandidate;
      if (pre != (m.type == MessageType::kPreVoteResponse) || !IsVoter(m.from)) return;
      votes_.emplace(m.from, !m.reject);
      size_t granted = 0;
      for (const auto& [n, yes] : votes_) granted += yes ? 1 : 0;
      if (granted >= Quorum()) {
        if (pre) {
          Campaign(Election::kVote, Reason::kTimeout);
        } else {
          BecomeLeader();
        }
      } else if (votes_.size() - granted >= Quorum()) {
        BecomeFollower(term_, kNoNode);
      }
      return;
    }
    default:
      return;
  }
}

void Raft::HandleAppend(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResponse;
  r.to = m.from;
  r.heartbeat = m.heartbeat;
  r.read_context = m.read_context;
  if (m.log_index < log_.commit()) {
    // Old news: everything up to our commit index matches the leader's.
    r.log_index = log_.commit();
    Send(std::move(r));
    return;
  }
  if (std::optional<Index> last = log_.MaybeAppend(m.log_index, m.log_term, m.entries)) {
    log_.CommitTo(std::min(m.commit, *last));
    r.log_index = *last;
    Send(std::move(r));
    return;
  }
  // Reject, with a hint for the leader to skip a whole term at once.
  r.reject = true;
  r.log_index = m.log_index;
  if (m.log_index > log_.last_index()) {
    r.hint_index = log_.last_index() + 1;
  } else {
    r.hint_term = *log_.TermAt(m.log_index);
    r.hint_index = log_.FirstIndexOfTerm(r.hint_term, m.log_index);
  }
  Send(std::move(r));
}

void Raft::HandleSnapshotChunk(const Message& m) {
  // Follower-driven transfer: every reply says how many bytes we hold, and
  // the leader sends from there. Lost, duplicated or reordered chunks only
  // cost a resend.
  Message r;
  r.type = MessageType::kSnapshotResponse;
  r.to = m.from;
  if (m.snapshot.index <= log_.commit()) {
    // Nothing new in it: we are at least this far (and say so).
    r.log_index = log_.commit();
    r.last_chunk = true;
    Send(std::move(r));
    return;
  }
  if (!(incoming_snapshot_.meta == m.snapshot)) {
    incoming_snapshot_ = Snapshot{m.snapshot, {}};  // a newer snapshot: start over
  }
  if (m.chunk_offset == incoming_snapshot_.data.size()) {
    incoming_snapshot_.data += m.chunk;
    if (m.last_chunk) {
      log_.Restore(m.snapshot);
      conf_ = m.snapshot.conf;
      snapshot_data_ = incoming_snapshot_.data;
      unstable_snapshot_ = std::move(incoming_snapshot_);
      incoming_snapshot_ = Snapshot{};
      r.log_index = m.snapshot.index;
      r.last_chunk = true;
      Send(std::move(r));
      return;
    }
  }
  r.snapshot = m.snapshot;
  r.chunk_offset = incoming_snapshot_.data.size();
  Send(std::move(r));
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not a member (any more)
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.type == MessageType::kSnapshotResponse) pr.snapshot_idle_ticks = 0;
  if (m.type == MessageType::kAppendResponse) {
    HandleAppendResponse(m);
  } else if (m.type == MessageType::kSnapshotResponse && pr.snapshot_sending) {
    if (m.last_chunk) {
      pr.snapshot_sending = false;
      pr.match = std::max(pr.match, m.log_index);
      pr.next = pr.match + 1;
      pr.probing = true;
      SendAppend(m.from, IfEmpty::kSkip);
    } else if (m.snapshot == log_.snapshot()) {
      SendSnapshotChunk(m.from, m.chunk_offset);
    } else {
      SendSnapshotChunk(m.from, 0);  // we compacted again: send the new one
    }
  }
}

void Raft::HandleAppendResponse(const Message& m) {
  Progress& pr = progress_[m.from];
  if (m.read_context > pr.read_ack) {
    pr.read_ack = m.read_context;
    ReleaseConfirmedReads();
  }
  if (m.reject) {
    if (m.log_index <= pr.match || pr.snapshot_sending) return;  // stale
    // Thesis §5.3 fast backup: jump past the follower's conflicting term.
    Index next = m.hint_index;
    if (m.hint_term > Term(0)) {
      const Index last_of_term = log_.LastIndexOfTerm(m.hint_term);
      if (last_of_term > Index(0)) next = last_of_term + 1;
    }
    pr.next = std::max(std::min(next, m.log_index), pr.match + 1);
    pr.probing = true;
    SendAppend(m.from, IfEmpty::kSend);
    return;
  }
  const bool progressed = m.log_index > pr.match;
  if (progressed) pr.match = m.log_index;
  if (pr.probing) {
    pr.probing = false;
    pr.next = pr.match + 1;
  }
  pr.next = std::max(pr.next, pr.match + 1);
  if (progressed && MaybeCommit()) {
    BroadcastAppend();
  } else if (pr.match < log_.last_index()) {
    // A heartbeat reply from a follower that is behind: whatever we sent it
    // may be lost, so probe from its next index.
    SendAppend(m.from, m.heartbeat ? IfEmpty::kSend : IfEmpty::kSkip);
  }
  if (m.from == transferee_ && pr.match == log_.last_index()) {
    Message t;
    t.type = MessageType::kTimeoutNow;
    t.to = m.from;
    Send(std::move(t));
  }
}

void Raft::SendAppend(NodeId to, IfEmpty if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  if (pr.snapshot_sending) return;
  const Index prev = pr.next - 1;
  const std::optional<Term> prev_term = log_.TermAt(prev);
  if (!prev_term.has_value()) {
    // What the follower needs next was compacted away: send the snapshot.
    pr.snapshot_sending = true;
    SendSnapshotChunk(to, 0);
    return;
  }
  if (!pr.probing && pr.next - pr.match - 1 >= config_.max_inflight_entries) return;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.log_index = prev;
  m.log_term = *prev_term;
  m.entries = log_.Slice(pr.next, log_.last_index() + 1, config_.max_append_bytes);
  if (m.entries.empty() && if_empty == IfEmpty::kSkip) return;
  m.commit = log_.commit();
  if (!m.entries.empty() && !pr.probing) pr.next = m.entries.back().index + 1;
  Send(std::move(m));
}

void Raft::SendSnapshotChunk(NodeId to, uint64_t offset) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = log_.snapshot();
  m.chunk_offset = std::min<uint64_t>(offset, snapshot_data_.size());
  m.chunk = snapshot_data_.substr(m.chunk_offset, config_.snapshot_chunk_bytes);
  m.last_chunk = m.chunk_offset + m.chunk.size() >= snapshot_data_.size();
  Send(std::move(m));
}

void Raft::BroadcastAppend() {
  for (NodeId n : Peers()) SendAppend(n, IfEmpty::kSkip);
}

void Raft::BroadcastHeartbeat(uint64_t read_context) {
  for (NodeId n : Peers()) {
    const Progress& pr = progress_[n];
    const std::optional<Term> match_term = log_.TermAt(pr.match);
    if (!match_term.has_value()) {
      SendAppend(n, IfEmpty::kSend);
      continue;
    }
    // Anchored at the follower's known match, so it always fits its log.
    Message m;
    m.type = MessageType::kAppend;
    m.to = n;
    m.log_index = pr.match;
    m.log_term = *match_term;
    m.commit = std::min(log_.commit(), pr.match);
    m.heartbeat = true;
    m.read_context = read_context;
    Send(std::move(m));
  }
}

bool Raft::MaybeCommit() {
  std::vector<Index> matches;
  for (NodeId n : conf_.voters) {
    // Our own entries count once they are on our disk.
    matches.push_back(n == id() ? log_.stable() : progress_[n].match);
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index n = matches[Quorum() - 1];
  // §5.4.2: only entries of the current term commit by counting replicas.
  if (n <= log_.commit() || log_.TermAt(n) != term_) return false;
  log_.CommitTo(n);
  // Reads that waited for this term's first commit can start.
  std::vector<uint64_t> waiting = std::move(reads_before_commit_);
  reads_before_commit_.clear();
  for (uint64_t ctx : waiting) (void)ReadIndex(ctx);
  return true;
}

void Raft::ReleaseConfirmedReads() {
  while (!pending_reads_.empty()) {
    const PendingRead& r = pending_reads_.front();
    size_t acks = 0;
    for (NodeId n : conf_.voters) {
      if (n == id() || progress_[n].read_ack >= r.round) ++acks;
    }
    if (acks < Quorum()) return;
    read_states_.push_back({r.context, r.index});
    pending_reads_.erase(pending_reads_.begin());
  }
}

absl::StatusOr<Index> Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader; the leader is ", leader_.value()));
  }
  if (transferee_ != kNoNode) {
    return absl::UnavailableError(absl::StrCat("leadership is moving to ", transferee_.value()));
  }
  const Index index = log_.last_index() + 1;
  log_.Append({Entry{term_, index, EntryType::kNormal, std::move(data)}});
  // Sent with the next Ready: proposals made together travel together.
  broadcast_pending_ = true;
  return index;
}

absl::StatusOr<Index> Raft::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader; the leader is ", leader_.value()));
  }
  if (log_.TermAt(log_.commit()) != term_) {
    return absl::UnavailableError("the leader has not committed an entry of its term yet");
  }
  if (pending_conf_index_ > log_.applied()) {
    return absl::UnavailableError("another membership change is in progress");
  }
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      if (IsVoter(change.node)) return absl::AlreadyExistsError("already a voter");
      break;
    case ConfChangeType::kAddLearner:
      if (IsMember(change.node)) return absl::AlreadyExistsError("already a member");
      break;
    case ConfChangeType::kRemoveVoter:
      if (!IsMember(change.node)) return absl::NotFoundError("not a member");
      if (IsVoter(change.node) && conf_.voters.size() == 1) {
        return absl::InvalidArgumentError("cannot remove the last voter");
      }
      break;
  }
  const Index index = log_.last_index() + 1;
  log_.Append({Entry{term_, index, EntryType::kConfChange, EncodeConfChange(change)}});
  pending_conf_index_ = index;
  broadcast_pending_ = true;
  return index;
}

void Raft::ApplyConfChange(const ConfChange& cc) {
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      Erase(conf_.learners, cc.node);
      if (!IsVoter(cc.node)) conf_.voters.push_back(cc.node);
      break;
    case ConfChangeType::kAddLearner:
      if (!IsMember(cc.node)) conf_.learners.push_back(cc.node);
      break;
    case ConfChangeType::kRemoveVoter:
      Erase(conf_.voters, cc.node);
      Erase(conf_.learners, cc.node);
      break;
  }
  std::sort(conf_.voters.begin(), conf_.voters.end());
  std::sort(conf_.learners.begin(), conf_.learners.end());
  if (role_ != Role::kLeader) return;
  if (!IsVoter(id())) {
    BecomeFollower(term_, kNoNode);  // removed: hand over by going quiet
    return;
  }
  if (cc.type == ConfChangeType::kRemoveVoter) {
    progress_.erase(cc.node);
  } else if (!progress_.contains(cc.node)) {
    progress_[cc.node] = Progress{Index(0), log_.last_index() + 1};
    progress_[cc.node].recent_active = true;
  }
  // The quorum changed: maybe more is committed now.
  if (MaybeCommit()) BroadcastAppend();
  BroadcastAppend();
}

absl::Status Raft::TransferLeadership(NodeId to) {
  if (role_ != Role::kLeader) return absl::FailedPreconditionError("not the leader");
  if (to == id()) return absl::OkStatus();
  if (!IsVoter(to)) return absl::InvalidArgumentError("the target is not a voter");
  transferee_ = to;
  election_elapsed_ = 0;  // the transfer has one election timeout to finish
  if (progress_[to].match == log_.last_index()) {
    Message t;
    t.type = MessageType::kTimeoutNow;
    t.to = to;
    Send(std::move(t));
  } else {
    SendAppend(to, IfEmpty::kSend);
  }
  return absl::OkStatus();
}

absl::Status Raft::ReadIndex(uint64_t context) {
  if (role_ != Role::kLeader) {
    return absl::FailedPreconditionError(
        absl::StrCat("not the leader; the leader is ", leader_.value()));
  }
  if (log_.TermAt(log_.commit()) != term_) {
    // Until our no-op commits we may not know the latest commit (§6.4 step 1).
    reads_before_commit_.push_back(context);
    return absl::OkStatus();
  }
  if (Quorum() == 1) {
    read_states_.push_back({context, log_.commit()});
    return absl::OkStatus();
  }
  pending_reads_.push_back({context, log_.commit(), ++read_round_});
  BroadcastHeartbeat(read_round_);
  return absl::OkStatus();
}

absl::Status Raft::Compact(Snapshot snapshot) {
  if (snapshot.meta.index != log_.applied()) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot at ", snapshot.meta.index.value(),
                                                      " but applied is ", log_.applied().value()));
  }
  if (snapshot.meta.index <= log_.snapshot().index) return absl::OkStatus();
  snapshot.meta.term = *log_.TermAt(snapshot.meta.index);
  snapshot.meta.conf = conf_;
  log_.Compact(snapshot.meta);
  snapshot_data_ = std::move(snapshot.data);
  return absl::OkStatus();
}

bool Raft::HasReady() const {
  return broadcast_pending_ || unstable_snapshot_.has_value() ||
         log_.written() < log_.last_index() || hard_state() != persisted_ || !outbox_.empty() ||
         !read_states_.empty() || log_.applied() < std::min(log_.commit(), log_.stable());
}

Ready Raft::GetReady() {
  if (broadcast_pending_) {
    broadcast_pending_ = false;
    if (role_ == Role::kLeader) BroadcastAppend();
  }
  Ready rd;
  rd.snapshot = unstable_snapshot_;
  rd.entries = log_.Unwritten();
  if (hard_state() != persisted_) rd.hard_state = hard_state();
  rd.may_sync_later = role_ == Role::kLeader && !rd.snapshot.has_value() &&
                      term_ == persisted_.term && vote_ == persisted_.vote;
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.committed = log_.NextToApply(config_.max_append_bytes);
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  return rd;
}

void Raft::Advance(const Ready& rd) {
  Accept(rd);
  Synced(log_.written(), *log_.TermAt(log_.written()));
}

void Raft::AdvanceUnsynced(const Ready& rd) {
  SAMSA_CHECK(rd.may_sync_later) << "this Ready must be synced before Advance";
  Accept(rd);
}

void Raft::Accept(const Ready& rd) {
  if (rd.snapshot.has_value() && unstable_snapshot_.has_value() &&
      unstable_snapshot_->meta.index == rd.snapshot->meta.index) {
    unstable_snapshot_.reset();
  }
  if (!rd.entries.empty()) log_.WrittenTo(rd.entries.back().index);
  if (rd.hard_state.has_value()) persisted_ = *rd.hard_state;
  for (const Entry& e : rd.committed) {
    if (e.index <= log_.applied()) continue;  // a snapshot overtook it
    log_.AppliedTo(e.index);
    if (e.type == EntryType::kConfChange) {
      if (std::optional<ConfChange> cc = DecodeConfChange(e.data)) ApplyConfChange(*cc);
    }
  }
}

void Raft::Synced(Index index, Term term) {
  const Index before = log_.stable();
  log_.StableTo(index, term);
  // Our own entries count toward commit once stable.
  if (log_.stable() > before && role_ == Role::kLeader && MaybeCommit()) BroadcastAppend();
}

Status Raft::status() const {
  Status s{id(),  role_, term_, leader_, log_.commit(), log_.applied(), log_.last_index(),
           conf_, {}};
  if (role_ == Role::kLeader) {
    for (const auto& [n, pr] : progress_) s.match[n] = n == id() ? log_.stable() : pr.match;
  }
  return s;
}

}  // namespace samsa::raft
