// Consumer-group coordination across real brokers: __consumer_offsets made
// on first use, each group's own committed offsets, member-epoch fencing,
// committed offsets surviving the coordinator's kill -9, and an idle or
// leaving member writing nothing there.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/consumer.h"
#include "common/eventually.h"
#include "common/murmur2.h"
#include "common/offset_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samsa/v1/groups.pb.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"

namespace samsa::testing {
namespace {

v1::OffsetCommitResponse CommitOffset(Cluster& c, int broker, const std::string& group,
                                      const std::string& member, int32_t epoch, int32_t partition,
                                      int64_t offset) {
  v1::OffsetCommitRequest req;
  req.set_group(group);
  req.set_member_id(member);
  req.set_member_epoch(epoch);
  v1::OffsetCommitRequest::Partition* p = req.add_partitions();
  p->set_topic("orders-topic");
  p->set_partition(partition);
  p->set_offset(offset);
  v1::OffsetCommitResponse r;
  EXPECT_TRUE(c.broker_stub(broker).OffsetCommit(RpcContext().get(), req, &r).ok());
  return r;
}

// The group's committed offsets per partition of orders-topic, waiting (up
// to 10 s) while a new coordinator catches up.
std::map<int32_t, int64_t> Committed(Cluster& c, int broker, const std::string& group) {
  v1::OffsetFetchRequest req;
  req.set_group(group);
  v1::OffsetFetchResponse r;
  (void)Eventually(
      [&] {
        r.Clear();
        EXPECT_TRUE(c.broker_stub(broker).OffsetFetch(RpcContext().get(), req, &r).ok());
        return r.error().code() != v1::COORDINATOR_LOAD_IN_PROGRESS;
      },
      absl::Seconds(10), absl::Milliseconds(50));
  EXPECT_EQ(v1::NONE, r.error().code()) << r.error().message();
  std::map<int32_t, int64_t> out;
  for (const v1::OffsetFetchResponse::Partition& p : r.partitions())
    out[p.partition()] = p.offset();
  return out;
}

TEST(GroupClusterTest, GroupsKeepTheirOwnOffsetsThroughTheCoordinatorsDeath) {
  Cluster c(FastFailoverCluster());
  StartWithTopic(c, "orders-topic");
  if (HasFatalFailure()) return;

  const int coordinator = FindCoordinator(c, 101, "group-A");
  ASSERT_NE(-1, coordinator) << "__consumer_offsets was not created";
  EXPECT_EQ(coordinator, FindCoordinator(c, 102, "group-A")) << "every broker agrees";
  const int coordinator_b = FindCoordinator(c, 101, "group-B");
  ASSERT_NE(-1, coordinator_b);

  // Clients cannot write into __consumer_offsets, even alongside a topic
  // of theirs.
  v1::ProduceRequest sneaky;
  sneaky.set_acks(-1);
  sneaky.set_timeout_ms(5000);
  for (const char* name : {"__consumer_offsets", "orders-topic"}) {
    v1::ProduceRequest::Topic* t = sneaky.add_topics();
    t->set_name(name);
    t->add_partitions()->add_plain()->set_value("x");
  }
  const int leader = PartitionOf(c, "orders-topic", 0).leader();
  v1::ProduceResponse produced;
  ASSERT_TRUE(c.broker_stub(leader).Produce(RpcContext().get(), sneaky, &produced).ok());
  ASSERT_EQ(2, produced.topics_size());
  for (const v1::ProduceResponse::Topic& t : produced.topics()) {
    EXPECT_EQ(t.name() == "orders-topic" ? v1::NONE : v1::INVALID_TOPIC_EXCEPTION,
              t.partitions(0).error().code())
        << t.name();
  }

  ASSERT_EQ(v1::NONE, ProduceTo(c, leader, "orders-topic", 0,
                                {"o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9"}, -1)
                          .error()
                          .code());

  // Two groups read orders-topic at their own pace (standalone commits: no
  // members yet).
  ASSERT_EQ(v1::NONE,
            CommitOffset(c, coordinator, "group-A", "", -1, 0, 3).partitions(0).error().code());
  ASSERT_EQ(v1::NONE,
            CommitOffset(c, coordinator_b, "group-B", "", -1, 0, 1).partitions(0).error().code());
  ASSERT_EQ(v1::NONE,
            CommitOffset(c, coordinator, "group-A", "", -1, 0, 5).partitions(0).error().code());
  EXPECT_EQ((std::map<int32_t, int64_t>{{0, 5}}), Committed(c, coordinator, "group-A"));
  EXPECT_EQ((std::map<int32_t, int64_t>{{0, 1}}), Committed(c, coordinator_b, "group-B"));
  const int other = coordinator == 101 ? 102 : 101;
  v1::OffsetFetchRequest elsewhere;
  elsewhere.set_group("group-A");
  v1::OffsetFetchResponse refused;
  ASSERT_TRUE(c.broker_stub(other).OffsetFetch(RpcContext().get(), elsewhere, &refused).ok());
  EXPECT_EQ(v1::NOT_COORDINATOR, refused.error().code());

  // A member joins group-A: it gets both partitions; commits carry its epoch.
  v1::ConsumerGroupHeartbeatRequest join;
  join.set_group("group-A");
  join.set_client_id("test");
  join.mutable_subscription()->add_topics("orders-topic");
  v1::ConsumerGroupHeartbeatResponse member;
  ASSERT_TRUE(
      c.broker_stub(coordinator).ConsumerGroupHeartbeat(RpcContext().get(), join, &member).ok());
  ASSERT_EQ(v1::NONE, member.error().code()) << member.error().message();
  ASSERT_EQ(1, member.assignment().topics_size());
  EXPECT_EQ(1, member.assignment().topics(0).partitions_size()) << "orders-topic has one partition";
  EXPECT_EQ(v1::NONE,
            CommitOffset(c, coordinator, "group-A", member.member_id(), member.member_epoch(), 0, 6)
                .error()
                .code());
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH, CommitOffset(c, coordinator, "group-A", member.member_id(),
                                                 member.member_epoch() - 1, 0, 7)
                                        .error()
                                        .code());
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID,
            CommitOffset(c, coordinator, "group-A", "", -1, 0, 8).error().code())
      << "no standalone commits while the group has members";

  // Its metrics count the group, its member and the commits, and each
  // group's lag behind the high watermark (11: the ten and the "x" above)
  // on its coordinator.
  const std::string lag_a =
      "samsa_broker_consumer_lag_records{group=\"group-A\",partition=\"0\",topic=\"orders-topic\"} "
      "5";
  const std::string lag_b =
      "samsa_broker_consumer_lag_records{group=\"group-B\",partition=\"0\",topic=\"orders-topic\"} "
      "10";
  std::string metrics, metrics_b;
  (void)Eventually(
      [&] {
        metrics = HttpGet(c.broker_metrics_port(coordinator), "/metrics");
        metrics_b = HttpGet(c.broker_metrics_port(coordinator_b), "/metrics");
        return absl::StrContains(metrics, "samsa_broker_group_members 1") &&
               absl::StrContains(metrics, lag_a) && absl::StrContains(metrics_b, lag_b);
      },
      absl::Seconds(8), absl::Milliseconds(100));
  EXPECT_TRUE(absl::StrContains(metrics, lag_a)) << lag_a;
  EXPECT_TRUE(absl::StrContains(metrics_b, lag_b)) << lag_b;
  EXPECT_THAT(metrics, ::testing::HasSubstr("samsa_broker_group_members 1"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("samsa_broker_groups\\{state=\"[a-z]+\"\\} 1"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("samsa_broker_offset_commit_seconds_count [3-9]"));
  EXPECT_THAT(metrics, ::testing::ContainsRegex("samsa_broker_group_rebalances_total [1-9]"));

  // The coordinator dies: another replica of its __consumer_offsets
  // partition takes over and serves every acknowledged commit.
  c.KillBroker(coordinator);
  const int ask = coordinator == 101 ? 102 : 101;
  const int next = FindCoordinator(c, ask, "group-A", coordinator);
  ASSERT_NE(-1, next);
  EXPECT_EQ((std::map<int32_t, int64_t>{{0, 6}}), Committed(c, next, "group-A"));
  ExpectRejoinsIsr(c, coordinator, "orders-topic");
}

// A member auto-commits only positions that moved: one idle for many
// auto-commit intervals writes nothing to __consumer_offsets (which keeps
// every record), and its group's offsets stay (retention counts from when
// the group was last seen with members, broker/group_coordinator.h).
TEST(GroupClusterTest, AnIdleMemberWritesNothingToTheOffsetsTopic) {
  Cluster c(FastFailoverCluster());
  StartWithTopic(c, "orders-topic");
  if (HasFatalFailure()) return;
  const std::string group = "idle-group";
  const int coordinator = FindCoordinator(c, 101, group);
  ASSERT_NE(-1, coordinator);
  const int leader = PartitionOf(c, "orders-topic", 0).leader();
  const v1::ProduceResponse::Partition produced =
      ProduceTo(c, leader, "orders-topic", 0, {"o0", "o1", "o2", "o3"}, -1);
  ASSERT_EQ(v1::NONE, produced.error().code()) << produced.error().message();
  const int offsets_partition = PartitionForKey(group, 3);
  auto commits = [&] { return FetchAll(c, coordinator, kOffsetsTopic, offsets_partition).size(); };

  std::vector<std::string> brokers;
  for (int b : {101, 102, 103}) brokers.push_back(c.broker_address(b));
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = absl::StrJoin(brokers, ","),
                                .group_id = group,
                                .auto_commit_interval = absl::Milliseconds(100),
                                .auto_offset_reset = client::OffsetReset::kEarliest});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Subscribe({"orders-topic"}).ok());
  size_t read = 0;
  (void)Eventually(
      [&] {
        absl::StatusOr<std::vector<client::ConsumerRecord>> records =
            (*consumer)->Poll(absl::Milliseconds(100));
        EXPECT_TRUE(records.ok()) << records.status();
        read += records.ok() ? records->size() : 0;
        return Committed(c, coordinator, group)[0] == 4;
      },
      absl::Seconds(30), absl::ZeroDuration());
  EXPECT_EQ(4u, read);
  ASSERT_EQ(4, Committed(c, coordinator, group)[0]) << "auto-committed once it read them";

  const size_t before = commits();
  const absl::Time idle_until = absl::Now() + absl::Seconds(2);  // 20 auto-commit intervals
  while (absl::Now() < idle_until) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        (*consumer)->Poll(absl::Milliseconds(100));
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_TRUE(records->empty());
  }
  EXPECT_EQ(before, commits()) << "nothing moved, nothing committed";

  // What it read is committed already: leaving writes nothing more (a
  // `samsa consume --group` that commits and closes writes its offsets once).
  (*consumer)->Close();
  EXPECT_EQ(before, commits()) << "leaving wrote offsets the group already held";
  EXPECT_EQ(4, Committed(c, coordinator, group)[0]);
}

}  // namespace
}  // namespace samsa::testing
