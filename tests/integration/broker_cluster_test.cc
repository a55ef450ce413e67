// samsa-broker processes with a controller quorum: registration, metadata
// replay, controlled shutdown, restart, a taken node.id, bad configuration.
#include <csignal>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {
namespace {

using ::testing::HasSubstr;

v1::DescribeTopicsResponse Topics(Cluster& c) {
  v1::DescribeTopicsResponse r;
  EXPECT_TRUE(c.stub(c.WaitForActive()).DescribeTopics(RpcContext().get(), {}, &r).ok());
  return r;
}

TEST(BrokerClusterTest, BrokersServeMetadataAndHandOverLeadershipsOnSigterm) {
  Cluster c({.voters = 3, .brokers = 2});
  ASSERT_OK(c.StartAll());
  ASSERT_OK(c.StartBroker(101));
  ASSERT_OK(c.StartBroker(102));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE)) << c.broker_log(101);
  ASSERT_TRUE(c.WaitForBrokerState(102, v1::BrokerDescription::ACTIVE)) << c.broker_log(102);
  const int64_t first_epoch = c.DescribeBroker(101).broker_epoch();

  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("events");
  t->set_partitions(4);
  t->set_replication_factor(2);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(c.WaitForActive()).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();

  // Each broker replays the metadata log: its Metadata answer shows the
  // topic as the controller has it, and both brokers.
  const v1::DescribeTopicsResponse truth = Topics(c);
  for (int b : {101, 102}) {
    v1::MetadataResponse md;
    (void)Eventually(
        [&] {
          md.Clear();
          EXPECT_TRUE(c.broker_stub(b).Metadata(RpcContext().get(), {}, &md).ok());
          return md.topics_size() == 1;
        },
        absl::Seconds(20), absl::Milliseconds(20));
    ASSERT_EQ(1, md.topics_size()) << "broker " << b;
    EXPECT_EQ(truth.topics(0).SerializeAsString(), md.topics(0).SerializeAsString());
    EXPECT_EQ(2, md.brokers_size());
    EXPECT_EQ(c.WaitForActive(), md.controller_id());
  }
  v1::MetadataRequest unknown;
  unknown.add_topics("nope");
  v1::MetadataResponse none;
  ASSERT_TRUE(c.broker_stub(101).Metadata(RpcContext().get(), unknown, &none).ok());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, none.topics(0).error().code());

  // SIGTERM: the leaderships move to broker 102 before 101 stops.
  EXPECT_EQ(0, c.TerminateBroker(101)) << c.broker_log(101);
  EXPECT_THAT(c.broker_log(101), HasSubstr("controlled shutdown done"));
  const v1::DescribeTopicsResponse after = Topics(c);
  for (const v1::PartitionDescription& p : after.topics(0).partitions()) {
    EXPECT_EQ(102, p.leader()) << "partition " << p.partition();
  }
  EXPECT_EQ(v1::BrokerDescription::FENCED, c.DescribeBroker(101).state());

  // Restarted, it registers a new incarnation with a newer epoch.
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE)) << c.broker_log(101);
  EXPECT_GT(c.DescribeBroker(101).broker_epoch(), first_epoch);
}

TEST(BrokerClusterTest, ABrokerWhoseNodeIdIsTakenStops) {
  Cluster c({.voters = 1, .brokers = 2});
  ASSERT_OK(c.StartAll());
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  // Broker 102's slot, but configured as node.id 101.
  ASSERT_OK(c.StartBroker(102, {"node.id=101"}));
  std::optional<int> status = c.broker_process(101).WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "the first broker kept running with a stale registration";
  EXPECT_EQ(1, ExitCode(*status));
  EXPECT_THAT(c.broker_log(101), HasSubstr("another process with node.id 101"));
}

TEST(BrokerClusterTest, BadConfigurationStopsTheBrokerWithOneLineNamingTheKey) {
  Cluster c({.voters = 1, .brokers = 1});
  struct Case {
    std::string override_arg;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"controller.quorum.bootstrap=", "controller.quorum.bootstrap"},
      {"broker.heartbeat.interval.ms=10000", "must be below broker.session.timeout.ms"},
      {"advertised.listener=nowhere", "advertised.listener"},
  };
  TempDir logs;
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::string> args = c.BrokerArgs(101);
    args.push_back("--override");
    args.push_back(cases[i].override_arg);
    const std::string log = absl::StrCat(logs.path(), "/", i, ".log");
    absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(c.broker_binary(), args, log);
    ASSERT_TRUE(p.ok());
    std::optional<int> status = p->WaitExit(absl::Seconds(20));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(2, ExitCode(*status)) << cases[i].override_arg;
    const std::string out = *storage::Env::Default()->ReadFile(log);
    EXPECT_THAT(out, HasSubstr(cases[i].message)) << out;
    EXPECT_EQ(1, std::count(out.begin(), out.end(), '\n')) << out;
  }
}

TEST(BrokerClusterTest, AcknowledgedRecordsSurviveKillNineOfTheirOnlyReplica) {
  Cluster c({.voters = 1, .session_timeout_ms = 1000, .heartbeat_interval_ms = 100, .brokers = 1});
  ASSERT_OK(c.StartAll());
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("log");
  t->set_partitions(1);
  t->set_replication_factor(1);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(1).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code());
  ASSERT_TRUE(WaitForLeader(c, 101, "log", 0));

  std::vector<std::string> acked;
  for (int i = 0; i < 50; ++i) {
    const std::string v = "v" + std::to_string(i);
    v1::ProduceResponse::Partition r = ProduceTo(c, 101, "log", 0, {v}, i % 2 == 0 ? 1 : -1);
    ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
    EXPECT_EQ(i, r.base_offset());
    acked.push_back(v);
  }
  EXPECT_EQ(acked, FetchAll(c, 101, "log", 0));

  c.KillBroker(101);
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::FENCED));
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(WaitForLeader(c, 101, "log", 0)) << c.broker_log(101);
  EXPECT_EQ(acked, FetchAll(c, 101, "log", 0)) << "every acknowledged record, in order";
  v1::ProduceResponse::Partition more = ProduceTo(c, 101, "log", 0, {"after"}, 1);
  EXPECT_EQ(50, more.base_offset());
  // A request is counted once its answer is sent, after the client has it.
  const std::string produced = "samsa_broker_requests_total{api=\"Produce\"} 1";
  std::string metrics;
  (void)Eventually(
      [&] {
        metrics = HttpGet(c.broker_metrics_port(101), "/metrics");
        return absl::StrContains(metrics, produced);
      },
      absl::Seconds(5), absl::Milliseconds(20));
  EXPECT_THAT(metrics, HasSubstr("samsa_broker_records_in_total{topic=\"log\"} 1"))
      << "the restarted broker counts its own appends";
  EXPECT_THAT(metrics, HasSubstr(produced));
  EXPECT_THAT(metrics, HasSubstr("samsa_broker_leaderships 1"));
  EXPECT_THAT(metrics, HasSubstr("samsa_broker_records_out_total{topic=\"log\"} 50"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("samsa_broker_flush_seconds_count [1-9]"));
}

TEST(BrokerClusterTest, ReplicatedWritesSurviveTheLeadersDeathAndItRejoins) {
  Cluster c({.voters = 1,
             .session_timeout_ms = 1000,
             .heartbeat_interval_ms = 100,
             .brokers = 3,
             .broker_overrides = {"replica.lag.time.max.ms=1500"}});
  StartWithTopic(c, "orders");
  if (HasFatalFailure()) return;
  const int leader = PartitionOf(c, "orders", 0).leader();
  ASSERT_TRUE(WaitForLeader(c, leader, "orders", 0));

  std::vector<std::string> acked;
  for (int i = 0; i < 30; ++i) {
    const std::string v = "r" + std::to_string(i);
    v1::ProduceResponse::Partition r = ProduceTo(c, leader, "orders", 0, {v}, -1);
    ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
    acked.push_back(v);
  }
  EXPECT_EQ(acked, FetchAll(c, leader, "orders", 0));

  // The leader dies: the controller fences it and elects an ISR member,
  // which has every acknowledged record.
  c.KillBroker(leader);
  int next = -1;
  ASSERT_TRUE(Eventually(
      [&] {
        const int now = PartitionOf(c, "orders", 0).leader();
        if (now != leader && now != -1) next = now;
        return next != -1;
      },
      absl::Seconds(30), absl::Milliseconds(20)));
  ASSERT_TRUE(WaitForLeader(c, next, "orders", 0)) << c.broker_log(next);
  EXPECT_EQ(acked, FetchAtLeast(c, next, "orders", 0, acked.size()))
      << "every acknowledged record, once, in order";
  v1::ProduceResponse::Partition more = ProduceTo(c, next, "orders", 0, {"after"}, -1);
  ASSERT_EQ(v1::NONE, more.error().code()) << more.error().message();
  EXPECT_EQ(30, more.base_offset());

  // The old leader restarts, catches up as a follower and rejoins the ISR.
  ExpectRejoinsIsr(c, leader, "orders");
}

// After a restart a broker is back in the ISR of the partitions it led, and
// the controller moves them back to it (preferred leader election) with
// nothing acknowledged lost on the way.
TEST(BrokerClusterTest, ARestartedBrokerLeadsItsPreferredPartitionsAgain) {
  Cluster c({.voters = 1,
             .session_timeout_ms = 1000,
             .heartbeat_interval_ms = 100,
             .overrides = {"leader.imbalance.check.interval.seconds=1"},
             .brokers = 3,
             .broker_overrides = {"replica.lag.time.max.ms=1500"}});
  StartWithTopic(c, "orders");
  if (HasFatalFailure()) return;
  const int preferred = PartitionOf(c, "orders", 0).replicas(0);
  ASSERT_TRUE(WaitForLeader(c, preferred, "orders", 0));
  std::vector<std::string> acked;
  auto produce = [&](int to, const std::string& v) {
    v1::ProduceResponse::Partition r = ProduceTo(c, to, "orders", 0, {v}, -1);
    ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
    acked.push_back(v);
  };
  for (int i = 0; i < 10; ++i) produce(preferred, "before-" + std::to_string(i));

  // A clean stop hands the leadership over; it stays there while away.
  EXPECT_EQ(0, c.TerminateBroker(preferred)) << c.broker_log(preferred);
  const int stand_in = PartitionOf(c, "orders", 0).leader();
  ASSERT_NE(preferred, stand_in);
  ASSERT_NE(-1, stand_in);
  ASSERT_TRUE(WaitForLeader(c, stand_in, "orders", 0));
  for (int i = 0; i < 10; ++i) produce(stand_in, "away-" + std::to_string(i));

  ASSERT_OK(c.StartBroker(preferred));
  (void)Eventually([&] { return PartitionOf(c, "orders", 0).leader() == preferred; },
                   absl::Seconds(30), absl::Milliseconds(50));
  const v1::PartitionDescription back = PartitionOf(c, "orders", 0);
  ASSERT_EQ(preferred, back.leader()) << c.log(1);
  EXPECT_EQ(3, back.isr_size()) << "a clean election leaves the ISR whole";
  ASSERT_TRUE(WaitForLeader(c, preferred, "orders", 0));
  produce(preferred, "back");
  EXPECT_EQ(acked, FetchAtLeast(c, preferred, "orders", 0, acked.size()))
      << "every acknowledged record, once, in order";
  EXPECT_THAT(HttpGet(c.metrics_port(1), "/metrics"),
              HasSubstr("samsa_controller_preferred_leader_elections_total 1"));
}

// A follower that comes back 20 MiB behind catches up with answers far
// larger than gRPC's default 4 MiB message limit (its fetches ask for 8 MiB).
TEST(BrokerClusterTest, AFollowerFarBehindCatchesUpWithLargeFetches) {
  Cluster c(FastFailoverCluster());
  StartWithTopic(c, "big");
  if (HasFatalFailure()) return;
  const int leader = PartitionOf(c, "big", 0).leader();
  ASSERT_TRUE(WaitForLeader(c, leader, "big", 0));
  const int follower = leader == 101 ? 102 : 101;
  c.KillBroker(follower);
  const std::vector<std::string> values(90, std::string(10 << 10, 'x'));  // 900 KiB
  for (int round = 0; round < 24; ++round) {
    v1::ProduceResponse::Partition r = ProduceTo(c, leader, "big", 0, values, 1);
    ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
  }
  ExpectRejoinsIsr(c, follower, "big");
}

TEST(BrokerClusterTest, IsrShrinksWhenFollowersStopAndMinIsrRefusesWrites) {
  Cluster c({.voters = 1,
             .session_timeout_ms = 60000,  // brokers stay unfenced: only the ISR reacts
             .heartbeat_interval_ms = 100,
             .brokers = 3,
             .broker_overrides = {"replica.lag.time.max.ms=1000"}});
  StartWithTopic(c, "isr");
  if (HasFatalFailure()) return;
  const v1::PartitionDescription p = PartitionOf(c, "isr", 0);
  const int leader = p.leader();
  ASSERT_TRUE(WaitForLeader(c, leader, "isr", 0));
  std::vector<int> followers;
  for (int r : p.replicas()) {
    if (r != leader) followers.push_back(r);
  }
  ASSERT_EQ(v1::NONE, ProduceTo(c, leader, "isr", 0, {"a"}, -1).error().code());

  // One follower stops (SIGSTOP: alive to the controller, silent to the
  // leader): the ISR shrinks to two and acks=all writes go on.
  c.broker_process(followers[0]).Signal(SIGSTOP);
  ASSERT_TRUE(Eventually([&] { return PartitionOf(c, "isr", 0).isr_size() == 2; },
                         absl::Seconds(30), absl::Milliseconds(50)));
  EXPECT_EQ(v1::NONE, ProduceTo(c, leader, "isr", 0, {"b"}, -1).error().code());

  // The second follower stops too: the ISR is the leader alone, below
  // min.insync.replicas, and acks=all writes are refused.
  c.broker_process(followers[1]).Signal(SIGSTOP);
  ASSERT_TRUE(Eventually([&] { return PartitionOf(c, "isr", 0).isr_size() == 1; },
                         absl::Seconds(30), absl::Milliseconds(50)));
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS, ProduceTo(c, leader, "isr", 0, {"c"}, -1).error().code());
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), FetchAll(c, leader, "isr", 0))
      << "committed records stay readable";
  for (int f : followers) c.broker_process(f).Signal(SIGCONT);
}

// Runs `binary` with `args` to completion; its exit code, its output in `out`.
int RunToEnd(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log, std::string* out) {
  absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(binary, args, log);
  if (!p.ok()) return -1;
  std::optional<int> status = p->WaitExit(absl::Seconds(60));
  *out = storage::Env::Default()->ReadFile(log).value_or("");
  return status.has_value() ? ExitCode(*status) : -1;
}

TEST(BrokerClusterTest, APythonGrpcClientProducesAndFetches) {
  Cluster c({.voters = 1, .brokers = 1});
  ASSERT_OK(c.StartAll());
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  v1::CreateTopicsRequest create;
  create.add_topics()->set_name("py");
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(1).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code());
  ASSERT_TRUE(WaitForLeader(c, 101, "py", 0));

  TempDir stubs;
  std::string out;
  ASSERT_EQ(
      0, RunToEnd(SAMSA_PROTOC,
                  {"-I", SAMSA_PROTO_DIR, "--python_out=" + stubs.path(),
                   "--grpc_python_out=" + stubs.path(),
                   std::string("--plugin=protoc-gen-grpc_python=") + SAMSA_GRPC_PYTHON_PLUGIN,
                   "samsa/v1/common.proto", "samsa/v1/metadata.proto", "samsa/v1/controller.proto",
                   "samsa/v1/groups.proto", "samsa/v1/broker.proto"},
                  stubs.path() + "/protoc.log", &out))
      << out;
  v1::MetadataResponse md;
  ASSERT_TRUE(c.broker_stub(101).Metadata(RpcContext().get(), {}, &md).ok());
  std::string address;
  for (const v1::BrokerDescription& b : md.brokers()) {
    if (b.broker_id() == 101) address = b.address();
  }
  EXPECT_EQ(0, RunToEnd(SAMSA_PYTHON,
                        {std::string(SAMSA_INTEROP_DIR) + "/broker_client.py", stubs.path(),
                         address, "py"},
                        stubs.path() + "/python.log", &out))
      << out;
  EXPECT_THAT(out, HasSubstr("ok"));
}

TEST(BrokerClusterTest, AGarbageRequestIsRefusedAndTheBrokerKeepsServing) {
  Cluster c({.voters = 1, .brokers = 1});
  ASSERT_OK(c.StartAll());
  ASSERT_OK(c.StartBroker(101));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  const std::string address = c.DescribeBroker(101).address();
  v1::MetadataResponse md;
  grpc::GenericStub stub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  const std::string garbage = "\xff\xff\xff\xff not a protobuf";
  for (const char* method : {"Broker/Metadata",        "Broker/Produce",
                             "Broker/Fetch",           "Broker/ListOffsets",
                             "Broker/InitProducerId",  "Broker/CreateTopics",
                             "Broker/DeleteTopics",    "Broker/CreatePartitions",
                             "Broker/DescribeConfigs", "Broker/AlterConfigs",
                             "Broker/DescribeCluster", "Broker/DescribeQuorum",
                             "Broker/FindCoordinator", "Broker/ConsumerGroupHeartbeat",
                             "Broker/OffsetCommit",    "Broker/OffsetFetch",
                             "Broker/ListGroups",      "Broker/DescribeGroups",
                             "Broker/DeleteGroups",    "Replica/Fetch"}) {
    SCOPED_TRACE(method);
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1), response;
    absl::Notification done;
    grpc::Status status;
    auto ctx = RpcContext();
    ctx->set_wait_for_ready(true);
    stub.UnaryCall(ctx.get(), std::string("/samsa.v1.") + method, grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                     status = s;
                     done.Notify();
                   });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(grpc::StatusCode::INVALID_ARGUMENT, status.error_code()) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("the request body is not a samsa.v1."));
  }
  EXPECT_TRUE(c.broker_stub(101).Metadata(RpcContext().get(), {}, &md).ok()) << "still serving";
}

TEST(BrokerClusterTest, AdminCallsToABrokerReachTheActiveController) {
  Cluster c({.voters = 3, .brokers = 1});
  ASSERT_OK(c.StartAll());
  const int active = c.WaitForActive();
  ASSERT_NE(-1, active);
  // The broker knows only a controller that is not active: it must follow
  // the NOT_CONTROLLER hint.
  const int follower = active == 1 ? 2 : 1;
  ASSERT_OK(c.StartBroker(101, {"controller.quorum.bootstrap=" + c.address(follower)}));
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));

  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("via-broker");
  t->set_partitions(2);
  (*t->mutable_configs())["retention.ms"] = "60000";
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.broker_stub(101).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.error().code()) << created.error().message();
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();
  EXPECT_EQ(active, created.controller().leader_id());

  v1::CreateTopicsResponse again;
  ASSERT_TRUE(c.broker_stub(101).CreateTopics(RpcContext().get(), create, &again).ok());
  EXPECT_EQ(v1::TOPIC_ALREADY_EXISTS, again.results(0).error().code()) << "the controller's answer";

  v1::DescribeConfigsRequest describe;
  describe.add_topics("via-broker");
  v1::DescribeConfigsResponse configs;
  ASSERT_TRUE(c.broker_stub(101).DescribeConfigs(RpcContext().get(), describe, &configs).ok());
  bool found = false;
  for (const v1::ConfigEntry& e : configs.results(0).configs()) {
    found |= e.key() == "retention.ms" && e.value() == "60000";
  }
  EXPECT_TRUE(found);
  v1::DescribeClusterResponse cluster;
  ASSERT_TRUE(c.broker_stub(101).DescribeCluster(RpcContext().get(), {}, &cluster).ok());
  EXPECT_EQ(1, cluster.brokers_size());

  // Producer ids come from the controller's blocks, each handed out once.
  v1::InitProducerIdResponse a, b;
  ASSERT_TRUE(c.broker_stub(101).InitProducerId(RpcContext().get(), {}, &a).ok());
  ASSERT_TRUE(c.broker_stub(101).InitProducerId(RpcContext().get(), {}, &b).ok());
  ASSERT_EQ(v1::NONE, a.error().code()) << a.error().message();
  EXPECT_NE(a.producer_id(), b.producer_id());
  EXPECT_EQ(0, a.producer_epoch());
}

}  // namespace
}  // namespace samsa::testing
