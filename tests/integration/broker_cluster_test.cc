// samsa-broker processes with a controller quorum: registration, metadata
// replay, controlled shutdown, restart, a taken node.id, bad configuration.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/harness/cluster.h"

namespace samsa::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  return ctx;
}

v1::DescribeTopicsResponse Topics(Cluster& c) {
  v1::DescribeTopicsResponse r;
  EXPECT_TRUE(c.stub(c.WaitForActive()).DescribeTopics(Ctx().get(), {}, &r).ok());
  return r;
}

TEST(BrokerClusterTest, BrokersServeMetadataAndHandOverLeadershipsOnSigterm) {
  Cluster c({.voters = 3, .brokers = 2});
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.StartBroker(101).ok());
  ASSERT_TRUE(c.StartBroker(102).ok());
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE)) << c.broker_log(101);
  ASSERT_TRUE(c.WaitForBrokerState(102, v1::BrokerDescription::ACTIVE)) << c.broker_log(102);
  const int64_t first_epoch = c.DescribeBroker(101).broker_epoch();

  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("events");
  t->set_partitions(4);
  t->set_replication_factor(2);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(c.WaitForActive()).CreateTopics(Ctx().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();

  // Each broker replays the metadata log: its Metadata answer shows the
  // topic as the controller has it, and both brokers.
  const v1::DescribeTopicsResponse truth = Topics(c);
  for (int b : {101, 102}) {
    v1::MetadataResponse md;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      md.Clear();
      ASSERT_TRUE(c.broker_stub(b).Metadata(Ctx().get(), {}, &md).ok());
      if (md.topics_size() == 1) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_EQ(1, md.topics_size()) << "broker " << b;
    EXPECT_EQ(truth.topics(0).SerializeAsString(), md.topics(0).SerializeAsString());
    EXPECT_EQ(2, md.brokers_size());
    EXPECT_EQ(c.WaitForActive(), md.controller_id());
  }
  v1::MetadataRequest unknown;
  unknown.add_topics("nope");
  v1::MetadataResponse none;
  ASSERT_TRUE(c.broker_stub(101).Metadata(Ctx().get(), unknown, &none).ok());
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
  ASSERT_TRUE(c.StartBroker(101).ok());
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE)) << c.broker_log(101);
  EXPECT_GT(c.DescribeBroker(101).broker_epoch(), first_epoch);
}

TEST(BrokerClusterTest, ABrokerWhoseNodeIdIsTakenStops) {
  Cluster c({.voters = 1, .brokers = 2});
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.StartBroker(101).ok());
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  // Broker 102's slot, but configured as node.id 101.
  ASSERT_TRUE(c.StartBroker(102, {"node.id=101"}).ok());
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

// Produces `values` to `topic`-`partition` on broker `b`; the answer.
v1::ProduceResponse::Partition ProduceTo(Cluster& c, int b, const std::string& topic, int partition,
                                         const std::vector<std::string>& values, int acks) {
  v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(5000);
  v1::ProduceRequest::Topic* t = req.add_topics();
  t->set_name(topic);
  v1::ProduceRequest::Partition* p = t->add_partitions();
  p->set_partition(partition);
  for (const std::string& v : values) p->add_plain()->set_value(v);
  v1::ProduceResponse r;
  EXPECT_TRUE(c.broker_stub(b).Produce(Ctx().get(), req, &r).ok());
  return r.topics_size() > 0 ? r.topics(0).partitions(0) : v1::ProduceResponse::Partition();
}

// Every committed value of `topic`-`partition` on broker `b`, from offset 0.
std::vector<std::string> FetchAll(Cluster& c, int b, const std::string& topic, int partition) {
  v1::FetchRequest req;
  req.set_decoded(true);
  v1::FetchRequest::Topic* t = req.add_topics();
  t->set_name(topic);
  t->add_partitions()->set_partition(partition);
  v1::FetchResponse r;
  EXPECT_TRUE(c.broker_stub(b).Fetch(Ctx().get(), req, &r).ok());
  std::vector<std::string> out;
  for (const v1::Record& rec : r.topics(0).partitions(0).decoded()) out.push_back(rec.value());
  EXPECT_EQ(v1::NONE, r.topics(0).partitions(0).error().code())
      << r.topics(0).partitions(0).error().message();
  return out;
}

// Waits until broker `b` leads `topic`-`partition` (as its Metadata says).
bool WaitForLeader(Cluster& c, int b, const std::string& topic, int partition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    v1::MetadataRequest req;
    req.add_topics(topic);
    v1::MetadataResponse md;
    if (c.broker_stub(b).Metadata(Ctx().get(), req, &md).ok() &&
        md.topics(0).error().code() == v1::NONE &&
        md.topics(0).partitions(partition).leader() == b) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

TEST(BrokerClusterTest, AcknowledgedRecordsSurviveKillNineOfTheirOnlyReplica) {
  Cluster c({.voters = 1, .session_timeout_ms = 1000, .heartbeat_interval_ms = 100, .brokers = 1});
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.StartBroker(101).ok());
  ASSERT_TRUE(c.WaitForBrokerState(101, v1::BrokerDescription::ACTIVE));
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("log");
  t->set_partitions(1);
  t->set_replication_factor(1);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(1).CreateTopics(Ctx().get(), create, &created).ok());
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
  ASSERT_TRUE(c.StartBroker(101).ok());
  ASSERT_TRUE(WaitForLeader(c, 101, "log", 0)) << c.broker_log(101);
  EXPECT_EQ(acked, FetchAll(c, 101, "log", 0)) << "every acknowledged record, in order";
  v1::ProduceResponse::Partition more = ProduceTo(c, 101, "log", 0, {"after"}, 1);
  EXPECT_EQ(50, more.base_offset());
}

}  // namespace
}  // namespace samsa::testing
