#include "tests/harness/broker_ops.h"

#include "absl/time/clock.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {

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
  EXPECT_TRUE(c.broker_stub(b).Produce(RpcContext().get(), req, &r).ok());
  return r.topics_size() > 0 ? r.topics(0).partitions(0) : v1::ProduceResponse::Partition();
}

std::vector<std::string> FetchAll(Cluster& c, int b, const std::string& topic, int partition) {
  v1::FetchRequest req;
  req.set_decoded(true);
  v1::FetchRequest::Topic* t = req.add_topics();
  t->set_name(topic);
  t->add_partitions()->set_partition(partition);
  v1::FetchResponse r;
  EXPECT_TRUE(c.broker_stub(b).Fetch(RpcContext().get(), req, &r).ok());
  std::vector<std::string> out;
  for (const v1::Record& rec : r.topics(0).partitions(0).decoded()) out.push_back(rec.value());
  EXPECT_EQ(v1::NONE, r.topics(0).partitions(0).error().code())
      << r.topics(0).partitions(0).error().message();
  return out;
}

std::vector<std::string> FetchAtLeast(Cluster& c, int b, const std::string& topic, int partition,
                                      size_t n) {
  std::vector<std::string> seen;
  (void)Eventually(
      [&] {
        seen = FetchAll(c, b, topic, partition);
        return seen.size() >= n;
      },
      absl::Seconds(30), absl::Milliseconds(20));
  return seen;
}

bool WaitForLeader(Cluster& c, int b, const std::string& topic, int partition) {
  return Eventually(
      [&] {
        v1::MetadataRequest req;
        req.add_topics(topic);
        v1::MetadataResponse md;
        return c.broker_stub(b).Metadata(RpcContext().get(), req, &md).ok() &&
               md.topics(0).error().code() == v1::NONE &&
               md.topics(0).partitions(partition).leader() == b;
      },
      absl::Seconds(30), absl::Milliseconds(20));
}

int FindCoordinator(Cluster& c, int ask, const std::string& group, int not_this) {
  int found = -1;
  (void)Eventually(
      [&] {
        v1::FindCoordinatorRequest req;
        req.set_group(group);
        v1::FindCoordinatorResponse r;
        if (c.broker_stub(ask).FindCoordinator(RpcContext().get(), req, &r).ok() &&
            r.error().code() == v1::NONE && r.node_id() != not_this) {
          found = r.node_id();
        }
        return found != -1;
      },
      absl::Seconds(30), absl::Milliseconds(50));
  return found;
}

v1::PartitionDescription PartitionOf(Cluster& c, const std::string& topic, int partition) {
  v1::DescribeTopicsRequest req;
  req.add_names(topic);
  v1::DescribeTopicsResponse r;
  const int active = c.WaitForActive();
  EXPECT_NE(-1, active);
  if (active == -1 || !c.stub(active).DescribeTopics(RpcContext().get(), req, &r).ok() ||
      r.topics_size() == 0 || r.topics(0).partitions_size() <= partition) {
    ADD_FAILURE() << "no partition " << topic << "-" << partition << " at the controller";
    return {};
  }
  return r.topics(0).partitions(partition);
}

void ExpectRejoinsIsr(Cluster& c, int b, const std::string& topic) {
  ASSERT_OK(c.StartBroker(b));
  EXPECT_TRUE(Eventually([&] { return PartitionOf(c, topic, 0).isr_size() == 3; },
                         absl::Seconds(30), absl::Milliseconds(50)))
      << c.broker_log(b);
  for (int other : {101, 102, 103}) {
    EXPECT_THAT(HttpGet(c.broker_metrics_port(other), "/metrics"),
                ::testing::HasSubstr("samsa_broker_truncations_below_high_watermark_total 0"))
        << "no committed record was cut anywhere (broker " << other << ")";
  }
}

ClusterOptions FastFailoverCluster() {
  return {.voters = 1,
          .session_timeout_ms = 1000,
          .heartbeat_interval_ms = 100,
          .brokers = 3,
          .broker_overrides = {"offsets.topic.num.partitions=3", "replica.lag.time.max.ms=1500"}};
}

void StartWithTopic(Cluster& c, const std::string& topic) {
  ASSERT_OK(c.StartAll());
  for (int b : {101, 102, 103}) {
    ASSERT_OK(c.StartBroker(b));
    ASSERT_TRUE(c.WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
  }
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name(topic);
  t->set_partitions(1);
  t->set_replication_factor(3);
  (*t->mutable_configs())["min.insync.replicas"] = "2";
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(1).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.error().code()) << created.error().message();
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();
}

}  // namespace samsa::testing
