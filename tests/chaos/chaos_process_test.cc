// Process faults (fault suite, see chaos_fixture.h): brokers, the active
// controller and the group coordinator killed with SIGKILL or paused with
// SIGSTOP while the workload runs.
#include <cerrno>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/chaos/workload.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// 1. kill -9 the leader of a partition, three times, each time restarting
// it once another broker leads.
TEST_F(ChaosTest, KillTheLeaderRepeatedly) {
  for (int round = 0; round < 3; ++round) {
    RunFor(absl::Seconds(2));
    const int partition = round % kPartitions;
    const int leader = PartitionOf(*cluster_, kTopic, partition).leader();
    ASSERT_NE(-1, leader);
    cluster_->KillBroker(leader);
    ASSERT_TRUE(testing::Eventually(
        [&] {
          const int now = PartitionOf(*cluster_, kTopic, partition).leader();
          return now != leader && now != -1;
        },
        absl::Seconds(20), absl::Milliseconds(100)))
        << "no other broker took partition " << partition << " over";
    ASSERT_OK(cluster_->StartBroker(leader));
  }
  RunFor(absl::Seconds(2));
  const Report r = Finish("kill-leader");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(0, r.failed) << "an idempotent producer retries through leader changes";
}

// 2. SIGSTOP a leader past its session timeout, then SIGCONT: the zombie
// must not acknowledge acks=all writes (the others moved on without it).
TEST_F(ChaosTest, PauseTheLeaderPastItsSession) {
  RunFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  ASSERT_NE(-1, leader);
  cluster_->broker_process(leader).Signal(SIGSTOP);
  EXPECT_TRUE(testing::Eventually(
      [&] {
        const int now = PartitionOf(*cluster_, kTopic, 0).leader();
        return now != leader && now != -1;
      },
      absl::Seconds(20), absl::Milliseconds(100)))
      << "no new leader took over";
  RunFor(absl::Seconds(2));  // writes go to the new leader while the old one is frozen
  cluster_->broker_process(leader).Signal(SIGCONT);
  RunFor(absl::Seconds(3));
  const Report r = Finish("pause-leader");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 4. The ISR shrinks to the leader alone: acks=all is refused
// (NOT_ENOUGH_REPLICAS); then the leader dies too: the partition is offline,
// the returning followers (out of the ISR) do not take it over, nothing
// acknowledged is lost.
TEST_F(ChaosTest, IsrOfTheLeaderAloneThenItDies) {
  RunFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  std::vector<int> followers;
  for (int b : kBrokers) {
    if (b != leader) followers.push_back(b);
  }
  for (int b : followers) cluster_->KillBroker(b);
  // Every partition ends up led by the survivor with an ISR of one.
  ASSERT_TRUE(testing::Eventually(
      [&] {
        for (int p = 0; p < kPartitions; ++p) {
          const v1::PartitionDescription d = PartitionOf(*cluster_, kTopic, p);
          if (d.leader() != leader || d.isr_size() != 1) return false;
        }
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << "the ISR did not shrink to the leader";
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS,
            testing::ProduceTo(*cluster_, leader, kTopic, 0, {"direct"}, -1).error().code());

  cluster_->KillBroker(leader);
  RunFor(absl::Seconds(3));
  // Time for a wrong election to happen: none may.
  for (int b : followers) ASSERT_OK(cluster_->StartBroker(b));
  RunFor(absl::Seconds(3));
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(-1, PartitionOf(*cluster_, kTopic, p).leader())
        << "partition " << p << " was given to a replica outside the ISR";
  }
  ASSERT_OK(cluster_->StartBroker(leader));
  const Report r = Finish("isr-alone");
  EXPECT_GT(r.acked, 100);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 7. kill -9 every broker at once, then restart them all.
TEST_F(ChaosTest, KillEveryBrokerAtOnce) {
  RunFor(absl::Seconds(3));
  for (int b : kBrokers) cluster_->KillBroker(b);
  RunFor(absl::Seconds(1));  // the producers find nobody
  for (int b : kBrokers) ASSERT_OK(cluster_->StartBroker(b));
  RunFor(absl::Seconds(4));
  const Report r = Finish("kill-all-brokers");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 5. kill -9 the active controller while topics are being created and
// while a broker's death needs new leaders: every topic whose creation was
// acknowledged exists afterwards, with leaders, and the workload loses
// nothing.
TEST_F(ChaosTest, KillTheActiveControllerDuringMetadataChanges) {
  std::vector<std::string> created;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      const int active = cluster_->WaitForActive(absl::Seconds(20));
      ASSERT_NE(-1, active);
      if (i == 5) {
        cluster_->Kill(active);  // in the middle of the creations
        if (round == 1) {
          const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
          if (leader > 0) cluster_->KillBroker(leader);
        }
        continue;
      }
      v1::CreateTopicsRequest create;
      v1::CreateTopicsRequest::Topic* t = create.add_topics();
      const std::string name = absl::StrCat("meta-", round, "-", i);
      t->set_name(name);
      t->set_partitions(2);
      t->set_replication_factor(3);
      v1::CreateTopicsResponse r;
      if (cluster_->stub(active).CreateTopics(RpcContext().get(), create, &r).ok() &&
          r.results_size() == 1 && r.results(0).error().code() == v1::NONE) {
        created.push_back(name);
      }
    }
    for (int id = 1; id <= 3; ++id) {
      if (!cluster_->running(id)) {
        ASSERT_OK(cluster_->Start(id));
      }
    }
  }
  ASSERT_GE(created.size(), 10u);
  const int active = cluster_->WaitForActive(absl::Seconds(20));
  ASSERT_NE(-1, active);
  for (const std::string& name : created) {
    v1::DescribeTopicsRequest req;
    req.add_names(name);
    v1::DescribeTopicsResponse described;
    ASSERT_TRUE(cluster_->stub(active).DescribeTopics(RpcContext().get(), req, &described).ok());
    ASSERT_EQ(1, described.topics_size()) << name;
    EXPECT_EQ(v1::NONE, described.topics(0).error().code()) << name << " was acknowledged";
    EXPECT_EQ(2, described.topics(0).partitions_size()) << name;
  }
  const Report r = Finish("kill-controller");
  EXPECT_GT(r.acked, 300);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

class GroupChaosTest : public ChaosTest {
 protected:
  int GroupMembers() const override { return 3; }
};

// 11. kill -9 the group coordinator while three members consume and commit
// every 300 ms, with members leaving and joining: committed offsets never
// go backwards, and what members read agrees with the log.
TEST_F(GroupChaosTest, KillTheGroupCoordinatorUnderChurn) {
  RunFor(absl::Seconds(3));
  for (int round = 0; round < 2; ++round) {
    v1::FindCoordinatorRequest find;
    find.set_group("chaos-group");
    v1::FindCoordinatorResponse found;
    const int ask = cluster_->broker_running(101) ? 101 : 102;
    ASSERT_TRUE(cluster_->broker_stub(ask).FindCoordinator(RpcContext().get(), find, &found).ok());
    ASSERT_EQ(v1::NONE, found.error().code()) << found.error().message();
    const int coordinator = found.node_id();
    cluster_->KillBroker(coordinator);
    workload_->StopMember(round);  // churn while the coordinator moves
    RunFor(absl::Seconds(3));
    workload_->StartMember(round);
    ASSERT_OK(cluster_->StartBroker(coordinator));
    RunFor(absl::Seconds(3));
  }
  const Report r = Finish("kill-coordinator");
  EXPECT_GT(r.acked, 1000);
  EXPECT_GT(history_.commit_reads().size(), 20u) << "the watcher saw the group's commits";
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

}  // namespace
}  // namespace samsa::chaos
