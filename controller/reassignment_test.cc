#include "controller/reassignment.h"

#include "common/metadata_records.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<NodeId> Ids(const std::vector<int>& ids) {
  std::vector<NodeId> out;
  for (int id : ids) out.emplace_back(id);
  return out;
}

v1::Error Start(MetadataImage& image, const std::string& topic, int partition,
                const std::vector<int>& target) {
  PendingBatch batch(image);
  v1::Error e = StartReassignment(batch, topic, partition, Ids(target));
  if (e.code() == v1::NONE && !batch.empty()) Commit(image, batch);
  return e;
}

v1::Error Cancel(MetadataImage& image, const std::string& topic, int partition) {
  PendingBatch batch(image);
  v1::Error e = CancelReassignment(batch, topic, partition);
  if (e.code() == v1::NONE) Commit(image, batch);
  return e;
}

int64_t Complete(MetadataImage& image) {
  PendingBatch batch(image);
  absl::StatusOr<int64_t> n = CompleteReassignments(batch);
  EXPECT_TRUE(n.ok()) << n.status();
  Commit(image, batch);
  return n.value_or(-1);
}

// What the leader's AlterPartition does once a follower caught up.
void SetIsr(MetadataImage& image, const std::string& topic, int partition,
            std::initializer_list<int> isr) {
  PendingBatch batch(image);
  ASSERT_TRUE(batch
                  .Add(records::PartitionChange(image.FindTopic(topic)->id, partition, std::nullopt,
                                                Ids(isr)))
                  .ok());
  Commit(image, batch);
}

TEST(ReassignmentTest, MoveAddsCatchesUpThenDropsTheOldReplica) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {1, 2, 4}).code());
  const PartitionImage& moving = PartitionOf(image, "t", 0);
  EXPECT_THAT(moving.replicas, ElementsAre(NodeId(1), NodeId(2), NodeId(4), NodeId(3)));
  EXPECT_THAT(moving.adding, ElementsAre(NodeId(4)));
  EXPECT_THAT(moving.removing, ElementsAre(NodeId(3)));
  EXPECT_THAT(moving.isr, ElementsAre(NodeId(1), NodeId(2), NodeId(3)));
  EXPECT_EQ(NodeId(1), moving.leader);
  EXPECT_EQ(Epoch(0), moving.leader_epoch) << "starting a move elects nobody";

  EXPECT_EQ(0, Complete(image)) << "broker 4 has not caught up";
  SetIsr(image, "t", 0, {1, 2, 3, 4});
  EXPECT_EQ(1, Complete(image));
  const PartitionImage& done = PartitionOf(image, "t", 0);
  EXPECT_FALSE(done.moving());
  EXPECT_THAT(done.replicas, ElementsAre(NodeId(1), NodeId(2), NodeId(4)));
  EXPECT_THAT(done.isr, ElementsAre(NodeId(1), NodeId(2), NodeId(4)));
  EXPECT_EQ(NodeId(1), done.leader);
  EXPECT_EQ(Epoch(0), done.leader_epoch) << "the leader stayed";
  EXPECT_EQ(0, Complete(image)) << "nothing left to complete";
}

TEST(ReassignmentTest, RemovedLeaderHandsOverToTheFirstTargetReplicaInTheIsr) {
  MetadataImage image = ImageWithBrokers(5);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {4, 5, 2}).code());
  SetIsr(image, "t", 0, {1, 2, 3, 5});
  EXPECT_EQ(0, Complete(image)) << "broker 4 is not in the ISR yet";
  SetIsr(image, "t", 0, {1, 2, 3, 5, 4});
  EXPECT_EQ(1, Complete(image));
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(4), NodeId(5), NodeId(2)));
  EXPECT_THAT(p.isr, ElementsAre(NodeId(2), NodeId(5), NodeId(4)));
  EXPECT_EQ(NodeId(4), p.leader) << "the preferred replica of the target";
  EXPECT_EQ(Epoch(1), p.leader_epoch);
}

TEST(ReassignmentTest, LeaderHandOverWaitsForAnEligibleTargetReplica) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "t", {{1, 2}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {3, 4}).code());
  SetIsr(image, "t", 0, {1, 2, 3, 4});
  {
    PendingBatch batch(image);
    ASSERT_TRUE(batch.Add(records::FenceBroker(NodeId(3), 3)).ok());
    ASSERT_TRUE(batch.Add(records::FenceBroker(NodeId(4), 4)).ok());
    Commit(image, batch);
  }
  EXPECT_EQ(0, Complete(image)) << "nobody in the target can lead";
  EXPECT_TRUE(PartitionOf(image, "t", 0).moving());
}

TEST(ReassignmentTest, ShrinkingCompletesInTheSameBatch) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {2, 3}).code());
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_FALSE(p.moving());
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(2), NodeId(3)));
  EXPECT_THAT(p.isr, ElementsAre(NodeId(2), NodeId(3)));
  EXPECT_EQ(NodeId(2), p.leader);
}

TEST(ReassignmentTest, ReorderingChangesThePreferredLeaderOnly) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {3, 1, 2}).code());
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_FALSE(p.moving());
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(3), NodeId(1), NodeId(2)));
  EXPECT_EQ(NodeId(1), p.leader) << "the preferred leader election moves it later";
  const int64_t offset = image.offset();
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {3, 1, 2}).code());
  EXPECT_EQ(offset, image.offset()) << "the same target again writes nothing";
}

TEST(ReassignmentTest, CancelRollsBackToTheOriginalReplicas) {
  MetadataImage image = ImageWithBrokers(5);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {4, 5, 3}).code());
  SetIsr(image, "t", 0, {1, 2, 3, 4});
  ASSERT_EQ(v1::NONE, Cancel(image, "t", 0).code());
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_FALSE(p.moving());
  EXPECT_THAT(p.Original(), ElementsAre(NodeId(3), NodeId(1), NodeId(2)));
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(3), NodeId(1), NodeId(2)));
  EXPECT_THAT(p.isr, ElementsAre(NodeId(1), NodeId(2), NodeId(3))) << "broker 4 left with it";
  EXPECT_EQ(NodeId(1), p.leader);

  const v1::Error again = Cancel(image, "t", 0);
  EXPECT_EQ(v1::NO_REASSIGNMENT_IN_PROGRESS, again.code());
  EXPECT_THAT(again.message(), HasSubstr("t-0 is not being reassigned"));
}

TEST(ReassignmentTest, CancelMovesTheLeaderBackIntoTheOriginalReplicas) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "t", {{1, 2}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {3, 4, 1, 2}).code());
  SetIsr(image, "t", 0, {1, 2, 3});
  // The leader failed over to broker 3 mid-move.
  {
    PendingBatch batch(image);
    ASSERT_TRUE(
        batch.Add(records::PartitionChange(image.FindTopic("t")->id, 0, NodeId(3), std::nullopt))
            .ok());
    Commit(image, batch);
  }
  ASSERT_EQ(v1::NONE, Cancel(image, "t", 0).code());
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(1), NodeId(2)));
  EXPECT_EQ(NodeId(1), p.leader);
  EXPECT_EQ(Epoch(2), p.leader_epoch);
}

TEST(ReassignmentTest, CancelIsRefusedWhenNoOriginalReplicaIsInTheIsr) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {2, 3}).code());
  SetIsr(image, "t", 0, {1, 2});
  {
    PendingBatch batch(image);
    ASSERT_TRUE(
        batch.Add(records::PartitionChange(image.FindTopic("t")->id, 0, NodeId(2), Ids({2}))).ok());
    Commit(image, batch);
  }
  const MetadataImage before = image;
  const v1::Error e = Cancel(image, "t", 0);
  EXPECT_EQ(v1::REASSIGNMENT_IN_PROGRESS, e.code());
  EXPECT_THAT(e.message(), HasSubstr("no original replica (1) is in the ISR"));
  EXPECT_EQ(before.SerializeSnapshot(), image.SerializeSnapshot());
}

TEST(ReassignmentTest, NewTargetReplacesTheMoveCountedFromTheOriginal) {
  MetadataImage image = ImageWithBrokers(5);
  AddTopic(image, "t", {{1, 2, 3}});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {1, 2, 4}).code());
  SetIsr(image, "t", 0, {1, 2, 3, 4});
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {1, 2, 5}).code());
  const PartitionImage& p = PartitionOf(image, "t", 0);
  EXPECT_THAT(p.replicas, ElementsAre(NodeId(1), NodeId(2), NodeId(5), NodeId(3)));
  EXPECT_THAT(p.adding, ElementsAre(NodeId(5)));
  EXPECT_THAT(p.removing, ElementsAre(NodeId(3)));
  EXPECT_THAT(p.isr, ElementsAre(NodeId(1), NodeId(2), NodeId(3))) << "broker 4 is out";

  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {1, 2, 3}).code()) << "back to the original: cancel";
  EXPECT_FALSE(PartitionOf(image, "t", 0).moving());
  EXPECT_THAT(PartitionOf(image, "t", 0).replicas, ElementsAre(NodeId(1), NodeId(2), NodeId(3)));
}

TEST(ReassignmentTest, BadTargetsAreRefusedAndChangeNothing) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "t", {{1, 2, 3}});
  {
    PendingBatch batch(image);
    ASSERT_TRUE(batch.Add(records::BrokerDecommission(NodeId(4))).ok());
    Commit(image, batch);
  }
  struct Case {
    std::string topic;
    int partition;
    std::vector<int> target;
    v1::ErrorCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"t", 0, {}, v1::INVALID_REPLICA_ASSIGNMENT, "t-0: a partition needs at least one replica"},
      {"t", 0, {1, 2, 2}, v1::INVALID_REPLICA_ASSIGNMENT, "broker 2 is listed twice"},
      {"t", 0, {1, 2, 9}, v1::INVALID_REPLICA_ASSIGNMENT, "broker 9 is not registered"},
      {"t", 0, {1, 2, 4}, v1::INVALID_REPLICA_ASSIGNMENT, "broker 4 is being decommissioned"},
      {"t", 1, {1}, v1::UNKNOWN_TOPIC_OR_PARTITION, "no partition t-1"},
      {"u", 0, {1}, v1::UNKNOWN_TOPIC_OR_PARTITION, "no topic 'u'"},
  };
  const std::string before = image.SerializeSnapshot();
  for (const Case& c : cases) {
    const v1::Error e = Start(image, c.topic, c.partition, c.target);
    EXPECT_EQ(c.code, e.code()) << c.message;
    EXPECT_THAT(e.message(), HasSubstr(c.message));
    EXPECT_EQ(before, image.SerializeSnapshot()) << c.message;
  }
  EXPECT_THAT(PartitionOf(image, "t", 0).adding, IsEmpty());
}

TEST(ReassignmentTest, MovingPartitionsAreCounted) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "t", {{1, 2}, {2, 3}, {3, 1}});
  EXPECT_EQ(0, MovingPartitions(image));
  ASSERT_EQ(v1::NONE, Start(image, "t", 0, {1, 4}).code());
  ASSERT_EQ(v1::NONE, Start(image, "t", 2, {4, 1}).code());
  EXPECT_EQ(2, MovingPartitions(image));
}

}  // namespace
}  // namespace samsa::controller
