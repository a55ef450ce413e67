#include "raft/node.h"

#include <map>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "raft/test_state_machine.h"
#include "storage/mem_env.h"

namespace samsa::raft {
namespace {

// Routes messages between nodes in this process.
class LocalNetwork {
 public:
  class Endpoint : public Transport {
   public:
    explicit Endpoint(LocalNetwork* net) : net_(net) {}
    void Send(const Message& m) override { net_->Deliver(m); }

   private:
    LocalNetwork* net_;
  };

  void Attach(NodeId id, Node* node) {
    absl::MutexLock lock(&mu_);
    nodes_[id] = node;
  }
  void Detach(NodeId id) {
    absl::MutexLock lock(&mu_);
    nodes_.erase(id);
  }
  void Deliver(const Message& m) {
    absl::MutexLock lock(&mu_);
    if (auto it = nodes_.find(m.to); it != nodes_.end()) it->second->Receive(m);
  }

 private:
  absl::Mutex mu_;
  std::map<NodeId, Node*> nodes_ ABSL_GUARDED_BY(mu_);
};

class Cluster {
 public:
  explicit Cluster(int n) : env_(storage::NewMemEnv()), endpoint_(&net_) {
    for (int i = 1; i <= n; ++i) bootstrap_.voters.push_back(NodeId(i));
    for (int i = 1; i <= n; ++i) Start(NodeId(i));
  }
  ~Cluster() {
    for (auto& [id, node] : nodes_) net_.Detach(id);
    nodes_.clear();
  }

  void Start(NodeId id) {
    auto& slot = members_[id];
    slot.log =
        *DurableLog::Open(env_.get(), "/n" + std::to_string(id.value()), bootstrap_, &clock_);
    slot.state = std::make_unique<ListStateMachine>();
    NodeOptions o;
    o.raft.id = id;
    o.raft.seed = static_cast<uint64_t>(id.value());
    o.tick = absl::Milliseconds(5);
    o.snapshot_every = 20;
    auto node = Node::Start(o, slot.log.get(), slot.state.get(), &endpoint_);
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_[id] = std::move(*node);
    net_.Attach(id, nodes_[id].get());
  }

  void Stop(NodeId id) {
    net_.Detach(id);
    nodes_.erase(id);
  }

  NodeId WaitForLeader() {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      for (auto& [id, node] : nodes_) {
        const auto s = node->status();
        if (s.role == Role::kLeader) return id;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return kNoNode;
  }

  // Proposes through whoever leads until it is applied there.
  absl::Status Write(const std::string& data) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      const NodeId leader = WaitForLeader();
      if (leader == kNoNode) break;
      absl::Notification done;
      absl::Status result;
      nodes_[leader]->Propose(data, [&](absl::StatusOr<Index> r) {
        result = r.status();
        done.Notify();
      });
      done.WaitForNotification();
      if (result.ok()) return result;
    }
    return absl::DeadlineExceededError("no leader accepted the write");
  }

  bool WaitForItems(NodeId id, size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      if (members_[id].state->items().size() >= n) return true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  std::vector<std::string> Items(NodeId id) { return members_[id].state->items(); }

 private:
  struct Member {
    std::unique_ptr<DurableLog> log;
    std::unique_ptr<ListStateMachine> state;
  };
  std::unique_ptr<storage::Env> env_;
  FakeClock clock_;
  ConfState bootstrap_;
  LocalNetwork net_;
  LocalNetwork::Endpoint endpoint_;
  std::map<NodeId, Member> members_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
};

TEST(RaftProbeTest, ReportsStatusAndCountsElections) {
  prometheus::Registry registry;
  RaftProbe probe(registry);
  Status s{NodeId(1), Role::kFollower, Term(1), NodeId(2), Index(5), Index(4), Index(6), {}, {}};
  probe.OnStatus(s);
  s.role = Role::kPreCandidate;
  probe.OnStatus(s);
  s.role = Role::kCandidate;
  s.term = Term(2);
  probe.OnStatus(s);
  s.role = Role::kLeader;
  s.leader = NodeId(1);
  probe.OnStatus(s);
  probe.OnPersist(0.0003);
  std::map<std::string, double> values;
  for (const auto& family : registry.Collect()) {
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case prometheus::MetricType::Gauge:
          values[family.name] = metric.gauge.value;
          break;
        case prometheus::MetricType::Counter:
          values[family.name] = metric.counter.value;
          break;
        case prometheus::MetricType::Histogram:
          values[family.name] = static_cast<double>(metric.histogram.sample_count);
          break;
        default:
          break;
      }
    }
  }
  EXPECT_EQ(2, values["samsa_raft_term"]);
  EXPECT_EQ(5, values["samsa_raft_commit_index"]);
  EXPECT_EQ(4, values["samsa_raft_applied_index"]);
  EXPECT_EQ(1, values["samsa_raft_leader"]);
  EXPECT_EQ(1, values["samsa_raft_leader_id"]);
  EXPECT_EQ(1, values["samsa_raft_elections_started_total"]) << "pre-vote then vote: one election";
  EXPECT_EQ(1, values["samsa_raft_elections_won_total"]);
  EXPECT_EQ(1, values["samsa_raft_persist_seconds"]);
}

TEST(NodeTest, ThreeNodesCommitThroughLeaderLossAndRestart) {
  Cluster c(3);
  const NodeId first = c.WaitForLeader();
  ASSERT_NE(kNoNode, first);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.Write("a" + std::to_string(i)).ok());

  // The leader dies; the other two elect a new one and keep committing.
  c.Stop(first);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.Write("b" + std::to_string(i)).ok());

  // It comes back from its disk and catches up (from a snapshot: both
  // survivors compacted meanwhile).
  c.Start(first);
  ASSERT_TRUE(c.WaitForItems(first, 60));
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) expected.push_back("a" + std::to_string(i));
  for (int i = 0; i < 30; ++i) expected.push_back("b" + std::to_string(i));
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(c.WaitForItems(NodeId(id), 60));
    EXPECT_EQ(expected, c.Items(NodeId(id))) << "node " << id;
  }
}

}  // namespace
}  // namespace samsa::raft
