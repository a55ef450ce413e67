#include "raft/node.h"

#include <cerrno>
#include <map>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "raft/test_cluster.h"
#include "raft/test_state_machine.h"
#include "storage/fault_env.h"
#include "storage/mem_env.h"

namespace samsa::raft {
namespace {

using samsa::testing::Eventually;

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
  TestCluster c({.nodes = 3,
                 .grpc = false,
                 .on_disk = false,
                 .tick = absl::Milliseconds(5),
                 .snapshot_every = 20,
                 .make_state = [] { return std::make_unique<ListStateMachine>(); }});
  const NodeId first = c.Leader();
  ASSERT_NE(kNoNode, first);
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) {
    expected.push_back("a" + std::to_string(i));
    ASSERT_TRUE(c.Write(expected.back()).ok());
  }
  // The leader dies; the other two elect a new one and keep committing.
  c.Kill(first);
  for (int i = 0; i < 30; ++i) {
    expected.push_back("b" + std::to_string(i));
    ASSERT_TRUE(c.Write(expected.back()).ok());
  }
  // It comes back from its disk and catches up (from a snapshot: both
  // survivors compacted meanwhile).
  ASSERT_TRUE(c.Start(first).ok());
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(expected,
              WaitForItems(*static_cast<ListStateMachine*>(c.state(NodeId(id))), expected.size()))
        << "node " << id;
  }
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

TestCluster LocalCluster() {
  return TestCluster({.nodes = 3,
                      .grpc = false,
                      .on_disk = false,
                      .tick = absl::Milliseconds(5),
                      .snapshot_every = 1000,
                      .make_state = [] { return std::make_unique<ListStateMachine>(); }});
}

TEST(NodeTest, TransfersLeadershipOnRequest) {
  TestCluster c = LocalCluster();
  const NodeId from = c.Leader();
  ASSERT_NE(kNoNode, from);
  ASSERT_TRUE(c.Write("x").ok());
  const NodeId to = NodeId(from.value() % 3 + 1);
  c.node(from)->TransferLeadership(to);
  EXPECT_TRUE(
      Eventually([&] { return c.node(to)->status().role == Role::kLeader; }, absl::Seconds(20)));
}

TEST(NodeTest, ReadIndexOnTheLeaderSeesEarlierWrites) {
  TestCluster c = LocalCluster();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.Write("w" + std::to_string(i)).ok());
  const NodeId leader = c.Leader();
  ASSERT_NE(kNoNode, leader);
  auto read = [&](NodeId id) {
    absl::Notification done;
    absl::StatusOr<Index> result = absl::UnknownError("unset");
    c.node(id)->ReadIndex([&](absl::StatusOr<Index> r) {
      result = r;
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  };
  absl::StatusOr<Index> at = read(leader);
  ASSERT_TRUE(at.ok()) << at.status();
  // Five writes plus the term's no-op came before the read; the state
  // machine already holds them when the callback runs.
  EXPECT_GE(at->value(), 6);
  EXPECT_EQ(5u, static_cast<ListStateMachine*>(c.state(leader))->items().size());
  const NodeId follower = NodeId(leader.value() % 3 + 1);
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition, read(follower).status().code());
}

TEST(NodeTest, MembershipChangeThroughTheNode) {
  TestCluster c = LocalCluster();
  const NodeId leader = c.Leader();
  ASSERT_NE(kNoNode, leader);
  ASSERT_TRUE(c.Write("x").ok());  // a commit in the leader's term first
  const NodeId removed = NodeId(leader.value() % 3 + 1);
  absl::Notification done;
  absl::Status result;
  c.node(leader)->ProposeConfChange({ConfChangeType::kRemoveVoter, removed},
                                    [&](absl::StatusOr<Index> r) {
                                      result = r.status();
                                      done.Notify();
                                    });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(2u, c.node(leader)->status().conf.voters.size());
  // A second node proposing while not leading is refused with the reason.
  absl::Notification refused;
  c.node(removed)->Propose("y", [&](absl::StatusOr<Index> r) {
    result = r.status();
    refused.Notify();
  });
  ASSERT_TRUE(refused.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition, result.code());
}

}  // namespace
}  // namespace samsa::raft

namespace samsa::raft {
namespace {

// A single voter with no peers, on `env`, ticking every millisecond.
struct SoloNode {
  SoloNode(storage::Env* env, StateMachine* state) {
    log = *DurableLog::Open(env, "/solo", ConfState{{NodeId(1)}, {}}, &clock);
    NodeOptions o;
    o.raft.id = NodeId(1);
    o.tick = absl::Milliseconds(1);
    node = *Node::Start(o, log.get(), state, &transport);
  }
  struct NoPeers : Transport {
    void Send(const Message&) override {}
  };
  FakeClock clock;
  NoPeers transport;
  std::unique_ptr<DurableLog> log;
  std::unique_ptr<Node> node;
};

// Three nodes in memory, each behind its own FaultEnv.
TestClusterOptions ThreeNodesOnFaultyDisks() {
  return {.nodes = 3,
          .grpc = false,
          .on_disk = false,
          .tick = absl::Milliseconds(5),
          .make_state = [] { return std::make_unique<ListStateMachine>(); },
          .fault_envs = true};
}

// A leader syncs its own log in the background (thesis §10.2.1): while its
// fsync runs it goes on replicating, its followers' acknowledgements commit
// the entry, but it applies the entry (and answers the proposer) only once
// the entry is on its own disk too.
TEST(NodeTest, ALeaderCommitsOnItsFollowersWhileItsOwnFsyncRuns) {
  TestCluster c(ThreeNodesOnFaultyDisks());
  const NodeId leader = c.Leader();
  ASSERT_NE(kNoNode, leader);
  ASSERT_TRUE(c.Write("before").ok());
  Node* node = c.node(leader);
  const absl::Duration slow = absl::Seconds(3);
  c.fault_env(leader)->SetSyncDelay(slow);

  const Index index = node->status().last_index + 1;
  const absl::Time start = absl::Now();
  absl::Notification applied;
  node->Propose("slow", [&](absl::StatusOr<Index> r) {
    EXPECT_EQ(index, r.value_or(Index(0)));
    applied.Notify();
  });
  while (node->status().commit < index && absl::Now() - start < slow) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const Status during = node->status();
  EXPECT_GE(during.commit, index) << "committed by the followers while the leader's fsync runs";
  EXPECT_LT(during.applied, index) << "applied before it was on the leader's disk";
  EXPECT_FALSE(applied.HasBeenNotified());
  ASSERT_TRUE(applied.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_GE(absl::Now() - start, slow);
  EXPECT_EQ(index, node->status().applied);
}

// The leader's background fsync fails: it stops without applying, and its
// proposer hears UNAVAILABLE; but the entry went to the followers before
// the sync, they committed it, and the next leader applies it (an
// indeterminate answer, as any lost reply is; never a lost commit).
TEST(NodeTest, AnEntryWhoseLeaderCouldNotSyncItIsStillCommittedByTheOthers) {
  TestCluster c(ThreeNodesOnFaultyDisks());
  const NodeId first = c.Leader();
  ASSERT_NE(kNoNode, first);
  ASSERT_TRUE(c.Write("a").ok());
  c.fault_env(first)->InjectError(storage::FaultOp::kSync, EIO, "", 1000);
  absl::Notification answered;
  absl::Status result;
  c.node(first)->Propose("b", [&](absl::StatusOr<Index> r) {
    result = r.status();
    answered.Notify();
  });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(absl::StatusCode::kUnavailable, result.code()) << result;
  EXPECT_THAT(std::string(c.node(first)->failure().message()),
              ::testing::HasSubstr("Input/output error"));
  c.Kill(first);
  const NodeId next = c.Leader();
  ASSERT_NE(kNoNode, next);
  ASSERT_NE(first, next);
  ASSERT_TRUE(c.Write("c").ok());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}),
            WaitForItems(*static_cast<ListStateMachine*>(c.state(next)), 3));
}

// A failed fsync stops the node for good: nothing is retried, every waiting
// and later proposer hears UNAVAILABLE, and failure() says why.
TEST(NodeTest, FailedFsyncStopsTheNode) {
  auto mem = storage::NewMemEnv();
  storage::FaultEnv env(mem.get());
  ListStateMachine state;
  SoloNode solo(&env, &state);
  Node* node = solo.node.get();
  ASSERT_TRUE(Eventually([&] { return node->status().role == Role::kLeader; }, absl::Seconds(20)));

  env.InjectError(storage::FaultOp::kSync, EIO, "", 1000);
  auto propose = [&] {
    absl::Notification done;
    absl::Status result;
    node->Propose("x", [&](absl::StatusOr<Index> r) {
      result = r.status();
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return result;
  };
  EXPECT_EQ(absl::StatusCode::kUnavailable, propose().code());
  EXPECT_THAT(std::string(node->failure().message()), ::testing::HasSubstr("Input/output error"));
  EXPECT_EQ(absl::StatusCode::kUnavailable, propose().code()) << "answered at once, not queued";
}

// A state machine that refuses one entry, and records what it heard.
class RefusingStateMachine : public StateMachine {
 public:
  absl::Status Apply(const Entry& e) override {
    absl::MutexLock lock(&mu_);
    if (e.data == "poison") return absl::DataLossError("entry cannot be applied");
    if (e.data.empty() && leader_term_ == e.term) noop_after_notice_ = true;
    return absl::OkStatus();
  }
  std::string Snapshot() override { return {}; }
  absl::Status Restore(const std::string&) override { return absl::OkStatus(); }
  void OnLeadershipChange(const Status& s) override {
    absl::MutexLock lock(&mu_);
    if (s.role == Role::kLeader) leader_term_ = s.term;
  }
  bool noop_after_notice() const {
    absl::MutexLock lock(&mu_);
    return noop_after_notice_;
  }

 private:
  mutable absl::Mutex mu_;
  Term leader_term_ ABSL_GUARDED_BY(mu_);
  bool noop_after_notice_ ABSL_GUARDED_BY(mu_) = false;
};

// A new leader hears of its leadership before it applies its term's no-op,
// and an entry the state machine cannot apply stops the node instead of
// letting it run on with a state its peers do not have.
TEST(NodeTest, LeadershipNoticePrecedesTheNoOpAndApplyErrorsStopTheNode) {
  auto env = storage::NewMemEnv();
  RefusingStateMachine state;
  SoloNode solo(env.get(), &state);
  Node* node = solo.node.get();
  EXPECT_TRUE(Eventually([&] { return state.noop_after_notice(); }, absl::Seconds(20)));

  absl::Notification done;
  absl::Status result;
  node->Propose("poison", [&](absl::StatusOr<Index> r) {
    result = r.status();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(absl::StatusCode::kUnavailable, result.code());
  EXPECT_EQ(absl::StatusCode::kDataLoss, node->failure().code());
}

}  // namespace
}  // namespace samsa::raft
