#include "controller/broker_lifecycle.h"

#include "common/metadata_records.h"
#include "controller/partition_changes.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class BrokerLifecycleTest : public ::testing::Test {
 protected:
  // Runs one decision on the image and commits what it wrote.
  template <typename F>
  auto Decide(F f) {
    PendingBatch batch(image_);
    auto resp = f(batch);
    if (!batch.empty()) Commit(image_, batch);
    return resp;
  }

  v1::RegisterBrokerResponse Register(int id, uint64_t incarnation,
                                      const std::string& address = "127.0.0.1:9092") {
    v1::RegisterBrokerRequest req;
    req.set_broker_id(id);
    *req.mutable_incarnation_id() = Uuid{0, incarnation}.ToProto();
    req.set_address(address);
    return Decide([&](PendingBatch& b) { return RegisterBroker(req, b); });
  }

  v1::BrokerHeartbeatResponse Heartbeat(int id, int64_t epoch, int64_t metadata_offset) {
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(id);
    req.set_broker_epoch(epoch);
    req.set_metadata_offset(metadata_offset);
    return Decide([&](PendingBatch& b) { return BrokerHeartbeat(req, image_, b); });
  }

  // Registers and unfences broker `id`; returns its epoch.
  int64_t Join(int id) {
    const int64_t epoch = Register(id, 100 + id).broker_epoch();
    EXPECT_FALSE(Heartbeat(id, epoch, image_.offset()).is_fenced());
    return epoch;
  }

  MetadataImage image_;
};

TEST_F(BrokerLifecycleTest, RegistrationStartsFencedAndUnfencesOnceCaughtUp) {
  v1::RegisterBrokerResponse r = Register(1, 5);
  ASSERT_EQ(v1::NONE, r.error().code());
  const BrokerImage* b = image_.FindBroker(NodeId(1));
  ASSERT_NE(nullptr, b);
  EXPECT_TRUE(b->fenced);
  EXPECT_EQ(r.broker_epoch(), b->epoch);

  v1::BrokerHeartbeatResponse behind = Heartbeat(1, r.broker_epoch(), b->registered_at - 1);
  EXPECT_FALSE(behind.is_caught_up());
  EXPECT_TRUE(behind.is_fenced());
  v1::BrokerHeartbeatResponse caught_up = Heartbeat(1, r.broker_epoch(), b->registered_at);
  EXPECT_TRUE(caught_up.is_caught_up());
  EXPECT_FALSE(caught_up.is_fenced());
  EXPECT_FALSE(image_.FindBroker(NodeId(1))->fenced);
}

TEST_F(BrokerLifecycleTest, SameIncarnationRetriesGetTheSameEpoch) {
  const int64_t epoch = Register(1, 5).broker_epoch();
  const int64_t offset = image_.offset();
  EXPECT_EQ(epoch, Register(1, 5).broker_epoch());
  EXPECT_EQ(offset, image_.offset()) << "a retry writes nothing";
}

TEST_F(BrokerLifecycleTest, NewIncarnationFencesTheOldOneAndMovesItsLeaderships) {
  const int64_t old_epoch = Join(1);
  Join(2);
  AddTopic(image_, "t", {{1, 2}});
  const int64_t new_epoch = Register(1, 999).broker_epoch();
  EXPECT_GT(new_epoch, old_epoch);
  EXPECT_TRUE(image_.FindBroker(NodeId(1))->fenced);
  EXPECT_EQ(NodeId(2), PartitionOf(image_, "t", 0).leader);
  EXPECT_THAT(PartitionOf(image_, "t", 0).isr, ElementsAre(NodeId(2)));
  v1::BrokerHeartbeatResponse stale = Heartbeat(1, old_epoch, image_.offset());
  EXPECT_EQ(v1::STALE_BROKER_EPOCH, stale.error().code());
}

TEST_F(BrokerLifecycleTest, MalformedRegistrationsAreRefused) {
  EXPECT_EQ(v1::INVALID_REQUEST, Register(-1, 1).error().code());
  EXPECT_EQ(v1::INVALID_REQUEST, Register(1, 0).error().code()) << "zero incarnation";
  v1::RegisterBrokerResponse bad = Register(1, 1, "no-port");
  EXPECT_EQ(v1::INVALID_REQUEST, bad.error().code());
  EXPECT_THAT(bad.error().message(), HasSubstr("no-port"));
  EXPECT_TRUE(image_.brokers().empty());
  EXPECT_EQ(v1::BROKER_ID_NOT_REGISTERED, Heartbeat(7, 1, 0).error().code());
}

TEST_F(BrokerLifecycleTest, ControlledShutdownMovesLeadershipsThenFences) {
  const int64_t e1 = Join(1);
  const int64_t e2 = Join(2);
  Join(3);
  AddTopic(image_, "shared", {{1, 2}});
  AddTopic(image_, "alone", {{1}});
  AddTopic(image_, "pair", {{3, 2}});

  // Broker 2 stops first: "pair" moves to 3.
  v1::ControlledShutdownRequest two;
  two.set_broker_id(2);
  two.set_broker_epoch(e2);
  EXPECT_EQ(0, Decide([&](PendingBatch& b) {
                 return ControlledShutdown(two, b);
               }).remaining_leaderships());
  EXPECT_TRUE(image_.FindBroker(NodeId(2))->fenced);

  // Broker 1 then: "shared" has no eligible replica left (2 is down) and
  // "alone" never had one: nothing can move, so it may stop at once; both
  // are offline until it is back, never led by a replica outside the ISR.
  v1::ControlledShutdownRequest one;
  one.set_broker_id(1);
  one.set_broker_epoch(e1);
  v1::ControlledShutdownResponse r =
      Decide([&](PendingBatch& b) { return ControlledShutdown(one, b); });
  EXPECT_EQ(0, r.remaining_leaderships());
  EXPECT_TRUE(image_.FindBroker(NodeId(1))->fenced);
  EXPECT_TRUE(Heartbeat(1, e1, image_.offset()).should_shut_down());
  EXPECT_EQ(kNoNode, PartitionOf(image_, "alone", 0).leader);
  EXPECT_EQ(kNoNode, PartitionOf(image_, "shared", 0).leader);
  EXPECT_EQ(NodeId(3), PartitionOf(image_, "pair", 0).leader);
}

TEST_F(BrokerLifecycleTest, ProducerIdBlocksNeverOverlap) {
  const int64_t e1 = Join(1);
  v1::AllocateProducerIdsRequest req;
  req.set_broker_id(1);
  req.set_broker_epoch(e1);
  auto a = Decide([&](PendingBatch& b) { return AllocateProducerIds(req, b); });
  auto b = Decide([&](PendingBatch& b) { return AllocateProducerIds(req, b); });
  EXPECT_EQ(0, a.first_id());
  EXPECT_EQ(kProducerIdBlockSize, a.size());
  EXPECT_EQ(a.first_id() + a.size(), b.first_id());
  req.set_broker_epoch(e1 + 100);
  EXPECT_EQ(v1::STALE_BROKER_EPOCH,
            Decide([&](PendingBatch& p) { return AllocateProducerIds(req, p); }).error().code());
}

class AlterPartitionTest : public BrokerLifecycleTest {
 protected:
  void SetUp() override {
    e1_ = Join(1);
    Join(2);
    Join(3);
    topic_ = AddTopic(image_, "t", {{1, 2, 3}});
  }

  v1::AlterPartitionResponse::Result Alter(int broker, int64_t broker_epoch, int leader_epoch,
                                           int partition_epoch, std::vector<int> isr,
                                           int partition = 0) {
    v1::AlterPartitionRequest req;
    req.set_broker_id(broker);
    req.set_broker_epoch(broker_epoch);
    v1::AlterPartitionRequest::Partition* p = req.add_partitions();
    *p->mutable_topic_id() = topic_.ToProto();
    p->set_partition(partition);
    p->set_leader_epoch(leader_epoch);
    p->set_partition_epoch(partition_epoch);
    for (int m : isr) p->add_new_isr(m);
    v1::AlterPartitionResponse resp =
        Decide([&](PendingBatch& b) { return AlterPartition(req, b); });
    EXPECT_EQ(v1::NONE, resp.error().code()) << resp.error().message();
    return resp.results_size() > 0 ? resp.results(0) : v1::AlterPartitionResponse::Result();
  }

  int64_t e1_ = 0;
  Uuid topic_;
};

TEST_F(AlterPartitionTest, CurrentLeaderShrinksAndExpandsTheIsr) {
  v1::AlterPartitionResponse::Result shrink = Alter(1, e1_, 0, 0, {1, 2});
  ASSERT_EQ(v1::NONE, shrink.error().code()) << shrink.error().message();
  EXPECT_EQ(1, shrink.partition_epoch());
  EXPECT_THAT(shrink.isr(), ElementsAre(1, 2));
  EXPECT_THAT(PartitionOf(image_, "t", 0).isr, ElementsAre(NodeId(1), NodeId(2)));
  v1::AlterPartitionResponse::Result expand = Alter(1, e1_, 0, 1, {1, 2, 3});
  ASSERT_EQ(v1::NONE, expand.error().code());
  EXPECT_EQ(2, expand.partition_epoch());
}

TEST_F(AlterPartitionTest, StaleOrWrongRequestsAreFenced) {
  ASSERT_EQ(v1::NONE, Alter(1, e1_, 0, 0, {1, 2}).error().code());
  const std::string before = image_.SerializeSnapshot();
  v1::AlterPartitionResponse::Result stale = Alter(1, e1_, 0, 0, {1});
  EXPECT_EQ(v1::INVALID_UPDATE_VERSION, stale.error().code()) << "partition epoch 0 is stale";
  EXPECT_EQ(1, stale.partition_epoch()) << "the answer carries the current state";
  EXPECT_EQ(v1::FENCED_LEADER_EPOCH, Alter(1, e1_, -1, 1, {1}).error().code());
  EXPECT_EQ(v1::UNKNOWN_LEADER_EPOCH, Alter(1, e1_, 1, 1, {1}).error().code());
  const int64_t e2 = image_.FindBroker(NodeId(2))->epoch;
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, Alter(2, e2, 0, 1, {2}).error().code());
  EXPECT_EQ(v1::INVALID_REQUEST, Alter(1, e1_, 0, 1, {2}).error().code()) << "leader left out";
  EXPECT_EQ(v1::INVALID_REQUEST, Alter(1, e1_, 0, 1, {1, 9}).error().code()) << "not a replica";
  EXPECT_EQ(v1::INVALID_REQUEST, Alter(1, e1_, 0, 1, {1, 1}).error().code());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, Alter(1, e1_, 0, 1, {1}, 5).error().code());
  EXPECT_EQ(before, image_.SerializeSnapshot()) << "refused changes write nothing";

  v1::AlterPartitionRequest stale_broker;
  stale_broker.set_broker_id(1);
  stale_broker.set_broker_epoch(e1_ - 1);
  EXPECT_EQ(
      v1::STALE_BROKER_EPOCH,
      Decide([&](PendingBatch& b) { return AlterPartition(stale_broker, b); }).error().code());
}

TEST_F(AlterPartitionTest, FencedBrokersCannotJoinTheIsr) {
  ASSERT_EQ(v1::NONE, Alter(1, e1_, 0, 0, {1, 2}).error().code());
  PendingBatch fence(image_);
  ASSERT_TRUE(fence.Add(records::FenceBroker(NodeId(3), image_.FindBroker(NodeId(3))->epoch)).ok());
  Commit(image_, fence);
  EXPECT_EQ(v1::INELIGIBLE_REPLICA, Alter(1, e1_, 0, 1, {1, 2, 3}).error().code());
}

}  // namespace
}  // namespace samsa::controller
