// samsa-controller as real processes: failover, full restart, broker
// fencing, bad configuration and a corrupt metadata log.

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "raft/durable_log.h"
#include "storage/env.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {
namespace {

using ::testing::HasSubstr;

// Creates a topic through whichever controller is active.
void CreateTopic(Cluster& c, const std::string& name, int partitions, int rf) {
  v1::CreateTopicsRequest req;
  v1::CreateTopicsRequest::Topic* t = req.add_topics();
  t->set_name(name);
  t->set_partitions(partitions);
  t->set_replication_factor(rf);
  const int active = c.WaitForActive();
  ASSERT_NE(-1, active);
  v1::CreateTopicsResponse r;
  ASSERT_TRUE(c.stub(active).CreateTopics(RpcContext().get(), req, &r).ok());
  ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
  ASSERT_EQ(v1::NONE, r.results(0).error().code()) << r.results(0).error().message();
}

v1::AllocateProducerIdsResponse AllocateIds(Cluster& c, int controller, int broker, int64_t epoch) {
  v1::AllocateProducerIdsRequest req;
  req.set_broker_id(broker);
  req.set_broker_epoch(epoch);
  v1::AllocateProducerIdsResponse r;
  EXPECT_TRUE(c.stub(controller).AllocateProducerIds(RpcContext().get(), req, &r).ok());
  return r;
}

v1::DescribeTopicsResponse Topics(Cluster& c, int id) {
  v1::DescribeTopicsResponse r;
  EXPECT_TRUE(c.stub(id).DescribeTopics(RpcContext().get(), {}, &r).ok());
  r.clear_metadata_offset();
  return r;
}

v1::DescribeClusterResponse ClusterView(Cluster& c, int id) {
  v1::DescribeClusterResponse r;
  EXPECT_TRUE(c.stub(id).DescribeCluster(RpcContext().get(), {}, &r).ok());
  r.clear_metadata_offset();
  r.clear_controller_id();
  // The balancer's last plan, the bytes left and the brokers' log bytes
  // are the active controller's soft state; the rest comes from the image.
  r.clear_balancer();
  for (v1::BrokerDescription& b : *r.mutable_brokers()) b.clear_log_bytes();
  return r;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(ControllerClusterTest, KillingTheActiveControllerElectsAnotherPromptly) {
  Cluster c({.voters = 3, .election_timeout_ms = 500});
  ASSERT_OK(c.StartAll());
  const int first = c.WaitForActive();
  ASSERT_NE(-1, first);
  std::vector<std::unique_ptr<FakeBroker>> brokers;
  for (int b = 1; b <= 3; ++b) {
    brokers.push_back(std::make_unique<FakeBroker>(&c, b));
    ASSERT_TRUE(brokers.back()->Join().ok());
  }
  CreateTopic(c, "orders", 6, 3);
  CreateTopic(c, "payments", 2, 2);
  const v1::DescribeTopicsResponse before = Topics(c, first);
  ASSERT_EQ(2, before.topics_size());
  const v1::AllocateProducerIdsResponse ids_before = AllocateIds(c, first, 1, brokers[0]->epoch());
  ASSERT_EQ(v1::NONE, ids_before.error().code()) << ids_before.error().message();
  EXPECT_THAT(HttpGet(c.metrics_port(first), "/metrics"), HasSubstr("samsa_controller_active 1"));

  c.Kill(first);
  const absl::Time killed = absl::Now();
  int next = -1;
  while (next == -1 && absl::Now() - killed < absl::Seconds(10)) {
    for (int id = 1; id <= 3; ++id) {
      if (id == first) continue;
      v1::DescribeQuorumResponse q;
      auto ctx = RpcContext();
      ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
      if (c.stub(id).DescribeQuorum(ctx.get(), {}, &q).ok() && q.error().code() == v1::NONE) {
        next = id;
      }
    }
  }
  const absl::Duration failover = absl::Now() - killed;
  ASSERT_NE(-1, next);
  RecordProperty("failover_ms", static_cast<int>(absl::ToInt64Milliseconds(failover)));
  // Raft bounds it by two election timeouts (a follower's randomized
  // timeout is below 2 x 500 ms after the last heartbeat); the extra second
  // is for scheduling on a loaded two-core CI machine. The precise figure is
  // the failover_ms property and the raft benchmark's.
  EXPECT_LE(failover, absl::Milliseconds(2 * 500) + absl::Seconds(1))
      << "new leader after " << failover;
  ASSERT_EQ(next, c.WaitForActive(absl::Seconds(5)));
  EXPECT_TRUE(Same(before, Topics(c, next))) << "metadata intact after failover";
  v1::DescribeQuorumResponse q;
  ASSERT_TRUE(c.stub(next).DescribeQuorum(RpcContext().get(), {}, &q).ok());
  EXPECT_EQ(3, q.voters_size());
  const v1::AllocateProducerIdsResponse ids_after = AllocateIds(c, next, 1, brokers[0]->epoch());
  ASSERT_EQ(v1::NONE, ids_after.error().code()) << ids_after.error().message();
  EXPECT_GE(ids_after.first_id(), ids_before.first_id() + ids_before.size())
      << "producer ids are never handed out twice, failover or not";

  // A follower serves committed metadata; replaying it gives the same topics.
  const int follower = 6 - first - next;
  v1::CreateTopicsRequest misdirected;
  misdirected.add_topics()->set_name("misdirected");
  v1::CreateTopicsResponse refused;
  ASSERT_TRUE(c.stub(follower).CreateTopics(RpcContext().get(), misdirected, &refused).ok());
  EXPECT_EQ(v1::NOT_CONTROLLER, refused.error().code());
  EXPECT_EQ(next, refused.controller().leader_id());
  EXPECT_EQ(c.address(next), refused.controller().leader_address()) << "where to go instead";
  v1::FetchMetadataRequest fetch;
  v1::FetchMetadataResponse fetched;
  ASSERT_TRUE(c.stub(follower).FetchMetadata(RpcContext().get(), fetch, &fetched).ok());
  MetadataImage replayed;
  for (const v1::MetadataEntry& e : fetched.entries()) {
    ASSERT_TRUE(replayed.Apply(e.batch(), e.offset()).ok());
  }
  EXPECT_EQ(2u, replayed.topics().size());
  EXPECT_NE(nullptr, replayed.FindTopic("orders"));

  // The old controller returns as a follower and catches up.
  CreateTopic(c, "after", 1, 1);
  ASSERT_OK(c.Start(first));
  const v1::DescribeTopicsResponse now = Topics(c, next);
  EXPECT_TRUE(Eventually([&] { return Same(now, Topics(c, first)); }, absl::Seconds(20),
                         absl::Milliseconds(20)));
}

TEST(ControllerClusterTest, KillingEveryControllerAndRestartingRebuildsTheSameImage) {
  // A long session, so brokers that stop heartbeating stay as they were.
  Cluster c({.voters = 3, .session_timeout_ms = 120000});
  ASSERT_OK(c.StartAll());
  {
    FakeBroker b1(&c, 1), b2(&c, 2);
    ASSERT_TRUE(b1.Join().ok());
    ASSERT_TRUE(b2.Join().ok());
  }
  for (int i = 0; i < 20; ++i) CreateTopic(c, "t" + std::to_string(i), 1 + i % 4, 1 + i % 2);
  const int active = c.WaitForActive();
  const v1::DescribeTopicsResponse topics = Topics(c, active);
  const v1::DescribeClusterResponse cluster = ClusterView(c, active);
  ASSERT_EQ(20, topics.topics_size());
  ASSERT_EQ(2, cluster.brokers_size());

  for (int id = 1; id <= 3; ++id) c.Kill(id);
  ASSERT_OK(c.StartAll());
  ASSERT_NE(-1, c.WaitForActive());
  for (int id = 1; id <= 3; ++id) {
    EXPECT_TRUE(Eventually([&] { return Same(topics, Topics(c, id)); }, absl::Seconds(20),
                           absl::Milliseconds(20)))
        << "controller " << id;
    EXPECT_TRUE(Same(cluster, ClusterView(c, id))) << "controller " << id;
  }
}

TEST(ControllerClusterTest, ABrokerThatStopsHeartbeatingIsFencedAndItsPartitionsReElected) {
  Cluster c({.voters = 3, .session_timeout_ms = 1000, .heartbeat_interval_ms = 100});
  ASSERT_OK(c.StartAll());
  FakeBroker b1(&c, 1), b2(&c, 2), b3(&c, 3);
  for (FakeBroker* b : {&b1, &b2, &b3}) ASSERT_TRUE(b->Join().ok());
  CreateTopic(c, "t", 6, 3);
  const int active = c.WaitForActive();
  const v1::DescribeTopicsResponse before = Topics(c, active);
  int led_by_1 = 0;
  for (const v1::PartitionDescription& p : before.topics(0).partitions())
    led_by_1 += p.leader() == 1;
  ASSERT_GT(led_by_1, 0);

  b1.StopHeartbeats();
  auto fenced = [&] {
    const v1::DescribeClusterResponse cluster = ClusterView(c, c.WaitForActive());
    for (const v1::BrokerDescription& b : cluster.brokers()) {
      if (b.broker_id() == 1) return b.state() == v1::BrokerDescription::FENCED;
    }
    return false;
  };
  ASSERT_TRUE(Eventually(fenced, absl::Seconds(20), absl::Milliseconds(20)));

  const v1::DescribeTopicsResponse after = Topics(c, c.WaitForActive());
  for (int i = 0; i < 6; ++i) {
    const v1::PartitionDescription& old = before.topics(0).partitions(i);
    const v1::PartitionDescription& now = after.topics(0).partitions(i);
    EXPECT_NE(1, now.leader()) << "partition " << i;
    EXPECT_THAT(now.isr(), ::testing::Not(::testing::Contains(1))) << "partition " << i;
    if (old.leader() == 1) {
      EXPECT_THAT(old.isr(), ::testing::Contains(now.leader())) << "elected from the ISR";
      EXPECT_EQ(old.leader_epoch() + 1, now.leader_epoch()) << "partition " << i;
    } else {
      EXPECT_EQ(old.leader(), now.leader());
    }
  }
  EXPECT_THAT(HttpGet(c.metrics_port(c.WaitForActive()), "/metrics"),
              HasSubstr("samsa_controller_brokers_fenced 1"));
}

TEST(ControllerClusterTest, BadConfigurationStopsTheProcessWithOneLineNamingTheKey) {
  Cluster c({.voters = 3});
  struct Case {
    std::string override_arg;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"node.id=9", "node.id 9 is not among controller.quorum.voters (1, 2, 3)"},
      {"controller.quorum.voters=1@127.0.0.1:1,1@127.0.0.1:2,3@127.0.0.1:3",
       "node id 1 is listed twice"},
      {"lisener=127.0.0.1:1", "unknown config key 'lisener'"},
      {"broker.session.timeout.ms=soon", "broker.session.timeout.ms"},
  };
  TempDir logs;
  for (const Case& k : cases) {
    std::vector<std::string> args = c.Args(1);
    args.push_back("--override");
    args.push_back(k.override_arg);
    const std::string log = logs.path() + "/" + std::to_string(&k - cases.data()) + ".log";
    absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(c.binary(), args, log);
    ASSERT_TRUE(p.ok());
    std::optional<int> status = p->WaitExit(absl::Seconds(20));
    ASSERT_TRUE(status.has_value()) << k.override_arg;
    EXPECT_EQ(2, ExitCode(*status)) << k.override_arg;
    const std::string out = *storage::Env::Default()->ReadFile(log);
    EXPECT_THAT(out, HasSubstr(k.message)) << out;
    EXPECT_EQ(1, std::count(out.begin(), out.end(), '\n')) << "one line: " << out;
  }
}

TEST(ControllerClusterTest, AnEntryThatIsNotMetadataStopsTheControllerInsteadOfDiverging) {
  Cluster c({.voters = 1});
  ASSERT_OK(c.Start(1));
  {
    FakeBroker b(&c, 1);
    ASSERT_TRUE(b.Join().ok());
  }
  EXPECT_EQ(0, c.Terminate(1)) << c.log(1);

  // Append an entry no controller wrote, as a corrupted or foreign log would.
  {
    FakeClock clock;
    auto log = raft::DurableLog::Open(storage::Env::Default(), c.data_dir(1) + "/raft",
                                      raft::ConfState{{NodeId(1)}, {}}, &clock);
    ASSERT_TRUE(log.ok()) << log.status();
    absl::StatusOr<raft::Restored> r = (*log)->Load();
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->entries.empty());
    const raft::Entry& last = r->entries.back();
    raft::Ready rd;
    rd.entries.push_back({last.term, last.index + 1, raft::EntryType::kNormal, "not a batch"});
    ASSERT_TRUE((*log)->Save(rd).ok());
  }
  (void)c.Start(1);  // it may answer before it reaches the entry
  std::optional<int> status = c.process(1).WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "the controller kept running on a log it cannot apply";
  EXPECT_EQ(1, ExitCode(*status));
  EXPECT_THAT(c.log(1), HasSubstr("is not a metadata batch"));
}

TEST(ControllerClusterTest, ServesGrpcHealthAndShutsDownCleanlyOnSigterm) {
  Cluster c({.voters = 1});
  ASSERT_OK(c.Start(1));
  grpc::GenericStub stub(grpc::CreateChannel(c.address(1), grpc::InsecureChannelCredentials()));
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  absl::Notification done;
  grpc::Status status;
  auto ctx = RpcContext();
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(std::string("\x08\x01", 2), bytes) << "status: SERVING";
  EXPECT_EQ(0, c.Terminate(1)) << c.log(1);
}

}  // namespace
}  // namespace samsa::testing
