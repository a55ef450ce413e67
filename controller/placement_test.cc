#include "controller/placement.h"

#include <map>
#include <set>

#include "common/metadata_records.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::HasSubstr;

// Places and commits `partitions` x `rf` for a new topic.
void PlaceTopic(MetadataImage& image, const std::string& name, int partitions, int rf,
                uint64_t seed) {
  absl::StatusOr<std::vector<std::vector<NodeId>>> placed =
      PlaceReplicas(image, partitions, rf, seed);
  ASSERT_TRUE(placed.ok()) << placed.status();
  std::vector<std::vector<int>> replicas;
  for (const auto& list : *placed) {
    std::set<NodeId> distinct(list.begin(), list.end());
    ASSERT_EQ(static_cast<size_t>(rf), distinct.size()) << "replicas of a partition are distinct";
    std::vector<int> ids;
    for (NodeId id : list) ids.push_back(id.value());
    replicas.push_back(ids);
  }
  AddTopic(image, name, replicas);
}

TEST(PlacementTest, HundredTopicsOfTwelvePartitionsAreEvenOnFiveBrokers) {
  MetadataImage image = ImageWithBrokers(5);
  for (int t = 0; t < 100; ++t) PlaceTopic(image, "t" + std::to_string(t), 12, 3, 1000 + t);
  std::map<NodeId, int> replicas, leaders;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) {
      for (NodeId r : p.replicas) ++replicas[r];
      ++leaders[p.replicas.front()];
    }
  }
  ASSERT_EQ(5u, replicas.size());
  for (const auto& [id, n] : replicas) {
    EXPECT_NEAR(100 * 12 * 3 / 5, n, 1) << "replicas on broker " << id;
    EXPECT_NEAR(100 * 12 / 5, leaders[id], 1) << "leaders on broker " << id;
  }
}

TEST(PlacementTest, ReplicasSpreadAcrossRacks) {
  MetadataImage image = ImageWithBrokers(6, {"a", "b", "c"});
  absl::StatusOr<std::vector<std::vector<NodeId>>> placed = PlaceReplicas(image, 20, 3, 7);
  ASSERT_TRUE(placed.ok());
  for (const auto& list : *placed) {
    std::set<std::string> racks;
    for (NodeId id : list) racks.insert(image.FindBroker(id)->rack);
    EXPECT_EQ(3u, racks.size()) << "three replicas on three racks";
  }
}

TEST(PlacementTest, DeterministicGivenImageAndSeed) {
  const MetadataImage image = ImageWithBrokers(7);
  EXPECT_EQ(*PlaceReplicas(image, 10, 3, 99), *PlaceReplicas(image, 10, 3, 99));
  std::set<NodeId> first_leaders;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    first_leaders.insert(PlaceReplicas(image, 1, 3, seed)->front().front());
  }
  EXPECT_GT(first_leaders.size(), 1u) << "the seed breaks ties, so topics start apart";
}

TEST(PlacementTest, OnlyEligibleBrokersAndNotMoreReplicasThanThem) {
  MetadataImage image = ImageWithBrokers(3);
  PendingBatch batch(image);
  ASSERT_TRUE(batch.Add(records::FenceBroker(NodeId(2), 2)).ok());
  ASSERT_TRUE(batch.Add(records::BrokerShutdown(NodeId(3), 3)).ok());
  Commit(image, batch);
  absl::StatusOr<std::vector<std::vector<NodeId>>> one = PlaceReplicas(image, 4, 1, 0);
  ASSERT_TRUE(one.ok());
  for (const auto& list : *one) EXPECT_EQ(NodeId(1), list.front());
  absl::StatusOr<std::vector<std::vector<NodeId>>> two = PlaceReplicas(image, 1, 2, 0);
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, two.status().code());
  EXPECT_THAT(std::string(two.status().message()), HasSubstr("1 are available"));
}

}  // namespace
}  // namespace samsa::controller
