#include "controller/balancer.h"

#include <algorithm>
#include <map>
#include <set>

#include "controller/reassignment.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Replica lists for `n` partitions of `rf` over brokers 1..brokers, round
// robin (balanced in replicas and leaders).
std::vector<std::vector<int>> RoundRobin(int n, int rf, int brokers) {
  std::vector<std::vector<int>> out;
  for (int p = 0; p < n; ++p) {
    std::vector<int> replicas;
    for (int r = 0; r < rf; ++r) replicas.push_back(1 + (p + r) % brokers);
    out.push_back(replicas);
  }
  return out;
}

void AddBroker(MetadataImage& image, int id, const std::string& rack = "") {
  PendingBatch batch(image);
  const int64_t epoch = image.next_broker_epoch();
  ASSERT_TRUE(batch
                  .Add(records::RegisterBroker(NodeId(id), Uuid{8, static_cast<uint64_t>(id)},
                                               epoch, "127.0.0.1:1", rack))
                  .ok());
  ASSERT_TRUE(batch.Add(records::UnfenceBroker(NodeId(id), epoch)).ok());
  Commit(image, batch);
}

struct Counts {
  std::map<NodeId, int64_t> replicas;
  std::map<NodeId, int64_t> leaders;  // preferred leaderships (first replica)
};

// The counts once the plan's targets are in place.
Counts After(const MetadataImage& image, const BalancePlan& plan) {
  std::map<std::pair<std::string, int32_t>, std::vector<NodeId>> target;
  for (const PlannedMove& m : plan.moves) target[{m.topic, m.partition}] = m.to;
  Counts c;
  for (const auto& [id, b] : image.brokers()) {
    c.replicas[id] = 0;
    c.leaders[id] = 0;
  }
  for (const auto& [name, topic] : image.topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      auto it = target.find({name, static_cast<int32_t>(i)});
      const std::vector<NodeId> replicas =
          it != target.end() ? it->second : topic->partitions[i].Target();
      for (NodeId r : replicas) ++c.replicas[r];
      ++c.leaders[replicas.front()];
    }
  }
  return c;
}

// Starts move `m`, lets its new replicas catch up (all in the ISR) and
// completes it.
void CarryOut(MetadataImage& image, const PlannedMove& m) {
  PendingBatch batch(image);
  ASSERT_EQ(v1::NONE, StartReassignment(batch, m.topic, m.partition, m.to).code());
  Commit(image, batch);
  PendingBatch caught_up(image);
  const PartitionImage& p = PartitionOf(image, m.topic, m.partition);
  ASSERT_TRUE(caught_up
                  .Add(records::PartitionChange(image.FindTopic(m.topic)->id, m.partition,
                                                std::nullopt, p.replicas))
                  .ok());
  ASSERT_TRUE(CompleteReassignments(caught_up).ok());
  Commit(image, caught_up);
}

// Bytes per broker once the plan's targets are in place.
std::map<NodeId, int64_t> BytesAfter(const MetadataImage& image, const BalancePlan& plan,
                                     const ClusterUsage& usage) {
  std::map<std::pair<std::string, int32_t>, std::vector<NodeId>> target;
  for (const PlannedMove& m : plan.moves) target[{m.topic, m.partition}] = m.to;
  std::map<NodeId, int64_t> bytes;
  for (const auto& [id, b] : image.brokers()) bytes[id] = 0;
  for (const auto& [name, topic] : image.topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const int32_t p = static_cast<int32_t>(i);
      auto it = target.find({name, p});
      auto size = usage.partition_bytes.find({topic->id, p});
      for (NodeId r : it != target.end() ? it->second : topic->partitions[i].Target()) {
        bytes[r] += size == usage.partition_bytes.end() ? 0 : size->second;
      }
    }
  }
  return bytes;
}

int64_t Spread(const std::map<NodeId, int64_t>& counts) {
  auto [lo, hi] =
      std::minmax_element(counts.begin(), counts.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; });
  return hi->second - lo->second;
}

void ExpectWithinOneOfTheMean(const std::map<NodeId, int64_t>& counts, const char* what) {
  int64_t total = 0;
  for (const auto& [id, n] : counts) total += n;
  const double mean = static_cast<double>(total) / static_cast<double>(counts.size());
  for (const auto& [id, n] : counts) {
    EXPECT_LE(std::abs(static_cast<double>(n) - mean), 1.0)
        << what << " of broker " << id << ": " << n << ", mean " << mean;
  }
}

TEST(BalancerTest, AFourthBrokerGetsItsShareOfReplicasAndLeaders) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", RoundRobin(30, 3, 3));
  AddBroker(image, 4);
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{});
  Counts after = After(image, plan);
  ExpectWithinOneOfTheMean(after.replicas, "replicas");
  ExpectWithinOneOfTheMean(after.leaders, "leaders");
  // No more data moves than the replicas broker 4 receives.
  EXPECT_EQ(after.replicas[NodeId(4)], plan.data_moves());
  EXPECT_GE(after.replicas[NodeId(4)], 22);
  EXPECT_THAT(plan.unplaceable, IsEmpty());
  for (const PlannedMove& m : plan.moves) {
    EXPECT_EQ(3u, m.to.size()) << "the replication factor stays";
  }
}

TEST(BalancerTest, ABalancedClusterGetsAnEmptyPlan) {
  MetadataImage image = ImageWithBrokers(4);
  AddTopic(image, "a", RoundRobin(32, 3, 4));
  AddTopic(image, "b", RoundRobin(8, 2, 4));
  EXPECT_THAT(PlanBalance(image, {}, BalanceOptions{}).moves, IsEmpty());

  // And once a plan's moves are done, planning again finds nothing.
  AddBroker(image, 5);
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{});
  ASSERT_FALSE(plan.moves.empty());
  for (const PlannedMove& m : plan.moves) ASSERT_NO_FATAL_FAILURE(CarryOut(image, m));
  EXPECT_EQ(0, MovingPartitions(image));
  EXPECT_THAT(PlanBalance(image, {}, BalanceOptions{}).moves, IsEmpty());
}

TEST(BalancerTest, RacksStayApart) {
  // Racks a, b, c with two brokers each; every partition spans the racks.
  MetadataImage image = ImageWithBrokers(6, {"a", "b", "c"});
  std::vector<std::vector<int>> replicas;
  for (int p = 0; p < 24; ++p) replicas.push_back({1 + p % 2 * 3, 2 + p % 2 * 3, 3 + p % 2 * 3});
  AddTopic(image, "t", replicas);
  AddBroker(image, 7, "a");
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{});
  ASSERT_FALSE(plan.moves.empty());
  EXPECT_GT(After(image, plan).replicas[NodeId(7)], 0);
  for (const PlannedMove& m : plan.moves) {
    std::set<std::string> racks;
    for (NodeId r : m.to) racks.insert(image.FindBroker(r)->rack);
    EXPECT_EQ(3u, racks.size()) << m.topic << "-" << m.partition;
  }
}

TEST(BalancerTest, ABrokerAtCapacityTakesNothing) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", RoundRobin(30, 3, 3));
  AddBroker(image, 4);
  ClusterUsage usage;
  usage.disks[NodeId(4)] = {.log_bytes = 0, .total_bytes = 100, .free_bytes = 10};
  const BalancePlan plan = PlanBalance(image, usage, BalanceOptions{.max_disk_usage = 0.8});
  EXPECT_EQ(0, After(image, plan).replicas[NodeId(4)]);
  EXPECT_EQ(0, plan.data_moves());
}

TEST(BalancerTest, DecommissioningEmptiesTheBrokerAndKeepsTheOthersEven) {
  MetadataImage image = ImageWithBrokers(5);
  AddTopic(image, "t", RoundRobin(20, 3, 5));
  PendingBatch batch(image);
  ASSERT_TRUE(batch.Add(records::BrokerDecommission(NodeId(2))).ok());
  Commit(image, batch);
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{.max_moves = 1000});
  Counts after = After(image, plan);
  EXPECT_EQ(0, after.replicas[NodeId(2)]);
  EXPECT_EQ(0, after.leaders[NodeId(2)]);
  after.replicas.erase(NodeId(2));
  after.leaders.erase(NodeId(2));
  ExpectWithinOneOfTheMean(after.replicas, "replicas");
  ExpectWithinOneOfTheMean(after.leaders, "leaders");
  EXPECT_THAT(plan.unplaceable, IsEmpty());
}

TEST(BalancerTest, ReplicasWithNowhereToGoAreReported) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", {{1, 2, 3}});
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{.evacuate = {NodeId(3)}});
  EXPECT_THAT(plan.unplaceable, ElementsAre("t-0"));
  EXPECT_THAT(plan.moves, IsEmpty());
}

TEST(BalancerTest, DataMovesStayWithinTheBudgetCountingMovesInProgress) {
  MetadataImage image = ImageWithBrokers(3);
  AddTopic(image, "t", RoundRobin(30, 3, 3));
  AddBroker(image, 4);
  PendingBatch batch(image);
  ASSERT_EQ(v1::NONE, StartReassignment(batch, "t", 0, {NodeId(4), NodeId(2), NodeId(3)}).code());
  Commit(image, batch);
  const BalancePlan plan = PlanBalance(image, {}, BalanceOptions{.max_moves = 5});
  EXPECT_EQ(4, plan.data_moves());
  for (const PlannedMove& m : plan.moves) {
    EXPECT_FALSE(m.topic == "t" && m.partition == 0) << "a moving partition is left alone";
  }
}

constexpr int64_t kMiB = int64_t{1} << 20;

// 4 brokers, 24 partitions RF 2 round robin (even counts); the partitions
// broker 1 leads are ten times the size of the others.
struct SkewedCluster {
  MetadataImage image = ImageWithBrokers(4);
  ClusterUsage usage;
  SkewedCluster() {
    const Uuid id = AddTopic(image, "t", RoundRobin(24, 2, 4));
    for (int32_t p = 0; p < 24; ++p)
      usage.partition_bytes[{id, p}] = (p % 4 == 0 ? 1000 : 100) * kMiB;
  }
};

TEST(BalancerTest, ContinuousModeEvensOutDiskBytesAndKeepsCountsEven) {
  SkewedCluster c;
  const BalanceOptions options{.even_disk = true, .max_moves = 100};
  const int64_t before = Spread(BytesAfter(c.image, {}, c.usage));
  ASSERT_EQ(5400 * kMiB, before);  // brokers 1 and 2: 6600 MiB, 3 and 4: 1200 MiB
  const BalancePlan plan = PlanBalance(c.image, c.usage, options);
  ASSERT_GT(plan.data_moves(), 0);
  const std::map<NodeId, int64_t> bytes = BytesAfter(c.image, plan, c.usage);
  int64_t total = 0;
  for (const auto& [id, n] : bytes) total += n;
  // Within the tolerance: a tenth of the mean.
  EXPECT_LE(Spread(bytes), total / 4 / 10) << "bytes per broker after the plan";
  const Counts after = After(c.image, plan);
  ExpectWithinOneOfTheMean(after.replicas, "replicas");
  ExpectWithinOneOfTheMean(after.leaders, "leaders");
  for (const PlannedMove& m : plan.moves) {
    EXPECT_EQ(2u, m.to.size());
    EXPECT_EQ(2u, std::set<NodeId>(m.to.begin(), m.to.end()).size()) << "distinct replicas";
  }
}

TEST(BalancerTest, DiskBytesAreLeftAloneOutsideContinuousModeAndWithinTolerance) {
  SkewedCluster c;
  EXPECT_THAT(PlanBalance(c.image, c.usage, BalanceOptions{.max_moves = 100}).moves, IsEmpty());

  // Even within the tolerance: 4 brokers of 600 MiB, but one of 650.
  MetadataImage image = ImageWithBrokers(4);
  const Uuid id = AddTopic(image, "t", RoundRobin(4, 1, 4));
  ClusterUsage usage;
  for (int32_t p = 0; p < 4; ++p) usage.partition_bytes[{id, p}] = (p == 0 ? 650 : 600) * kMiB;
  EXPECT_THAT(PlanBalance(image, usage, BalanceOptions{.even_disk = true}).moves, IsEmpty());
}

TEST(BalancerTest, DiskMovesStayWithinTheBudgetAndConverge) {
  SkewedCluster c;
  // Two data moves at a time, as the controller runs them: plan, move, plan
  // again until nothing is left to do.
  int rounds = 0;
  for (;; ++rounds) {
    ASSERT_LT(rounds, 50) << "the plans do not converge";
    const BalancePlan plan =
        PlanBalance(c.image, c.usage, BalanceOptions{.even_disk = true, .max_moves = 2});
    EXPECT_LE(plan.data_moves(), 2);
    if (plan.moves.empty()) break;
    for (const PlannedMove& m : plan.moves) ASSERT_NO_FATAL_FAILURE(CarryOut(c.image, m));
  }
  EXPECT_GT(rounds, 1);
  const std::map<NodeId, int64_t> bytes = BytesAfter(c.image, {}, c.usage);
  int64_t total = 0;
  for (const auto& [id, n] : bytes) total += n;
  EXPECT_LE(Spread(bytes), total / 4 / 10);
  ExpectWithinOneOfTheMean(After(c.image, {}).replicas, "replicas");
}

}  // namespace
}  // namespace samsa::controller
