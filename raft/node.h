// Node: runs one Raft core (raft.h) for real: a thread that ticks it,
// feeds it messages, persists each Ready through a DurableLog, sends the
// Ready's messages through a Transport only after that, applies committed
// entries to a StateMachine and snapshots it now and then.
//
// Threads: Receive(), Propose() and status() may be called from any thread;
// they hand work to the node's loop through a queue. The core, the durable
// log and the state machine are touched by the loop thread only, but for
// a second thread that syncs a leader's log: a leader writes its new
// entries, sends them, and goes on handling acknowledgements and proposals
// while its own fsync runs (raft::Ready::may_sync_later); the sync thread
// reports back through the same queue, and everything proposed during an
// fsync goes to disk with the next one. Callbacks (`done`) run on the loop
// thread and must not block.
//
// A failed write or fsync stops the node for good (the disk may have lost
// what it acknowledged: see storage/log_dir.h); pending proposals fail with
// UNAVAILABLE and the error is kept in failure().
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "raft/durable_log.h"
#include "raft/probe.h"
#include "raft/raft.h"

namespace samsa::raft {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies a committed entry; called in index order, once per entry after
  // the last Restore (a restart replays from the snapshot). An error means
  // the log holds an entry this state machine cannot apply (corruption or a
  // bug): the node stops rather than diverge from its peers.
  virtual absl::Status Apply(const Entry& entry) = 0;
  // The state as of the last applied entry.
  virtual std::string Snapshot() = 0;
  // Replaces the state with a snapshot's; an error stops the node as above.
  virtual absl::Status Restore(const std::string& data) = 0;
  // This node's role, term or known leader changed. Called before any entry
  // committed in the new term is applied, so a new leader hears of its
  // leadership before it applies the no-op that starts its term.
  virtual void OnLeadershipChange(const Status& /*status*/) {}
};

// Best-effort delivery of messages to peers; never blocks the caller.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(const Message& m) = 0;
};

struct NodeOptions {
  Config raft;
  absl::Duration tick = absl::Milliseconds(100);
  int64_t snapshot_every = 10000;  // applied entries between snapshots
  RaftProbe* probe = nullptr;      // metrics, if any; must outlive the node
};

class Node {
 public:
  using ProposeCallback = absl::AnyInvocable<void(absl::StatusOr<Index>)>;

  // Restores from `log`, then starts the loop. `log`, `state` and
  // `transport` must outlive the node.
  static absl::StatusOr<std::unique_ptr<Node>> Start(NodeOptions options, DurableLog* log,
                                                     StateMachine* state, Transport* transport);
  // Stops the loop; pending proposals fail with UNAVAILABLE.
  ~Node();

  void Receive(Message m);
  // `done` gets the entry's index once it is applied here (and status()
  // shows its effect), or an error: not
  // the leader (FAILED_PRECONDITION), leadership lost before it committed
  // (ABORTED), or the node stopped (UNAVAILABLE).
  void Propose(std::string data, ProposeCallback done);
  // As above, but only as leader of `term` (else ABORTED): a caller that
  // decided what to write from the state of one leadership cannot have it
  // appended in another.
  void ProposeInTerm(Term term, std::string data, ProposeCallback done);
  void ProposeConfChange(ConfChange change, ProposeCallback done);
  void TransferLeadership(NodeId to);
  // A linearizable read (ReadIndex, thesis §6.4): `done` gets an index once
  // this node, still the leader, has applied at least that far, so reading
  // the state machine then sees every write committed before the call.
  // FAILED_PRECONDITION on a follower; ABORTED if leadership is lost first.
  void ReadIndex(ProposeCallback done);

  Status status() const;
  absl::Status failure() const;

 private:
  struct Proposal {
    std::string data;
    bool conf = false;
    ConfChange change{};
    ProposeCallback done;
    Term term{};  // 0: any
  };
  struct Pending {
    Term term;
    ProposeCallback done;
  };
  struct ConfirmedRead {
    Index index;
    ProposeCallback done;
  };

  Node(NodeOptions options, DurableLog* log, StateMachine* state, Transport* transport,
       Restored restored);
  void Enqueue(Proposal p);
  void Loop();
  // Syncs what the leader wrote, as asked by RequestSync().
  void SyncLoop();
  void RequestSync(Index index, Term term);
  // Persists, sends and applies every Ready; false once the node failed.
  bool DrainReady();
  // Writes `rd`'s entries and has the sync thread make them durable; false
  // once the node failed.
  bool WriteUnsynced(const Ready& rd);
  // Persists all of `rd` (and anything written before) durably.
  bool Save(const Ready& rd);
  // Makes the core's current status visible to status() (and the probe).
  void PublishStatus();
  // Tells the state machine when role, term or leader changed.
  void NotifyLeadership();
  void Fail(const absl::Status& st);

  const NodeOptions options_;
  DurableLog* const log_;
  StateMachine* const state_;
  Transport* const transport_;
  Raft raft_;                                             // loop thread only
  absl::flat_hash_map<int64_t, Pending> pending_;         // loop thread only: index -> proposer
  Index last_snapshot_;                                   // loop thread only
  Role notified_role_ = Role::kFollower;                  // loop thread only
  Term notified_term_;                                    // loop thread only
  NodeId notified_leader_ = kNoNode;                      // loop thread only
  uint64_t next_read_ = 0;                                // loop thread only
  absl::flat_hash_map<uint64_t, ProposeCallback> reads_;  // loop thread only: asked
  std::vector<ConfirmedRead> confirmed_reads_;            // loop thread only: await apply

  mutable absl::Mutex mu_;
  std::deque<Message> inbox_ ABSL_GUARDED_BY(mu_);
  std::deque<Proposal> proposals_ ABSL_GUARDED_BY(mu_);
  std::deque<ProposeCallback> read_requests_ ABSL_GUARDED_BY(mu_);
  NodeId transfer_to_ ABSL_GUARDED_BY(mu_) = kNoNode;
  // The sync thread's work: the last entry written and not yet synced; then
  // the last entry it made durable, for the loop; or why it could not.
  std::optional<std::pair<Index, Term>> sync_wanted_ ABSL_GUARDED_BY(mu_);
  std::optional<std::pair<Index, Term>> synced_ ABSL_GUARDED_BY(mu_);
  absl::Status sync_failure_ ABSL_GUARDED_BY(mu_);
  Status status_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Wakeup wakeup_;       // notified after each change to what Loop waits for
  Wakeup sync_wakeup_;  // notified after each change to what SyncLoop waits for
  std::thread thread_;
  std::thread sync_thread_;
};

}  // namespace samsa::raft
