// Raft: the consensus core, a deterministic state machine with no I/O
// (style rule 1 in docs/development.md, after etcd-io/raft).
//
// Inputs: Tick() (the passage of time, in ticks), Step(message) (a message
// from a peer), Propose(data), ProposeConfChange(change),
// TransferLeadership(to), ReadIndex(context), Compact(snapshot).
// Output: a Ready batch, taken with GetReady() and acknowledged with
// Advance(). No clock, socket, file or thread is touched here; randomness
// (election jitter) comes from the seed in Config, so a run replays exactly.
//
// What it implements, and from where:
//   * leader election with randomized timeouts (paper §5.2), PreVote (Ongaro
//     thesis §9.6) so a rejoining node cannot disrupt a healthy leader, and
//     CheckQuorum (thesis §6.2): a leader that has not heard from a majority
//     within an election timeout steps down, and followers that heard from a
//     leader within that time ignore vote requests (leader lease);
//   * log replication with fast conflict backtracking by term (thesis
//     §5.3), committing only entries of the current term by counting
//     replicas (§5.4.2, Figure 8), and a no-op entry at the start of each
//     term;
//   * snapshots: the state machine hands one over with Compact(); followers
//     too far behind receive it in chunks (§7);
//   * membership changes one server at a time (thesis §4.1), allowed only
//     once the leader committed an entry of its own term (the 2015
//     single-server-change fix) and no other change is pending; non-voting
//     learners; a change takes effect when applied (as in etcd), so a
//     snapshot's membership is exactly that of its index;
//   * leadership transfer with TimeoutNow (thesis §3.10);
//   * linearizable reads with ReadIndex (thesis §6.4).
//
// Departures from the paper: heartbeats are empty AppendEntries; a node that
// is not in the configuration never campaigns.
//
// Not thread-safe: one owner (the driver) calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "raft/raft_log.h"
#include "raft/types.h"

namespace samsa::raft {

struct Config {
  NodeId id;
  int election_ticks = 10;  // a follower campaigns after [e, 2e) ticks of silence
  int heartbeat_ticks = 1;  // a leader sends heartbeats this often
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t seed = 0;                    // election jitter
  size_t max_append_bytes = 1 << 20;    // entry bytes per AppendEntries
  int64_t max_inflight_entries = 4096;  // entries sent ahead of a follower's ack
  size_t snapshot_chunk_bytes = 1 << 20;
};

// Everything a node persisted: what it restarts from.
struct Restored {
  HardState hard_state;
  SnapshotMeta snapshot;       // index 0 and the initial conf when none
  std::vector<Entry> entries;  // after the snapshot
  std::string snapshot_data;   // for sending to lagging followers
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

// Work for the driver, in this order (persist before send):
//   1. write `snapshot` (if any), then `entries` (truncating the durable log
//      at entries.front().index first), then `hard_state`, and sync
//      everything written so far;
//   2. send `messages`. Exception: kAppend messages (sent only by a leader)
//      may go out before step 1 (thesis §10.2.1: the leader writes its log
//      in parallel with replicating it), because the leader counts its own
//      entries toward commit only once they are stable;
//   3. install `snapshot` into the state machine, then apply `committed`;
//   4. serve `read_states` once the state machine applied their index;
//   5. call Advance() with this Ready.
// When `may_sync_later` is set (a leader's Ready whose only durable state
// is new entries: no snapshot, no new term or vote), the driver may instead
// write `entries` without syncing them, do steps 2-4, call
// AdvanceUnsynced(), and report the sync with Synced() when it completes.
// The leader then keeps replicating and answering while its disk syncs;
// nothing it sends promises its own entries are durable. Any later Ready
// without the flag syncs everything written before it in step 1.
struct Ready {
  std::optional<HardState> hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::vector<Message> messages;
  std::vector<Entry> committed;
  std::vector<ReadState> read_states;
  bool may_sync_later = false;

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && messages.empty() && committed.empty() &&
           read_states.empty();
  }
};

struct Status {
  NodeId id;
  Role role = Role::kFollower;
  Term term;
  NodeId leader;
  Index commit;
  Index applied;
  Index last_index;
  ConfState conf;
  absl::flat_hash_map<NodeId, Index> match;  // leader only
};

class Raft {
 public:
  Raft(Config config, Restored restored);

  void Tick();
  // Starts an election now, as an elapsed timeout would (with PreVote when
  // configured). For tests and operators; voters only.
  void Campaign() {
    Campaign(config_.pre_vote ? Election::kPreVote : Election::kVote, Reason::kTimeout);
  }
  // A message from a peer. Messages for another node, or malformed ones
  // (unknown sender with no term), are ignored.
  void Step(const Message& m);

  // Appends `data` to the log as leader; FAILED_PRECONDITION (with the known
  // leader in the message) otherwise. Returns the entry's index.
  absl::StatusOr<Index> Propose(std::string data);
  absl::StatusOr<Index> ProposeConfChange(const ConfChange& change);
  absl::Status TransferLeadership(NodeId to);
  // Requests a linearizable read; a ReadState with this context appears in
  // a later Ready once the leader confirmed it still leads.
  absl::Status ReadIndex(uint64_t context);

  // The state machine's snapshot at exactly applied(): the log up to it is
  // dropped, and lagging followers will be sent it.
  absl::Status Compact(Snapshot snapshot);

  bool HasReady() const;
  Ready GetReady();
  // `ready` is done and durable, and so is everything written before it.
  void Advance(const Ready& ready);
  // `ready` (which had may_sync_later) is done, its entries written but
  // not yet durable.
  void AdvanceUnsynced(const Ready& ready);
  // Everything written up to entry (index, term) is durable. A leader
  // counts its entries toward commit from here. Ignored if the entry was
  // replaced meanwhile (a later Advance covers the replacement).
  void Synced(Index index, Term term);

  Status status() const;
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  NodeId id() const { return config_.id; }
  const RaftLog& log() const { return log_; }
  const ConfState& conf() const { return conf_; }

 private:
  struct Progress {
    Index match;
    Index next;
    bool probing = true;  // one append at a time until the logs match
    bool recent_active = false;
    bool snapshot_sending = false;
    int snapshot_idle_ticks = 0;  // since the last snapshot response
    uint64_t read_ack = 0;        // highest ReadIndex round acknowledged
  };
  struct PendingRead {
    uint64_t context;  // the caller's
    Index index;       // commit index when the read arrived
    uint64_t round;    // heartbeat round that must be acknowledged by a quorum
  };

  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  // A campaign starts with a pre-vote round (thesis §9.6) or a real one;
  // a leadership transfer's campaign may disrupt a live leader (§3.10).
  enum class Election { kPreVote, kVote };
  enum class Reason { kTimeout, kTransfer };
  void Campaign(Election election, Reason reason);
  void ResetTerm(Term term);
  void ResetElectionTimeout();

  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleSnapshotChunk(const Message& m);
  void HandleAppendResponse(const Message& m);

  void Send(Message m);
  // Whether SendAppend sends an append with no entries (a probe or a
  // heartbeat's catch-up) or only one that carries some.
  enum class IfEmpty { kSend, kSkip };
  void SendAppend(NodeId to, IfEmpty if_empty);
  void SendSnapshotChunk(NodeId to, uint64_t offset);
  void BroadcastAppend();
  void BroadcastHeartbeat(uint64_t read_context);
  bool MaybeCommit();
  // What Advance and AdvanceUnsynced share: the Ready was handled.
  void Accept(const Ready& rd);
  void ApplyConfChange(const ConfChange& cc);
  bool IsVoter(NodeId id) const;
  bool IsMember(NodeId id) const;
  size_t Quorum() const { return conf_.voters.size() / 2 + 1; }
  std::vector<NodeId> Peers() const;  // voters and learners but us
  bool QuorumActive() const;
  void ReleaseConfirmedReads();
  HardState hard_state() const { return {term_, vote_, log_.commit()}; }

  Config config_;
  std::mt19937_64 rng_;
  RaftLog log_;
  ConfState conf_;            // membership as of the applied index
  Index pending_conf_index_;  // leader: no new change until this is applied

  Term term_;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;
  absl::flat_hash_map<NodeId, bool> votes_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;
  NodeId transferee_ = kNoNode;

  absl::flat_hash_map<NodeId, Progress> progress_;
  std::vector<PendingRead> pending_reads_;
  std::vector<uint64_t> reads_before_commit_;  // arrived before our term's first commit
  uint64_t read_round_ = 0;

  std::string snapshot_data_;                  // our latest snapshot, for followers
  Snapshot incoming_snapshot_;                 // being received in chunks
  std::optional<Snapshot> unstable_snapshot_;  // received, not yet persisted

  HardState persisted_;
  bool broadcast_pending_ = false;  // proposals not yet sent to followers
  std::vector<Message> outbox_;
  std::vector<ReadState> read_states_;
};

}  // namespace samsa::raft
