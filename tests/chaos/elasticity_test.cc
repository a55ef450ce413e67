// Elasticity scenarios of the fault suite: partition moves, the balancer
// and decommissioning under the chaos workload (chaos_fixture.h), each
// checked like the fault scenarios: zero lost, duplicated or inconsistent
// writes and replicas identical below the high watermark.
#include <algorithm>
#include <climits>

#include "absl/strings/match.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "tests/chaos/chaos_fixture.h"

namespace samsa::chaos {
namespace {

// Elasticity (reassignment, balancing, decommission) under the workload:
// 12 partitions, a fourth broker joining or one leaving.
class ElasticityChaosTest : public ChaosTest {
 protected:
  int Partitions() const override { return 12; }
  int BrokerSlots() const override { return 4; }

  v1::DescribeClusterResponse Describe() {
    v1::DescribeClusterResponse r;
    const int active = cluster_->WaitForActive(absl::Seconds(20));
    EXPECT_NE(-1, active);
    if (active > 0) {
      EXPECT_TRUE(cluster_->stub(active)
                      .DescribeCluster(RpcContext().get(), v1::DescribeClusterRequest(), &r)
                      .ok());
    }
    return r;
  }

  // Replicas broker `b` holds, as the active controller counts them; -1:
  // not registered.
  int Replicas(int b) {
    const v1::DescribeClusterResponse c = Describe();
    for (const v1::BrokerDescription& d : c.brokers()) {
      if (d.broker_id() == b) return d.replicas();
    }
    return -1;
  }

  // Until nothing moves and the brokers that may take replicas hold within
  // one of each other (up to `timeout`).
  bool WaitForBalance(absl::Duration timeout) {
    return testing::Eventually(
        [&] {
          const v1::DescribeClusterResponse c = Describe();
          int lo = INT32_MAX, hi = -1;
          for (const v1::BrokerDescription& d : c.brokers()) {
            if (d.state() != v1::BrokerDescription::ACTIVE || d.decommissioning()) continue;
            lo = std::min(lo, d.replicas());
            hi = std::max(hi, d.replicas());
          }
          return c.balancer().partitions_moving() == 0 && hi >= 0 && hi - lo <= 1;
        },
        timeout, absl::Milliseconds(250));
  }

  // Starts broker 104 and waits until it is active.
  void AddBroker104() {
    ASSERT_OK(cluster_->StartBroker(104));
    ASSERT_TRUE(cluster_->WaitForBrokerState(104, v1::BrokerDescription::ACTIVE));
    brokers_.push_back(104);
  }

  v1::Error Reassign(int partition, const std::vector<int>& target, bool cancel = false) {
    v1::AlterPartitionReassignmentsRequest req;
    auto* t = req.add_topics();
    t->set_name(kTopic);
    auto* p = t->add_partitions();
    p->set_partition(partition);
    p->set_cancel(cancel);
    for (int b : target) p->add_replicas(b);
    v1::AlterPartitionReassignmentsResponse r;
    const int active = cluster_->WaitForActive(absl::Seconds(20));
    EXPECT_TRUE(
        cluster_->stub(active).AlterPartitionReassignments(RpcContext().get(), req, &r).ok());
    return r.results_size() == 1 ? r.results(0).error() : r.error();
  }

  // The topic's partition directories in broker `b`'s data directory (not
  // counting deleted ones whose files are still being removed: renamed to
  // "...-delete", they are gone for good, see storage/log_manager.h).
  std::vector<std::string> TopicDirs(int b) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<std::string>> names =
        storage::Env::Default()->ListDir(cluster_->broker_data_dir(b) + "/logs");
    if (!names.ok()) return out;
    for (const std::string& n : *names) {
      if (absl::StartsWith(n, absl::StrCat(kTopic, "-")) && !absl::EndsWith(n, "-delete")) {
        out.push_back(n);
      }
    }
    return out;
  }
};

// A fourth broker joins: the controller moves it its share while the
// workload writes, and nothing is lost, duplicated or reordered.
TEST_F(ElasticityChaosTest, AFourthBrokerGetsItsShareUnderLoad) {
  RunFor(absl::Seconds(2));
  AddBroker104();
  ASSERT_TRUE(WaitForBalance(absl::Seconds(60))) << "replicas of 104: " << Replicas(104);
  EXPECT_GE(Replicas(104), 9) << "36 replicas of the topic on 4 brokers";
  const v1::DescribeClusterResponse described = Describe();
  for (const v1::BrokerDescription& b : described.brokers()) {
    EXPECT_GT(b.log_bytes(), 0) << "broker " << b.broker_id() << " heartbeats its log bytes";
  }
  const Report r = Finish("add-broker");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Broker 104 is decommissioned: its replicas move to the others (RF 3
// again everywhere), it stops cleanly, leaves the cluster, and its
// replicas' directories are gone.
TEST_F(ElasticityChaosTest, ADecommissionedBrokerIsDrainedAndLeaves) {
  AddBroker104();
  ASSERT_TRUE(WaitForBalance(absl::Seconds(60)));
  ASSERT_GT(Replicas(104), 0);
  v1::DecommissionBrokerRequest req;
  req.set_broker_id(104);
  v1::DecommissionBrokerResponse resp;
  const int active = cluster_->WaitForActive(absl::Seconds(20));
  ASSERT_TRUE(cluster_->stub(active).DecommissionBroker(RpcContext().get(), req, &resp).ok());
  ASSERT_EQ(v1::NONE, resp.error().code()) << resp.error().message();
  ASSERT_TRUE(testing::Eventually([&] { return Replicas(104) == 0; }, absl::Seconds(60),
                                  absl::Milliseconds(250)))
      << "replicas left on 104: " << Replicas(104);
  for (int p = 0; p < Partitions(); ++p) {
    EXPECT_EQ(3, PartitionOf(*cluster_, kTopic, p).replicas_size()) << p;
  }
  EXPECT_EQ(0, cluster_->TerminateBroker(104));
  brokers_.pop_back();
  EXPECT_TRUE(testing::Eventually([&] { return Replicas(104) == -1; }, absl::Seconds(20),
                                  absl::Milliseconds(250)))
      << "a drained, stopped broker is unregistered";
  EXPECT_THAT(TopicDirs(104), ::testing::IsEmpty());
  const Report r = Finish("decommission");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// The active controller dies while a fourth broker's moves are under way;
// the next one carries on and the brokers end even.
TEST_F(ElasticityChaosTest, MovesCompleteAfterTheActiveControllerIsKilled) {
  RunFor(absl::Seconds(1));
  AddBroker104();
  (void)testing::Eventually(
      [&] { return Describe().balancer().partitions_moving() > 0 || Replicas(104) != 0; },
      absl::Seconds(20), absl::Milliseconds(20));
  const int active = cluster_->WaitForActive(absl::Seconds(20));
  ASSERT_NE(-1, active);
  cluster_->Kill(active);
  RunFor(absl::Seconds(1));  // moves in flight with no active controller
  ASSERT_OK(cluster_->Start(active));
  ASSERT_TRUE(WaitForBalance(absl::Seconds(60))) << "replicas of 104: " << Replicas(104);
  const Report r = Finish("kill-controller-mid-move");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// A broker unreachable for node.unavailable.timeout (3 s here) has its
// replicas re-created on the others.
class EvacuationChaosTest : public ElasticityChaosTest {
 protected:
  std::vector<std::string> ControllerOverrides() const override {
    return {"partition.autobalancer.node.unavailable.timeout.ms=3000"};
  }
};

// Broker 104 holds its share, then dies for good: every partition gets
// its three replicas back, all in the ISR, without 104.
TEST_F(EvacuationChaosTest, AnUnreachableBrokersReplicasAreRecreatedElsewhere) {
  AddBroker104();
  ASSERT_TRUE(WaitForBalance(absl::Seconds(60)));
  ASSERT_GT(Replicas(104), 0);
  cluster_->KillBroker(104);
  brokers_.pop_back();
  auto restored = [&] {
    if (Replicas(104) != 0) return false;
    for (int p = 0; p < Partitions(); ++p) {
      const v1::PartitionDescription d = PartitionOf(*cluster_, kTopic, p);
      if (d.replicas_size() != 3 || d.isr_size() != 3 || d.adding_replicas_size() > 0) return false;
    }
    return true;
  };
  ASSERT_TRUE(testing::Eventually(restored, absl::Seconds(60), absl::Milliseconds(250)))
      << "replicas left on 104: " << Replicas(104);
  const Report r = Finish("evacuate-unreachable");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Moves by hand only: the balancer is off.
class ManualMoveChaosTest : public ElasticityChaosTest {
 protected:
  std::vector<std::string> ControllerOverrides() const override {
    return {"partition.autobalancer.mode=off"};
  }
};

// A move onto a broker that is killed before it caught up waits for it,
// and completes once it returns; a move cancelled half-way goes back to
// the original replicas and deletes the copy.
TEST_F(ManualMoveChaosTest, MovesWaitForAKilledTargetAndCancelRollsBack) {
  AddBroker104();
  EXPECT_EQ(0, Replicas(104)) << "the balancer is off";
  cluster_->KillBroker(104);
  const v1::PartitionDescription before = PartitionOf(*cluster_, kTopic, 0);
  std::vector<int> target(before.replicas().begin(), before.replicas().end());
  target.back() = 104;
  ASSERT_EQ(v1::NONE, Reassign(0, target).code());
  const v1::PartitionDescription before1 = PartitionOf(*cluster_, kTopic, 1);
  std::vector<int> original1(before1.replicas().begin(), before1.replicas().end());
  std::vector<int> target1 = original1;
  target1.front() = 104;
  ASSERT_EQ(v1::NONE, Reassign(1, target1).code());
  RunFor(absl::Seconds(3));  // time for a move to complete wrongly
  EXPECT_EQ(2, Describe().balancer().partitions_moving()) << "104 is down: nothing completes";
  ASSERT_EQ(v1::NONE, Reassign(1, {}, /*cancel=*/true).code());
  const v1::PartitionDescription rolled_back = PartitionOf(*cluster_, kTopic, 1);
  EXPECT_THAT(std::vector<int>(rolled_back.replicas().begin(), rolled_back.replicas().end()),
              ::testing::UnorderedElementsAreArray(original1));
  EXPECT_EQ(0, rolled_back.adding_replicas_size());
  ASSERT_OK(cluster_->StartBroker(104));
  (void)testing::Eventually([&] { return Describe().balancer().partitions_moving() == 0; },
                            absl::Seconds(60), absl::Milliseconds(250));
  const v1::PartitionDescription moved = PartitionOf(*cluster_, kTopic, 0);
  EXPECT_THAT(std::vector<int>(moved.replicas().begin(), moved.replicas().end()),
              ::testing::ElementsAreArray(target));
  EXPECT_THAT(TopicDirs(104), ::testing::ElementsAre(absl::StrCat(kTopic, "-0")))
      << "the cancelled copy of partition 1 is deleted when 104 returns";
  EXPECT_THAT(TopicDirs(before.replicas(2)),
              ::testing::Not(::testing::Contains(absl::StrCat(kTopic, "-0"))));
  const Report r = Finish("move-to-killed-broker");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Bad reassignments and decommissions are refused with their reason and
// change nothing.
TEST_F(ElasticityChaosTest, BadRequestsAreRefusedAndChangeNothing) {
  const v1::PartitionDescription before = PartitionOf(*cluster_, kTopic, 0);
  EXPECT_EQ(v1::INVALID_REPLICA_ASSIGNMENT, Reassign(0, {101, 102, 999}).code());
  EXPECT_EQ(v1::INVALID_REPLICA_ASSIGNMENT, Reassign(0, {101, 101, 102}).code());
  EXPECT_EQ(v1::INVALID_REPLICA_ASSIGNMENT, Reassign(0, {}).code());
  EXPECT_EQ(v1::NO_REASSIGNMENT_IN_PROGRESS, Reassign(0, {}, /*cancel=*/true).code());
  v1::DecommissionBrokerRequest req;
  req.set_broker_id(101);
  v1::DecommissionBrokerResponse resp;
  const int active = cluster_->WaitForActive(absl::Seconds(20));
  ASSERT_TRUE(cluster_->stub(active).DecommissionBroker(RpcContext().get(), req, &resp).ok());
  EXPECT_EQ(v1::INVALID_REPLICATION_FACTOR, resp.error().code());
  EXPECT_THAT(resp.error().message(), ::testing::HasSubstr("only 2 other broker(s)"));
  const v1::PartitionDescription after = PartitionOf(*cluster_, kTopic, 0);
  EXPECT_EQ(before.SerializeAsString(), after.SerializeAsString());
  const v1::DescribeClusterResponse c = Describe();
  for (const v1::BrokerDescription& b : c.brokers()) EXPECT_FALSE(b.decommissioning());
  const Report r = Finish("bad-reassignments");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

}  // namespace
}  // namespace samsa::chaos
