#include "controller/partition_changes.h"

#include "common/metadata_records.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::ElementsAre;

// Commits `record` plus the reconciliation it implies; returns the result.
ReconcileResult ApplyAndReconcile(MetadataImage& image, v1::MetadataRecord record) {
  PendingBatch batch(image);
  EXPECT_TRUE(batch.Add(std::move(record)).ok());
  absl::StatusOr<ReconcileResult> r = Reconcile(batch);
  EXPECT_TRUE(r.ok()) << r.status();
  Commit(image, batch);
  return r.value_or(ReconcileResult{});
}

// Commits `record` alone.
void Apply(MetadataImage& image, v1::MetadataRecord record) {
  PendingBatch batch(image);
  EXPECT_TRUE(batch.Add(std::move(record)).ok());
  Commit(image, batch);
}

// Runs a preferred leader election; returns how many partitions moved.
int64_t ElectPreferred(MetadataImage& image, int64_t imbalance_percent) {
  PendingBatch batch(image);
  absl::StatusOr<int64_t> moved = ElectPreferredLeaders(batch, imbalance_percent);
  EXPECT_TRUE(moved.ok()) << moved.status();
  Commit(image, batch);
  return moved.value_or(-1);
}

TEST(ElectionTest, FencedLeaderIsReplacedByTheFirstLiveIsrMemberInReplicaOrder) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1, 3, 2}});
  const ReconcileResult r = ApplyAndReconcile(image, records::FenceBroker(NodeId(1), 1));
  EXPECT_EQ(1, r.leader_changes);
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_EQ(NodeId(3), p.leader) << "replica order, not id order";
  EXPECT_EQ(Epoch(1), p.leader_epoch);
  EXPECT_EQ(1, p.partition_epoch);
  EXPECT_THAT(p.isr, ElementsAre(NodeId(3), NodeId(2))) << "the fenced broker leaves the ISR";
}

TEST(ElectionTest, FencedFollowerLeavesTheIsrOnly) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1, 2, 3}});
  const ReconcileResult r = ApplyAndReconcile(image, records::FenceBroker(NodeId(2), 2));
  EXPECT_EQ(0, r.leader_changes);
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_EQ(NodeId(1), p.leader);
  EXPECT_EQ(Epoch(0), p.leader_epoch) << "no leader change, no new leader epoch";
  EXPECT_THAT(p.isr, ElementsAre(NodeId(1), NodeId(3)));
}

TEST(ElectionTest, NoLiveIsrMemberLeavesThePartitionOfflineUntilOneReturns) {
  MetadataImage image = ImageWithBrokers(2);
  AddTopic(image, "t", {{1, 2}});
  ApplyAndReconcile(image, records::FenceBroker(NodeId(2), 2));
  ApplyAndReconcile(image, records::FenceBroker(NodeId(1), 1));
  const PartitionImage& offline = PartitionOf(image, "t", 0);
  EXPECT_EQ(kNoNode, offline.leader);
  EXPECT_THAT(offline.isr, ElementsAre(NodeId(1))) << "the last ISR member stays in the ISR";
  // Broker 2 (not in the ISR) returns: still offline without unclean election.
  ApplyAndReconcile(image, records::UnfenceBroker(NodeId(2), 2));
  EXPECT_EQ(kNoNode, PartitionOf(image, "t", 0).leader);
  // Broker 1, the last ISR member, returns and leads again.
  ApplyAndReconcile(image, records::UnfenceBroker(NodeId(1), 1));
  EXPECT_EQ(NodeId(1), PartitionOf(image, "t", 0).leader);
  EXPECT_EQ(Epoch(2), PartitionOf(image, "t", 0).leader_epoch);
}

TEST(ElectionTest, UncleanElectionPicksALiveReplicaOutsideTheIsrWhenEnabled) {
  MetadataImage image = ImageWithBrokers(2);
  const Uuid id = AddTopic(image, "t", {{1, 2}});
  ApplyAndReconcile(image, records::FenceBroker(NodeId(2), 2));
  ApplyAndReconcile(image, records::FenceBroker(NodeId(1), 1));
  ApplyAndReconcile(image, records::UnfenceBroker(NodeId(2), 2));
  ASSERT_EQ(kNoNode, PartitionOf(image, "t", 0).leader);
  const ReconcileResult r =
      ApplyAndReconcile(image, records::Config(id, "unclean.leader.election.enable", "true"));
  EXPECT_EQ(1, r.unclean_elections);
  EXPECT_EQ(NodeId(2), PartitionOf(image, "t", 0).leader);
  EXPECT_THAT(PartitionOf(image, "t", 0).isr, ElementsAre(NodeId(2)));
}

TEST(ElectionTest, ShuttingDownLeaderHandsOverOrKeepsLeadingWhenAlone) {
  MetadataImage image = ImageWithBrokers(2);
  AddTopic(image, "shared", {{1, 2}});
  AddTopic(image, "alone", {{1}});
  ApplyAndReconcile(image, records::BrokerShutdown(NodeId(1), 1));
  EXPECT_EQ(NodeId(2), PartitionOf(image, "shared", 0).leader);
  EXPECT_THAT(PartitionOf(image, "shared", 0).isr, ElementsAre(NodeId(2)));
  EXPECT_EQ(NodeId(1), PartitionOf(image, "alone", 0).leader)
      << "alive and the only replica: it leads until it stops";
  EXPECT_EQ(0, MovableLeaderships(image, NodeId(1))) << "nobody else can take 'alone'";
}

// A broker that restarts gets back the partitions it prefers (first
// replica), but only once it is in their ISR again.
TEST(ElectionTest, PreferredLeadersLeadAgainOnceBackInTheIsr) {
  MetadataImage image = ImageWithBrokers(3);
  const Uuid id = AddTopic(image, "t", {{1, 2, 3}, {1, 3, 2}, {2, 1, 3}});
  ApplyAndReconcile(image, records::FenceBroker(NodeId(1), 1));
  ASSERT_EQ(NodeId(2), PartitionOf(image, "t", 0).leader);
  ASSERT_EQ(NodeId(3), PartitionOf(image, "t", 1).leader);
  ApplyAndReconcile(image, records::UnfenceBroker(NodeId(1), 1));
  EXPECT_EQ(0, ElectPreferred(image, 10)) << "broker 1 is back but has not caught up";
  EXPECT_EQ(NodeId(2), PartitionOf(image, "t", 0).leader);

  // The leaders take it back into the ISR once it caught up.
  Apply(image, records::PartitionChange(id, 0, std::nullopt,
                                        std::vector<NodeId>{NodeId(2), NodeId(3), NodeId(1)}));
  Apply(image, records::PartitionChange(id, 1, std::nullopt,
                                        std::vector<NodeId>{NodeId(3), NodeId(2), NodeId(1)}));
  EXPECT_EQ(2, ElectPreferred(image, 10));
  const PartitionImage& p0 = PartitionOf(image, "t", 0);
  EXPECT_EQ(NodeId(1), p0.leader);
  EXPECT_EQ(Epoch(2), p0.leader_epoch) << "a new leadership, fencing the old leader's writes";
  EXPECT_THAT(p0.isr, ElementsAre(NodeId(2), NodeId(3), NodeId(1))) << "the ISR is unchanged";
  EXPECT_EQ(NodeId(1), PartitionOf(image, "t", 1).leader);
  EXPECT_EQ(NodeId(2), PartitionOf(image, "t", 2).leader) << "already with its preferred leader";
  EXPECT_EQ(0, ElectPreferred(image, 10)) << "balanced: nothing moves";
}

// leader.imbalance.per.broker.percentage: a broker's partitions move back
// only once more than that share of those it prefers is led elsewhere.
TEST(ElectionTest, PreferredLeaderElectionWaitsForTheImbalanceThreshold) {
  MetadataImage image = ImageWithBrokers(2);
  std::vector<std::vector<int>> replicas(10, std::vector<int>{1, 2});
  const Uuid id = AddTopic(image, "t", replicas);
  Apply(image, records::PartitionChange(id, 3, NodeId(2), std::nullopt));
  EXPECT_EQ(0, ElectPreferred(image, 10)) << "1 of 10 is not above 10 %";
  EXPECT_EQ(NodeId(2), PartitionOf(image, "t", 3).leader);
  EXPECT_EQ(1, ElectPreferred(image, 9));
  EXPECT_EQ(NodeId(1), PartitionOf(image, "t", 3).leader);
  Apply(image, records::PartitionChange(id, 4, NodeId(2), std::nullopt));
  Apply(image, records::FenceBroker(NodeId(1), 1));
  EXPECT_EQ(0, ElectPreferred(image, 0)) << "a fenced preferred leader takes nothing";
}

}  // namespace
}  // namespace samsa::controller
