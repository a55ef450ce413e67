// Network faults (fault suite, see chaos_fixture.h), through FaultProxy:
// answers lost on their way to the producers, a leader cut off from the
// cluster but not from its clients, the active controller cut off from its
// peers.
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/proxy.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// The writers reach each broker through a FaultProxy (followers and
// readers go direct).
class ProxiedChaosTest : public ChaosTest {
 protected:
  std::shared_ptr<client::Transport> WriterTransport() override {
    std::map<std::string, std::string> redirects;
    for (int b : kBrokers) {
      proxies_[b] = std::make_unique<testing::FaultProxy>(cluster_->broker_address(b));
      redirects[cluster_->broker_address(b)] = proxies_[b]->address();
    }
    return std::make_shared<RedirectingTransport>(std::move(redirects));
  }
  std::map<int, std::unique_ptr<testing::FaultProxy>> proxies_;
};

// 10. The leader's answers to the producers are lost on the way back (its
// writes happen and replicate, the producers never hear) and then it is
// killed: the idempotent producers retry into the new leader and nothing is
// written twice; they do not wedge on a sequence error (writes after the
// fault are acknowledged).
TEST_F(ProxiedChaosTest, AnswersLostWhileTheLeaderDies) {
  RunFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  ASSERT_NE(-1, leader);
  proxies_[leader]->set_mode(testing::FaultProxy::Mode::kDropResponses);
  RunFor(absl::Seconds(2));  // writes land, their answers do not
  cluster_->KillBroker(leader);
  proxies_[leader]->set_mode(testing::FaultProxy::Mode::kPass);
  RunFor(absl::Seconds(2));
  ASSERT_OK(cluster_->StartBroker(leader));
  const absl::Time healed = absl::Now();
  RunFor(absl::Seconds(3));
  const Report r = Finish("lost-answers");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(0, r.failed + r.unknown) << "every write got through in the end";
  int64_t acked_after = 0;
  for (const Write& w : history_.writes()) {
    acked_after += w.outcome == Write::Outcome::kOk && w.invoked > healed ? 1 : 0;
  }
  EXPECT_GT(acked_after, 500) << "the producers kept going after the fault";
}

// Each broker is reached by the other brokers through a FaultProxy it
// advertises, and reaches the active controller through one of its own;
// the workload's writers go straight to the brokers. So a broker can be cut
// off from the controllers and from its followers, and not from clients.
class IsolatedLeaderChaosTest : public ChaosTest {
 protected:
  void BeforeBrokers() override {
    const int active = cluster_->WaitForActive();
    ASSERT_NE(-1, active);
    for (int b : kBrokers) {
      to_broker_[b] = std::make_unique<testing::FaultProxy>(cluster_->broker_address(b));
      to_controller_[b] = std::make_unique<testing::FaultProxy>(cluster_->address(active));
      cluster_->set_broker_overrides(
          b, {"advertised.listener=" + to_broker_[b]->address(),
              "controller.quorum.bootstrap=" + to_controller_[b]->address()});
    }
  }
  std::shared_ptr<client::Transport> WriterTransport() override {
    std::map<std::string, std::string> direct;
    for (int b : kBrokers) direct[to_broker_[b]->address()] = cluster_->broker_address(b);
    return std::make_shared<RedirectingTransport>(std::move(direct));
  }
  void Isolate(int b, bool isolated) {
    const auto mode =
        isolated ? testing::FaultProxy::Mode::kBlackhole : testing::FaultProxy::Mode::kPass;
    to_broker_[b]->set_mode(mode);
    to_controller_[b]->set_mode(mode);
  }
  std::map<int, std::unique_ptr<testing::FaultProxy>> to_broker_;
  std::map<int, std::unique_ptr<testing::FaultProxy>> to_controller_;
};

// 3. A leader is cut off from the controllers and from its followers (they
// cannot fetch from it) while the producers still reach it: the controller
// fences it and elects another leader from the ISR; the stranded one cannot
// acknowledge acks=all writes (nobody replicates them, and it cannot shrink
// the ISR without the controller), so nothing it takes is acknowledged and
// then lost; healed, it truncates what only it had and follows.
TEST_F(IsolatedLeaderChaosTest, ALeaderCutOffFromTheClusterButNotFromClients) {
  RunFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  ASSERT_NE(-1, leader);
  Isolate(leader, true);
  ASSERT_TRUE(
      cluster_->WaitForBrokerState(leader, v1::BrokerDescription::FENCED, absl::Seconds(10)))
      << "the controller did not fence the isolated broker";
  int successor = leader;
  (void)testing::Eventually(
      [&] {
        successor = PartitionOf(*cluster_, kTopic, 0).leader();
        return successor != leader && successor != -1;
      },
      absl::Seconds(10), absl::Milliseconds(100));
  EXPECT_NE(leader, successor) << "no other broker took partition 0 over";
  EXPECT_NE(-1, successor) << "no other broker took partition 0 over";
  // The stranded broker still takes writes for partition 0 (it has not
  // heard it lost it) and must not acknowledge them.
  v1::ProduceRequest req;
  req.set_acks(-1);
  req.set_timeout_ms(2000);
  v1::ProduceRequest::Topic* t = req.add_topics();
  t->set_name(kTopic);
  v1::ProduceRequest::Partition* p = t->add_partitions();
  p->set_partition(0);
  p->add_plain()->set_value("written-to-the-stranded-leader");
  v1::ProduceResponse zombie;
  ASSERT_TRUE(cluster_->broker_stub(leader)
                  .Produce(RpcContext(absl::Seconds(10)).get(), req, &zombie)
                  .ok());
  ASSERT_EQ(1, zombie.topics_size());
  EXPECT_EQ(v1::REQUEST_TIMED_OUT, zombie.topics(0).partitions(0).error().code())
      << "the stranded leader answered an acks=all write with "
      << zombie.topics(0).partitions(0).ShortDebugString();
  Isolate(leader, false);
  RunFor(absl::Seconds(3));
  const Report r = Finish("isolated-leader");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Every controller reaches each of its peers through a FaultProxy of its
// own (brokers and clients go direct), so one controller can be cut off
// from the others.
class ControllerPartitionChaosTest : public ChaosTest {
 protected:
  void BeforeControllers() override {
    for (int from = 1; from <= 3; ++from) {
      for (int to = 1; to <= 3; ++to) {
        if (from == to) continue;
        auto& proxy = proxies_[{from, to}];
        proxy = std::make_unique<testing::FaultProxy>(cluster_->address(to));
        cluster_->set_voter_route(from, to, proxy->address());
      }
    }
  }
  // Cuts controller `id` off from its peers both ways, or heals it.
  void Isolate(int id, bool isolated) {
    for (auto& [pair, proxy] : proxies_) {
      if (pair.first != id && pair.second != id) continue;
      proxy->set_mode(isolated ? testing::FaultProxy::Mode::kBlackhole
                               : testing::FaultProxy::Mode::kPass);
    }
  }
  // Whether controller `id` accepts a write (an empty validate-only create
  // succeeds exactly on the active controller).
  bool Accepts(int id) {
    v1::CreateTopicsRequest req;
    req.set_validate_only(true);
    v1::CreateTopicsResponse r;
    return cluster_->stub(id)
               .CreateTopics(RpcContext(absl::Milliseconds(500)).get(), req, &r)
               .ok() &&
           r.error().code() == v1::NONE;
  }
  // Everything controller `id` serves of the metadata log, from the start.
  std::string MetadataLog(int id) {
    v1::FetchMetadataRequest req;
    req.set_from_offset(0);
    req.set_max_batches(1 << 20);
    v1::FetchMetadataResponse r;
    if (!cluster_->stub(id).FetchMetadata(RpcContext().get(), req, &r).ok()) return "";
    return r.SerializeAsString();
  }
  int64_t MetadataOffset(int id) {
    v1::DescribeClusterResponse r;
    if (!cluster_->stub(id).DescribeCluster(RpcContext().get(), {}, &r).ok()) return -1;
    return r.metadata_offset();
  }
  std::map<std::pair<int, int>, std::unique_ptr<testing::FaultProxy>> proxies_;
};

// 6. The active controller is cut off from the other two: it steps down
// (CheckQuorum) and stops accepting writes, one of the others takes over
// and commits topic creations, and once healed the old one catches up:
// all three serve the same metadata log.
TEST_F(ControllerPartitionChaosTest, AnIsolatedActiveControllerStepsDown) {
  RunFor(absl::Seconds(2));
  const int old_active = cluster_->WaitForActive();
  ASSERT_NE(-1, old_active);
  Isolate(old_active, true);
  const absl::Time isolated = absl::Now();
  int new_active = -1;
  bool stepped_down = false;
  (void)testing::Eventually(
      [&] {
        for (int id = 1; id <= 3; ++id) {
          if (id != old_active && Accepts(id)) new_active = id;
        }
        stepped_down = !Accepts(old_active);
        return new_active != -1 && stepped_down;
      },
      absl::Seconds(15), absl::Milliseconds(50));
  ASSERT_NE(-1, new_active) << "no other controller took over";
  EXPECT_TRUE(stepped_down) << "controller " << old_active << " still accepts writes, isolated";
  std::cout << "controller " << new_active << " active " << absl::Now() - isolated
            << " after controller " << old_active << " was isolated" << std::endl;
  v1::CreateTopicsRequest create;
  for (int i = 0; i < 5; ++i) {
    v1::CreateTopicsRequest::Topic* t = create.add_topics();
    t->set_name(absl::StrCat("while-isolated-", i));
    t->set_partitions(2);
    t->set_replication_factor(3);
  }
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(cluster_->stub(new_active).CreateTopics(RpcContext().get(), create, &created).ok());
  for (const v1::CreateTopicsResponse::Result& t : created.results()) {
    EXPECT_EQ(v1::NONE, t.error().code()) << t.name() << ": " << t.error().message();
  }
  // Every broker learns of them while the old controller is still cut off
  // (none stays with the metadata it serves, frozen at the isolation).
  for (int b : kBrokers) {
    EXPECT_TRUE(testing::Eventually(
        [&] {
          v1::MetadataRequest req;
          req.add_topics("while-isolated-4");
          v1::MetadataResponse r;
          return cluster_->broker_stub(b).Metadata(RpcContext().get(), req, &r).ok() &&
                 r.topics_size() == 1 && r.topics(0).error().code() == v1::NONE;
        },
        absl::Seconds(10), absl::Milliseconds(100)))
        << "broker " << b << " did not learn of the topics created meanwhile";
  }
  EXPECT_FALSE(Accepts(old_active)) << "the isolated controller came back as active on its own";
  Isolate(old_active, false);

  // Healed: the old active controller catches up; all three serve the same log.
  const bool agree = testing::Eventually(
      [&] {
        const int64_t offset = MetadataOffset(new_active);
        return offset > 0 && MetadataOffset(1) == offset && MetadataOffset(2) == offset &&
               MetadataOffset(3) == offset;
      },
      absl::Seconds(20), absl::Milliseconds(100));
  ASSERT_TRUE(agree) << "the controllers' metadata offsets: " << MetadataOffset(1) << ", "
                     << MetadataOffset(2) << ", " << MetadataOffset(3);
  const std::string log = MetadataLog(new_active);
  ASSERT_FALSE(log.empty());
  for (int id = 1; id <= 3; ++id) EXPECT_EQ(log, MetadataLog(id)) << "controller " << id;
  RunFor(absl::Seconds(2));
  const Report r = Finish("isolate-controller");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

}  // namespace
}  // namespace samsa::chaos
