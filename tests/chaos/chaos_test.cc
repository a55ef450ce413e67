// The fault suite (CI mode): each scenario runs the chaos workload against
// a real 3-controller, 3-broker cluster (topic "chaos": 3 partitions, RF 3,
// min.insync.replicas 2), injects its faults, lets the cluster heal, reads
// everything back and checks the history: zero lost, duplicated or
// inconsistent writes, monotonic polls, and replicas identical below the
// high watermark. Each scenario prints one report line; a failure leaves
// the history in $SAMSA_CHAOS_HISTORY_DIR (default /tmp) to read.
#include <sys/mount.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/chaos/replicas.h"
#include "tests/chaos/workload.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/proxy.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// 1. kill -9 the leader of a partition, three times, each time restarting
// it once another broker leads.
TEST_F(ChaosTest, KillTheLeaderRepeatedly) {
  for (int round = 0; round < 3; ++round) {
    absl::SleepFor(absl::Seconds(2));
    const int leader = PartitionOf(*cluster_, kTopic, round % kPartitions).leader();
    ASSERT_NE(-1, leader);
    cluster_->KillBroker(leader);
    absl::SleepFor(absl::Seconds(3));
    ASSERT_OK(cluster_->StartBroker(leader));
  }
  absl::SleepFor(absl::Seconds(2));
  const Report r = Finish("kill-leader");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(0, r.failed) << "an idempotent producer retries through leader changes";
}

// 2. SIGSTOP a leader past its session timeout, then SIGCONT: the zombie
// must not acknowledge acks=all writes (the others moved on without it).
TEST_F(ChaosTest, PauseTheLeaderPastItsSession) {
  absl::SleepFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  ASSERT_NE(-1, leader);
  cluster_->broker_process(leader).Signal(SIGSTOP);
  absl::SleepFor(absl::Seconds(5));
  EXPECT_NE(leader, PartitionOf(*cluster_, kTopic, 0).leader()) << "a new leader took over";
  cluster_->broker_process(leader).Signal(SIGCONT);
  absl::SleepFor(absl::Seconds(3));
  const Report r = Finish("pause-leader");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 4. The ISR shrinks to the leader alone: acks=all is refused
// (NOT_ENOUGH_REPLICAS); then the leader dies too: the partition is offline,
// the returning followers (out of the ISR) do not take it over, nothing
// acknowledged is lost.
TEST_F(ChaosTest, IsrOfTheLeaderAloneThenItDies) {
  absl::SleepFor(absl::Seconds(2));
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
  absl::SleepFor(absl::Seconds(3));
  for (int b : followers) ASSERT_OK(cluster_->StartBroker(b));
  absl::SleepFor(absl::Seconds(3));
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
  absl::SleepFor(absl::Seconds(3));
  for (int b : kBrokers) cluster_->KillBroker(b);
  absl::SleepFor(absl::Seconds(1));
  for (int b : kBrokers) ASSERT_OK(cluster_->StartBroker(b));
  absl::SleepFor(absl::Seconds(4));
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

// 8. A stopped follower's active segment gets a flipped bit and a torn
// tail: recovery cuts it at the damaged batch, the follower fetches the
// rest again, and its replica ends identical to the others'.
TEST_F(ChaosTest, ACorruptFollowerSegmentIsCutAndFetchedAgain) {
  absl::SleepFor(absl::Seconds(3));
  const v1::PartitionDescription d = PartitionOf(*cluster_, kTopic, 0);
  int follower = -1;
  for (int b : kBrokers) {
    if (b != d.leader()) follower = b;
  }
  cluster_->KillBroker(follower);
  const std::string dir = absl::StrCat(cluster_->broker_data_dir(follower), "/logs/", kTopic, "-0");
  storage::Env* env = storage::Env::Default();
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  ASSERT_TRUE(names.ok()) << names.status();
  std::string segment;
  for (const std::string& n : *names) {
    if (n.size() > 4 && n.substr(n.size() - 4) == ".log") segment = dir + "/" + n;  // the newest
  }
  absl::StatusOr<std::string> bytes = env->ReadFile(segment);
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 4096u) << "the follower has records to damage";
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x10;  // a flipped bit inside some batch
  damaged += std::string(37, '\x5a');   // and a torn tail
  ASSERT_TRUE(env->WriteFileAtomically(segment, damaged).ok());
  ASSERT_OK(cluster_->StartBroker(follower));
  absl::SleepFor(absl::Seconds(3));
  const std::string log = cluster_->broker_log(follower);
  EXPECT_NE(std::string::npos, log.find("recovery of " + segment))
      << "the damage was not detected; the follower's log:\n"
      << log.substr(0, 3000);
  const Report r = Finish("corrupt-follower");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Broker 103's data directory is a 48 MiB tmpfs of its own.
class DiskChaosTest : public ChaosTest {
 protected:
  static constexpr int kSmallDisk = 103;
  void BeforeBrokers() override {
    disk_ = cluster_->broker_data_dir(kSmallDisk);
    ASSERT_TRUE(storage::Env::Default()->CreateDirs(disk_).ok());
    if (mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=48m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "): needs root";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (cluster_ != nullptr && cluster_->broker_running(kSmallDisk))
      cluster_->KillBroker(kSmallDisk);
    if (mounted_) umount2(disk_.c_str(), MNT_DETACH);
  }
  // Writes a file there until the file system is full.
  void FillDisk() {
    const std::string path = disk_ + "/filler";
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(nullptr, f);
    const std::string chunk(1 << 16, 'f');
    while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  std::string disk_;
  bool mounted_ = false;
};

// 9. A broker's disk fills: its log directory goes offline, it stops
// heartbeating (no crash, no restart loop), the controller fences it and
// moves its leaderships, and no partial record is ever served; with space
// again and a restart it recovers and rejoins.
TEST_F(DiskChaosTest, AFullDiskTakesTheBrokersLogDirectoryOffline) {
  absl::SleepFor(absl::Seconds(2));
  FillDisk();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(
      cluster_->WaitForBrokerState(kSmallDisk, v1::BrokerDescription::FENCED, absl::Seconds(30)))
      << "the broker with the full disk was not fenced";
  EXPECT_TRUE(testing::Eventually(
      [&] {
        for (int p = 0; p < kPartitions; ++p) {
          const int leader = PartitionOf(*cluster_, kTopic, p).leader();
          if (leader == kSmallDisk || leader == -1) return false;
        }
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << "leaderships did not leave the broker with the full disk";
  absl::SleepFor(absl::Seconds(2));
  EXPECT_TRUE(cluster_->broker_running(kSmallDisk)) << "it must not crash (or loop restarting)";
  EXPECT_NE(std::string::npos, cluster_->broker_log(kSmallDisk).find("heartbeats stop"));

  // Space again, and a restart: it recovers what is really on its disk.
  ASSERT_TRUE(storage::Env::Default()->DeleteFile(disk_ + "/filler").ok());
  cluster_->KillBroker(kSmallDisk);
  ASSERT_OK(cluster_->StartBroker(kSmallDisk));
  const Report r = Finish("full-disk");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

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
  absl::SleepFor(absl::Seconds(2));
  const int leader = PartitionOf(*cluster_, kTopic, 0).leader();
  ASSERT_NE(-1, leader);
  proxies_[leader]->set_mode(testing::FaultProxy::Mode::kDropResponses);
  absl::SleepFor(absl::Seconds(2));
  cluster_->KillBroker(leader);
  proxies_[leader]->set_mode(testing::FaultProxy::Mode::kPass);
  absl::SleepFor(absl::Seconds(2));
  ASSERT_OK(cluster_->StartBroker(leader));
  const absl::Time healed = absl::Now();
  absl::SleepFor(absl::Seconds(3));
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
  absl::SleepFor(absl::Seconds(2));
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
  absl::SleepFor(absl::Seconds(3));
  const Report r = Finish("isolated-leader");
  EXPECT_GT(r.acked, 1000);
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
  absl::SleepFor(absl::Seconds(3));
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
    absl::SleepFor(absl::Seconds(3));
    workload_->StartMember(round);
    ASSERT_OK(cluster_->StartBroker(coordinator));
    absl::SleepFor(absl::Seconds(3));
  }
  const Report r = Finish("kill-coordinator");
  EXPECT_GT(r.acked, 1000);
  EXPECT_GT(history_.commit_reads().size(), 20u) << "the watcher saw the group's commits";
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
  absl::SleepFor(absl::Seconds(2));
  const int old_active = cluster_->WaitForActive();
  ASSERT_NE(-1, old_active);
  Isolate(old_active, true);
  const absl::Time isolated = absl::Now();
  int new_active = -1;
  bool stepped_down = false;
  while ((new_active == -1 || !stepped_down) && absl::Now() < isolated + absl::Seconds(15)) {
    for (int id = 1; id <= 3; ++id) {
      if (id != old_active && Accepts(id)) new_active = id;
    }
    stepped_down = !Accepts(old_active);
    absl::SleepFor(absl::Milliseconds(50));
  }
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
  absl::SleepFor(absl::Seconds(2));
  const Report r = Finish("isolate-controller");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Broker 103 runs under libfaketime (Debian's faketime), its wall clock
// offset by what a file says; its monotonic clock is left alone, as a real
// clock step leaves it.
class ClockChaosTest : public ChaosTest {
 protected:
  static constexpr int kStepped = 103;
  static constexpr char kLibFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  void BeforeBrokers() override {
    ASSERT_TRUE(storage::Env::Default()->FileExists(kLibFaketime).value_or(false))
        << kLibFaketime << " is missing: install Debian's faketime (scripts/setup.sh does)";
    offset_file_ = dir_.path() + "/offset";
    Step("+0");
    // Followers may lag 10 s (not 2) before they leave the ISR, so a busy
    // machine shrinks none: the steps here are minutes and days.
    for (int b : kBrokers) cluster_->set_broker_overrides(b, {"replica.lag.time.max.ms=10000"});
    cluster_->set_broker_env(
        kStepped,
        {absl::StrCat("LD_PRELOAD=", kLibFaketime), "FAKETIME_TIMESTAMP_FILE=" + offset_file_,
         "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
         // An ASan build wants its runtime first.
         "ASAN_OPTIONS=verify_asan_link_order=0"});
  }
  // One hour of retention over many small segments: a clock that looked
  // an hour ahead would delete them.
  std::map<std::string, std::string> TopicConfigs() const override {
    return {{"retention.ms", "3600000"}, {"segment.bytes", "16384"}};
  }
  // Sets the stepped broker's wall clock to real time + `offset` (libfaketime
  // syntax: "+50m", "-2d"). libfaketime reads the file again once its cache
  // (FAKETIME_CACHE_DURATION, whole seconds, compared with ">") is over:
  // within three seconds.
  void Step(const std::string& offset) {
    ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset_file_, offset + "\n"));
  }
  // Starts `samsa ARGS` against the cluster under libfaketime, its wall
  // clock offset read from `offset` (set to "+0" here); stdout and stderr
  // go to `out`.
  absl::StatusOr<testing::ChildProcess> StartSteppedCli(const std::string& args,
                                                        const std::string& offset,
                                                        const std::string& out) {
    if (absl::Status st = storage::Env::Default()->WriteFileAtomically(offset, "+0\n"); !st.ok()) {
      return st;
    }
    const std::string command = absl::StrCat(
        "exec env LD_PRELOAD=", kLibFaketime, " FAKETIME_TIMESTAMP_FILE='", offset,
        "' FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "
        "ASAN_OPTIONS=verify_asan_link_order=0 '",
        SAMSA_CLI_BIN, "' --bootstrap '", bootstrap_, "' ", args, " > '", out, "' 2>&1");
    return testing::ChildProcess::Spawn("/bin/sh", {"-c", command}, out + ".sh.log");
  }
  // Waits up to `timeout` for a CLI StartSteppedCli started: its exit code
  // (none if it still runs) and what it printed.
  std::pair<std::optional<int>, std::string> WaitSteppedCli(testing::ChildProcess& cli,
                                                            const std::string& out,
                                                            absl::Duration timeout) {
    const std::optional<int> status = cli.WaitExit(timeout);
    return {status.has_value() ? std::optional(testing::ExitCode(*status)) : std::nullopt,
            storage::Env::Default()->ReadFile(out).value_or("")};
  }
  // The wall-clock time broker 103 logged a line containing `needle` at.
  std::optional<absl::Time> LoggedAt(const std::string& needle) {
    const std::string log = cluster_->broker_log(kStepped);
    const size_t at = log.find(needle);
    if (at == std::string::npos) return std::nullopt;
    const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", log.substr(line, log.find(' ', line) - line), &t,
                         &error)) {
      return std::nullopt;
    }
    return t;
  }
  testing::TempDir dir_;
  std::string offset_file_;
};

// 12. The wall clock of one broker is stepped 50 minutes ahead, then two
// days back, as NTP or `date -s` would: timeouts run on the monotonic clock
// (the broker is never fenced, no ISR shrinks) and time-based retention
// deletes nothing still within retention.
TEST_F(ClockChaosTest, AWallClockStepMovesNoTimeoutAndDeletesNothing) {
  const int64_t epoch = cluster_->DescribeBroker(kStepped).broker_epoch();
  // Topics whose deletion makes the broker log a line, to show its clock.
  const std::vector<std::pair<std::string, absl::Duration>> steps = {{"+50m", absl::Minutes(50)},
                                                                     {"-2d", -absl::Hours(48)}};
  const int active = cluster_->WaitForActive();
  ASSERT_NE(-1, active);
  v1::CreateTopicsRequest create;
  for (size_t i = 0; i < steps.size(); ++i) {
    v1::CreateTopicsRequest::Topic* t = create.add_topics();
    t->set_name(absl::StrCat("clock-probe-", i));
    t->set_partitions(1);
    t->set_replication_factor(3);
  }
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(cluster_->stub(active).CreateTopics(RpcContext().get(), create, &created).ok());
  absl::SleepFor(absl::Seconds(3));
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& [offset, expected] = steps[i];
    Step(offset);
    absl::SleepFor(absl::Seconds(4));
    v1::DeleteTopicsRequest del;
    del.add_names(absl::StrCat("clock-probe-", i));
    v1::DeleteTopicsResponse deleted;
    ASSERT_TRUE(cluster_->stub(cluster_->WaitForActive())
                    .DeleteTopics(RpcContext().get(), del, &deleted)
                    .ok());
    const std::string needle = absl::StrCat("deleted the replica of clock-probe-", i);
    (void)testing::Eventually([&] { return LoggedAt(needle).has_value(); }, absl::Seconds(10),
                              absl::Milliseconds(100));
    const std::optional<absl::Time> logged = LoggedAt(needle);
    ASSERT_TRUE(logged.has_value()) << "broker " << kStepped << " did not log \"" << needle << "\"";
    EXPECT_LT(absl::AbsDuration(*logged - absl::Now() - expected), absl::Minutes(1))
        << "the broker's wall clock was not stepped " << offset;
    absl::SleepFor(absl::Seconds(5));
    const v1::BrokerDescription b = cluster_->DescribeBroker(kStepped);
    EXPECT_EQ(v1::BrokerDescription::ACTIVE, b.state()) << "after " << offset;
    EXPECT_EQ(epoch, b.broker_epoch()) << "it registered again after " << offset;
  }
  EXPECT_THAT(testing::HttpGet(cluster_->broker_metrics_port(kStepped), "/metrics"),
              ::testing::HasSubstr("samsa_broker_isr_changes_total{change=\"shrink\"} 0"));
  const Report r = Finish("clock-step");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(0, r.failed) << "no write failed for a timeout that was not one";
  // Every replica on the stepped broker still starts at offset 0, and it
  // had closed segments that retention looked at.
  int segments = 0;
  for (int p = 0; p < kPartitions; ++p) {
    const std::string dir =
        absl::StrCat(cluster_->broker_data_dir(kStepped), "/logs/", kTopic, "-", p);
    absl::StatusOr<std::vector<BatchId>> batches = BatchesBelow(dir, INT64_MAX);
    ASSERT_TRUE(batches.ok()) << batches.status();
    ASSERT_FALSE(batches->empty()) << dir;
    EXPECT_EQ(0, batches->front().base_offset) << dir << ": retention deleted segments";
    absl::StatusOr<std::vector<std::string>> files = storage::Env::Default()->ListDir(dir);
    ASSERT_TRUE(files.ok()) << files.status();
    for (const std::string& f : *files) segments += absl::EndsWith(f, ".log") ? 1 : 0;
  }
  EXPECT_GT(segments, kPartitions) << "no segment was ever closed: retention had nothing to do";
}

// 13. A producer's own wall clock is stepped 50 minutes ahead, then two
// days back, while it sends (the CLI's perf producer under libfaketime):
// its linger, retries, delivery timeout and pacing run on the monotonic
// clock, so no record fails for a timeout that was not one and nothing
// waits out the step.
TEST_F(ClockChaosTest, AProducerWhoseWallClockStepsDeliversEverything) {
  const std::string offset = dir_.path() + "/producer-offset";
  const std::string out = dir_.path() + "/perf.out";
  absl::StatusOr<testing::ChildProcess> producer = StartSteppedCli(
      absl::StrCat("perf produce ", kTopic,
                   " --records 40000 --record-size 100 --throughput 4000 --acks all"),
      offset, out);
  ASSERT_OK(producer.status());
  absl::SleepFor(absl::Seconds(2));
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "+50m\n"));
  absl::SleepFor(absl::Seconds(4));
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "-2d\n"));
  const auto [code, report] = WaitSteppedCli(*producer, out, absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << "the producer did not finish: " << report;
  EXPECT_EQ(0, *code) << report;
  EXPECT_THAT(report, ::testing::HasSubstr("40000 records sent")) << report;
  const Report r = Finish("clock-step-producer");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 14. A group consumer's wall clock is stepped two days back while it waits
// for records: its polls, heartbeats and the CLI's --timeout-ms run on the
// monotonic clock, so it still stops 5 s after the last record instead of
// waiting out the step.
TEST_F(ClockChaosTest, AConsumerWhoseWallClockStepsBackStopsOnTime) {
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("clock-read");
  t->set_partitions(1);
  t->set_replication_factor(3);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(cluster_->stub(cluster_->WaitForActive())
                  .CreateTopics(RpcContext().get(), create, &created)
                  .ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();
  const int leader = PartitionOf(*cluster_, "clock-read", 0).leader();
  ASSERT_TRUE(testing::WaitForLeader(*cluster_, leader, "clock-read", 0));
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) values.push_back(absl::StrCat("v", i));
  const v1::ProduceResponse::Partition produced =
      testing::ProduceTo(*cluster_, leader, "clock-read", 0, values, -1);
  ASSERT_EQ(v1::NONE, produced.error().code()) << produced.error().message();

  const std::string offset = dir_.path() + "/consumer-offset";
  const std::string out = dir_.path() + "/consume.out";
  absl::StatusOr<testing::ChildProcess> consumer = StartSteppedCli(
      "consume clock-read --group clock-reader --from-beginning --timeout-ms 5000", offset, out);
  ASSERT_OK(consumer.status());
  // Stepped once it printed everything and waits for more.
  (void)testing::Eventually(
      [&] {
        return absl::StrContains(storage::Env::Default()->ReadFile(out).value_or(""), "v99\n");
      },
      absl::Seconds(30), absl::Milliseconds(50));
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "-2d\n"));
  const auto [code, printed] = WaitSteppedCli(*consumer, out, absl::Seconds(45));
  ASSERT_TRUE(code.has_value()) << "the consumer waited out its clock's step: " << printed;
  EXPECT_EQ(0, *code) << printed;
  EXPECT_THAT(printed, ::testing::HasSubstr("v0\n"));
  EXPECT_THAT(printed, ::testing::HasSubstr("v99\n"));
  const Report r = Finish("clock-step-consumer");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// scripts/chaos.sh: random faults (leader kills, pauses, every broker at
// once, a controller kill) for SAMSA_CHAOS_MINUTES with SAMSA_CHAOS_SEED;
// skipped unless SAMSA_CHAOS_MINUTES is set (ctest label `long`).
TEST_F(ChaosTest, RandomFaults) {
  const char* minutes = std::getenv("SAMSA_CHAOS_MINUTES");
  if (minutes == nullptr) GTEST_SKIP() << "SAMSA_CHAOS_MINUTES is not set";
  const char* seed_text = std::getenv("SAMSA_CHAOS_SEED");
  const uint32_t seed = seed_text != nullptr
                            ? static_cast<uint32_t>(std::atoll(seed_text))
                            : static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  std::cout << "seed " << seed << std::endl;
  std::mt19937 rng(seed);
  const absl::Time end = absl::Now() + absl::Minutes(std::atof(minutes));
  while (absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(1000, 4000)(rng)));
    const int partition = static_cast<int>(rng() % kPartitions);
    const int leader = PartitionOf(*cluster_, kTopic, partition).leader();
    switch (rng() % 4) {
      case 0:  // kill -9 a leader, restart it a little later
        if (leader < 0) break;
        cluster_->KillBroker(leader);
        absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(500, 4000)(rng)));
        ASSERT_OK(cluster_->StartBroker(leader));
        break;
      case 1:  // pause a leader past its session
        if (leader < 0) break;
        cluster_->broker_process(leader).Signal(SIGSTOP);
        absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(500, 4000)(rng)));
        cluster_->broker_process(leader).Signal(SIGCONT);
        break;
      case 2:  // every broker at once
        for (int b : kBrokers) cluster_->KillBroker(b);
        for (int b : kBrokers) ASSERT_OK(cluster_->StartBroker(b));
        break;
      case 3: {  // the active controller
        const int active = cluster_->WaitForActive(absl::Seconds(20));
        if (active < 0) break;
        cluster_->Kill(active);
        absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(200, 2000)(rng)));
        ASSERT_OK(cluster_->Start(active));
        break;
      }
    }
  }
  const Report r = Finish(absl::StrCat("random-", seed));
  EXPECT_EQ(0, r.anomalies()) << r.ToString() << "\nseed " << seed;
}

}  // namespace
}  // namespace samsa::chaos
