// QuorumController: the controller's state machine on top of a raft::Node
// (Kafka's QuorumController, KIP-500/KIP-631).
//
// Every controller applies committed metadata batches to its *committed*
// image and keeps a window of recent batches, so any controller serves
// reads and FetchMetadata. The Raft leader is the *active* controller: it
// decides writes (topic admin, broker lifecycle, AlterPartition, producer
// ids) against a *latest* image, which is the committed image plus every
// batch it has proposed and not yet seen applied, so back-to-back decisions
// see each other (two creates of one name cannot both succeed). A write's
// answer goes out once its batch is committed and applied.
//
// Activation: a new leader first applies everything before its term's
// no-op entry (raft::Node tells it of the leadership before that entry
// applies); only then is its committed image complete, and it becomes
// active with latest = committed and fresh broker sessions. Proposals are
// made for that term only (raft::Node::ProposeInTerm), so a batch decided
// on one leadership's latest image is never appended in another: within a
// term the leader's proposals land in the log in the order they were
// decided, and a failed one means the term is over. Losing the leadership
// makes it inactive; non-active controllers answer writes with
// NOT_CONTROLLER and a hint.
//
// Broker sessions are soft state of the active controller: a broker whose
// last heartbeat is older than broker.session.timeout.ms is fenced by a
// committed record, and its partitions re-elected (partition_changes.h).
// Every leader_rebalance_interval it moves partitions back to their
// preferred leaders.
//
// Threads: gRPC handlers call the public methods from any thread; the raft
// node's loop calls the StateMachine methods; a timer thread expires
// sessions and long-polls. One mutex guards the images and queues;
// proposals are made under it so log order is decision order. Callbacks
// (`done`) never run under it.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metadata_image.h"
#include "controller/balancer.h"
#include "controller/pending_batch.h"
#include "controller/probe.h"
#include "controller/topic_admin.h"
#include "raft/node.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::controller {

struct ControllerOptions {
  NodeId node_id = kNoNode;
  absl::flat_hash_map<NodeId, std::string> voters = {};  // id -> host:port, for hints
  TopicDefaults topic_defaults = {};
  absl::Duration session_timeout = absl::Seconds(9);  // measured on `clock`
  // How often partitions away from their preferred leader are moved back
  // (partition_changes.h ElectPreferredLeaders); zero: never.
  absl::Duration leader_rebalance_interval = absl::ZeroDuration();
  int64_t leader_imbalance_percent = 10;
  AutoBalancerSettings balancer = {};
  // Committed batches kept for FetchMetadata; a broker further behind gets
  // the snapshot.
  size_t history_entries = 10000;
  int32_t max_fetch_batches = 1000;
  const Clock* clock = &Clock::Real();
  ControllerProbe* probe = nullptr;  // must outlive the controller
};

class QuorumController final : public raft::StateMachine {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(T)>;

  explicit QuorumController(ControllerOptions options);
  ~QuorumController() override;

  // The node whose log this controller applies: set after raft::Node::Start,
  // before the server takes requests; detached (nullptr) before the node is
  // destroyed. Once Attach returns, the previous node is no longer used.
  void Attach(raft::Node* node);
  // Answers every waiting FetchMetadata (so the server can shut down) and
  // stops the timer; later FetchMetadata calls answer at once.
  void Stop();

  void CreateTopics(const v1::CreateTopicsRequest& request, Done<v1::CreateTopicsResponse> done);
  void DeleteTopics(const v1::DeleteTopicsRequest& request, Done<v1::DeleteTopicsResponse> done);
  void CreatePartitions(const v1::CreatePartitionsRequest& request,
                        Done<v1::CreatePartitionsResponse> done);
  void AlterConfigs(const v1::AlterConfigsRequest& request, Done<v1::AlterConfigsResponse> done);
  void RegisterBroker(const v1::RegisterBrokerRequest& request,
                      Done<v1::RegisterBrokerResponse> done);
  void BrokerHeartbeat(const v1::BrokerHeartbeatRequest& request,
                       Done<v1::BrokerHeartbeatResponse> done);
  void AlterPartition(const v1::AlterPartitionRequest& request,
                      Done<v1::AlterPartitionResponse> done);
  void ControlledShutdown(const v1::ControlledShutdownRequest& request,
                          Done<v1::ControlledShutdownResponse> done);
  void AllocateProducerIds(const v1::AllocateProducerIdsRequest& request,
                           Done<v1::AllocateProducerIdsResponse> done);
  void AlterPartitionReassignments(const v1::AlterPartitionReassignmentsRequest& request,
                                   Done<v1::AlterPartitionReassignmentsResponse> done);
  // Active controller only (the progress comes from heartbeats it received).
  void ListPartitionReassignments(const v1::ListPartitionReassignmentsRequest& request,
                                  Done<v1::ListPartitionReassignmentsResponse> done);
  void DecommissionBroker(const v1::DecommissionBrokerRequest& request,
                          Done<v1::DecommissionBrokerResponse> done);
  // Plans (and unless dry_run starts) moves that even brokers out; the
  // controller then keeps balancing until they are.
  void BalancePartitions(const v1::BalancePartitionsRequest& request,
                         Done<v1::BalancePartitionsResponse> done);
  // Answers at once when batches after `from_offset` are committed, else
  // when one is or max_wait_ms passes.
  void FetchMetadata(const v1::FetchMetadataRequest& request, Done<v1::FetchMetadataResponse> done);

  v1::DescribeTopicsResponse DescribeTopics(const v1::DescribeTopicsRequest& request) const;
  v1::DescribeConfigsResponse DescribeConfigs(const v1::DescribeConfigsRequest& request) const;
  v1::DescribeClusterResponse DescribeCluster() const;
  v1::DescribeQuorumResponse DescribeQuorum() const;

  // The image as of the last applied batch.
  std::shared_ptr<const MetadataImage> committed() const;
  bool active() const;

  // raft::StateMachine, on the node's loop thread.
  absl::Status Apply(const raft::Entry& entry) override;
  std::string Snapshot() override;
  absl::Status Restore(const std::string& data) override;
  void OnLeadershipChange(const raft::Status& status) override;

 private:
  struct Waiter {
    int64_t from_offset;
    int32_t max_batches;
    absl::Time deadline;
    Done<v1::FetchMetadataResponse> done;
  };
  using Decide = absl::FunctionRef<void(PendingBatch& batch)>;
  using Finish = absl::AnyInvocable<void(const v1::Error& error, const v1::LeaderHint& hint)>;

  // Runs `decide` on the latest image if active, proposes what it added and
  // calls `finish` once committed (error NONE) or failed (NOT_CONTROLLER
  // with a hint). In kValidateOnly mode (validate_only, dry_run requests)
  // nothing is proposed. `decide` runs under mu_.
  enum class WriteMode { kPropose, kValidateOnly };
  static WriteMode ModeOf(bool validate_only) {
    return validate_only ? WriteMode::kValidateOnly : WriteMode::kPropose;
  }
  void Write(Decide decide, WriteMode mode, Finish finish);
  Uuid NewTopicId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::LeaderHint Hint() const;
  v1::FetchMetadataResponse FetchLocked(int64_t from_offset, int32_t max_batches) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Expires broker sessions and long polls until stopped.
  void TimerLoop();
  void ExpireSessions();
  // Moves partitions back to their preferred leaders (active controller only).
  void ElectPreferredLeaders();
  // The balancer's round (active controller only, on the timer): completes
  // reassignments whose target replicas caught up, unregisters drained
  // decommissioned brokers, and starts the moves of the current plan.
  void Maintain();
  // The plan for `image` now: kEvenOut adds steps 2 and 3 (balancer.h) to
  // the repairs every plan makes.
  enum class PlanScope { kRepairs, kEvenOut };
  BalancePlan Plan(const MetadataImage& image, PlanScope scope) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bytes the moves in progress still have to copy (active controller).
  int64_t BytesLeftToMove() const;
  // Starts the moves of `plan` in `batch`; returns how many started.
  int64_t StartMoves(const BalancePlan& plan, PendingBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The moves in the committed image, with the replica sizes brokers last
  // heartbeated.
  v1::ListPartitionReassignmentsResponse ListMovesLocked(
      const v1::ListPartitionReassignmentsRequest& request) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ControllerOptions options_;
  // The leader as last heard from the node, for NOT_CONTROLLER hints (read
  // without mu_: a failed proposal's callback may run under it).
  std::atomic<int32_t> known_leader_{-1};
  std::atomic<int64_t> known_term_{0};

  mutable absl::Mutex mu_;
  raft::Node* node_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::shared_ptr<const MetadataImage> committed_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<int64_t, v1::MetadataBatch>> history_ ABSL_GUARDED_BY(mu_);  // by offset
  int64_t history_base_ ABSL_GUARDED_BY(mu_) = 0;  // history_ has every batch above this
  MetadataImage latest_ ABSL_GUARDED_BY(mu_);
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  Term leader_term_ ABSL_GUARDED_BY(mu_);  // the term we lead, if any
  // The last heartbeat of each broker, on clock->Monotonic().
  absl::flat_hash_map<NodeId, absl::Duration> sessions_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  // Replica sizes of moving partitions by broker, as last heartbeated.
  absl::flat_hash_map<NodeId, absl::flat_hash_map<std::pair<Uuid, int32_t>, int64_t>> moving_bytes_
      ABSL_GUARDED_BY(mu_);
  // The balancer's soft state (active controller): disks and led replica
  // sizes as heartbeated,
  // since when each broker is fenced, whether brokers are to be evened out
  // (a broker joined, a decommission, `cluster balance`; continuous mode:
  // always), whether the preferred leaders are to be elected once the moves
  // are done, and the last plan.
  ClusterUsage usage_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<NodeId, absl::Duration> fenced_since_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<NodeId> known_brokers_ ABSL_GUARDED_BY(mu_);
  bool balancing_ ABSL_GUARDED_BY(mu_) = false;
  bool elect_after_moves_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_plan_at_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
  int64_t last_plan_moves_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> last_unplaceable_ ABSL_GUARDED_BY(mu_);
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Wakeup wakeup_;  // notified when stop_ is set
  std::thread timer_;
};

}  // namespace samsa::controller
