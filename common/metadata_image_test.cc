#include "common/metadata_image.h"

#include <random>

#include "common/metadata_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::MetadataBatch Batch(std::initializer_list<v1::MetadataRecord> records) {
  v1::MetadataBatch b;
  for (const auto& r : records) *b.add_records() = r;
  return b;
}

PartitionImage Part(std::vector<NodeId> replicas, std::vector<NodeId> isr, NodeId leader) {
  PartitionImage p;
  p.replicas = std::move(replicas);
  p.isr = std::move(isr);
  p.leader = leader;
  return p;
}

const Uuid kTopic{1, 2};

// Two brokers and a two-partition topic, then a leader change.
std::vector<v1::MetadataBatch> History() {
  const NodeId b1(1), b2(2);
  return {
      Batch({records::RegisterBroker(b1, Uuid{9, 1}, 1, "127.0.0.1:1", "r1")}),
      Batch({records::RegisterBroker(b2, Uuid{9, 2}, 2, "127.0.0.1:2", "r2")}),
      Batch({records::UnfenceBroker(b1, 1), records::UnfenceBroker(b2, 2)}),
      Batch({records::Topic("orders", kTopic),
             records::Partition(kTopic, 0, Part({b1, b2}, {b1, b2}, b1)),
             records::Partition(kTopic, 1, Part({b2, b1}, {b2, b1}, b2)),
             records::Config(kTopic, "retention.ms", "1000")}),
      Batch({records::PartitionChange(kTopic, 0, b2, std::vector<NodeId>{b2})}),
      Batch({records::ProducerIdBlock(b1, 1, 0, 1000)}),
  };
}

MetadataImage Replay(const std::vector<v1::MetadataBatch>& batches) {
  MetadataImage image;
  int64_t offset = 0;
  for (const auto& b : batches) {
    offset += 3;  // offsets need only grow; Raft no-ops leave gaps
    EXPECT_TRUE(image.Apply(b, offset).ok());
  }
  return image;
}

TEST(MetadataImageTest, ReplayBuildsTheImage) {
  const MetadataImage image = Replay(History());
  EXPECT_EQ(18, image.offset());
  ASSERT_EQ(2u, image.brokers().size());
  const BrokerImage* b1 = image.FindBroker(NodeId(1));
  ASSERT_NE(nullptr, b1);
  EXPECT_TRUE(b1->eligible());
  EXPECT_EQ(3, b1->registered_at);
  EXPECT_EQ("r1", b1->rack);
  const TopicImage* t = image.FindTopic("orders");
  ASSERT_NE(nullptr, t);
  EXPECT_EQ(t, image.FindTopic(kTopic));
  ASSERT_EQ(2u, t->partitions.size());
  const PartitionImage& p0 = t->partitions[0];
  EXPECT_EQ(NodeId(2), p0.leader);
  EXPECT_EQ(Epoch(1), p0.leader_epoch) << "a leader change bumps the leader epoch";
  EXPECT_EQ(1, p0.partition_epoch);
  EXPECT_THAT(p0.isr, ElementsAre(NodeId(2)));
  EXPECT_EQ("1000", t->configs.at("retention.ms"));
  EXPECT_EQ(1000, image.next_producer_id());
  EXPECT_EQ(3, image.next_broker_epoch());
}

TEST(MetadataImageTest, ReplayIsDeterministic) {
  const std::string a = Replay(History()).SerializeSnapshot();
  const std::string b = Replay(History()).SerializeSnapshot();
  EXPECT_EQ(a, b);
}

TEST(MetadataImageTest, SnapshotRoundTripsAndReplayContinuesFromIt) {
  std::vector<v1::MetadataBatch> history = History();
  const MetadataImage full = Replay(history);
  // Snapshot after the first four batches, then apply the rest on top.
  MetadataImage prefix = Replay({history.begin(), history.begin() + 4});
  absl::StatusOr<MetadataImage> restored = MetadataImage::FromSnapshot(prefix.ToSnapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(prefix.SerializeSnapshot(), restored->SerializeSnapshot());
  ASSERT_TRUE(restored->Apply(history[4], 15).ok());
  ASSERT_TRUE(restored->Apply(history[5], 18).ok());
  EXPECT_EQ(full.SerializeSnapshot(), restored->SerializeSnapshot());
}

TEST(MetadataImageTest, PublishedImagesDoNotChangeWhenACopyDoes) {
  const MetadataImage before = Replay(History());
  MetadataImage after = before;
  ASSERT_TRUE(after.Apply(Batch({records::Config(kTopic, "retention.ms", "5")}), 100).ok());
  EXPECT_EQ("1000", before.FindTopic("orders")->configs.at("retention.ms"));
  EXPECT_EQ("5", after.FindTopic("orders")->configs.at("retention.ms"));
}

// Records that do not fit the image are errors naming the offset, and the
// batch holding one changes nothing.
TEST(MetadataImageTest, RecordsThatDoNotFitAreRejectedWholeBatch) {
  const MetadataImage good = Replay(History());
  const Uuid unknown{7, 7};
  const NodeId b1(1), b2(2), b9(9);
  struct Case {
    const char* name;
    v1::MetadataRecord record;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"unknown topic", records::Partition(unknown, 0, Part({b1}, {b1}, b1)), "unknown topic"},
      {"partition gap", records::Partition(kTopic, 5, Part({b1}, {b1}, b1)), "has 2 partitions"},
      {"isr outside replicas", records::PartitionChange(kTopic, 0, std::nullopt, {{b9}}),
       "not a replica"},
      {"leader outside isr", records::PartitionChange(kTopic, 0, b1, std::nullopt),
       "not in the ISR"},
      {"duplicate replica", records::Partition(kTopic, 2, Part({b1, b1}, {b1}, b1)), "twice"},
      {"stale broker epoch", records::FenceBroker(b2, 1), "registered with epoch 2"},
      {"unregistered broker", records::UnfenceBroker(b9, 1), "unregistered broker 9"},
      {"epoch going back", records::RegisterBroker(b9, Uuid{1, 1}, 2, "h:1", ""),
       "below the next epoch"},
      {"topic exists", records::Topic("orders", Uuid{5, 5}), "exists already"},
      {"id taken", records::Topic("other", kTopic), "is taken"},
      {"producer ids reused", records::ProducerIdBlock(b1, 1, 0, 1000), "next id is 1000"},
      {"remove unknown", records::RemoveTopic(unknown), "unknown id"},
      {"adding outside replicas",
       records::PartitionChange(kTopic, 0, std::nullopt, std::nullopt,
                                records::ReplicaSets{{b1, b2}, {b9}, {}}),
       "not a replica"},
      {"added and removed",
       records::PartitionChange(kTopic, 0, std::nullopt, std::nullopt,
                                records::ReplicaSets{{b1, b2}, {b1}, {b1}}),
       "both added and removed"},
      {"removing every replica",
       records::PartitionChange(kTopic, 0, std::nullopt, std::nullopt,
                                records::ReplicaSets{{b1, b2}, {}, {b1, b2}}),
       "removing every replica"},
      {"decommission unknown", records::BrokerDecommission(b9), "unregistered broker 9"},
      {"unregister unfenced", records::UnregisterBroker(b1, 1), "not fenced"},
      {"unregister stale epoch", records::UnregisterBroker(b2, 1), "not registered so"},
      {"no type", v1::MetadataRecord(), "no known type"},
  };
  for (const Case& c : cases) {
    MetadataImage image = good;
    absl::Status st =
        image.Apply(Batch({records::Config(kTopic, "segment.bytes", "1"), c.record}), 100);
    EXPECT_EQ(absl::StatusCode::kDataLoss, st.code()) << c.name;
    EXPECT_THAT(std::string(st.message()), HasSubstr("metadata offset 100, record 1")) << c.name;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.message)) << c.name;
    EXPECT_EQ(good.SerializeSnapshot(), image.SerializeSnapshot()) << c.name;
  }
  MetadataImage image = good;
  EXPECT_FALSE(image.Apply(Batch({}), 18).ok()) << "an offset that does not grow";
}

// A move from {1,2} to {2,3}: started, snapshotted mid-way, completed.
TEST(MetadataImageTest, ReassignmentStepsAndSnapshotsKeepTheMovingSets) {
  MetadataImage image = Replay(History());
  const NodeId b1(1), b2(2), b3(3);
  ASSERT_TRUE(image
                  .Apply(Batch({records::RegisterBroker(b3, Uuid{9, 3}, 3, "127.0.0.1:3", "r3"),
                                records::UnfenceBroker(b3, 3)}),
                         20)
                  .ok());
  ASSERT_TRUE(
      image
          .Apply(Batch({records::PartitionChange(kTopic, 1, std::nullopt, std::nullopt,
                                                 records::ReplicaSets{{b2, b3, b1}, {b3}, {b1}})}),
                 21)
          .ok());
  const PartitionImage& moving = image.FindTopic("orders")->partitions[1];
  EXPECT_TRUE(moving.moving());
  EXPECT_THAT(moving.Target(), ElementsAre(b2, b3));
  EXPECT_THAT(moving.Original(), ElementsAre(b2, b1));
  EXPECT_THAT(moving.isr, ElementsAre(b2, b1)) << "a move's start leaves the ISR alone";
  EXPECT_EQ(Epoch(0), moving.leader_epoch);
  EXPECT_EQ(1, moving.partition_epoch);

  absl::StatusOr<MetadataImage> restored = MetadataImage::FromSnapshot(image.ToSnapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(image.SerializeSnapshot(), restored->SerializeSnapshot());
  EXPECT_THAT(restored->FindTopic("orders")->partitions[1].adding, ElementsAre(b3));

  ASSERT_TRUE(image
                  .Apply(Batch({records::PartitionChange(kTopic, 1, std::nullopt,
                                                         std::vector<NodeId>{b2, b3},
                                                         records::ReplicaSets{{b2, b3}, {}, {}})}),
                         22)
                  .ok());
  const PartitionImage& done = image.FindTopic("orders")->partitions[1];
  EXPECT_FALSE(done.moving());
  EXPECT_THAT(done.replicas, ElementsAre(b2, b3));
}

TEST(MetadataImageTest, DecommissionAndUnregister) {
  MetadataImage image = Replay(History());
  const NodeId b1(1), b2(2), b3(3);
  ASSERT_TRUE(image
                  .Apply(Batch({records::RegisterBroker(b3, Uuid{9, 3}, 3, "127.0.0.1:3", ""),
                                records::UnfenceBroker(b3, 3), records::BrokerDecommission(b3)}),
                         20)
                  .ok());
  EXPECT_TRUE(image.FindBroker(b3)->decommissioning);
  EXPECT_TRUE(image.FindBroker(b3)->eligible());
  EXPECT_FALSE(image.FindBroker(b3)->accepts_replicas());
  absl::StatusOr<MetadataImage> restored = MetadataImage::FromSnapshot(image.ToSnapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(restored->FindBroker(b3)->decommissioning);

  // Broker 2 holds replicas: it cannot leave.
  MetadataImage copy = image;
  absl::Status st =
      copy.Apply(Batch({records::FenceBroker(b2, 2), records::UnregisterBroker(b2, 2)}), 21);
  EXPECT_THAT(std::string(st.message()), HasSubstr("holds a replica of orders-"));
  ASSERT_TRUE(
      image.Apply(Batch({records::FenceBroker(b3, 3), records::UnregisterBroker(b3, 3)}), 21).ok());
  EXPECT_EQ(nullptr, image.FindBroker(b3));
  EXPECT_NE(nullptr, image.FindBroker(b1));
}

TEST(MetadataImageTest, SnapshotsThatDoNotFitAreRejected) {
  v1::MetadataSnapshot s = Replay(History()).ToSnapshot();
  s.mutable_topics(0)->mutable_partitions(1)->add_isr(42);
  absl::StatusOr<MetadataImage> image = MetadataImage::FromSnapshot(s);
  EXPECT_EQ(absl::StatusCode::kDataLoss, image.status().code());
  EXPECT_THAT(std::string(image.status().message()), HasSubstr("metadata snapshot"));
}

TEST(MetadataImageTest, RemovedTopicsTakeTheirPartitionsAndConfigs) {
  MetadataImage image = Replay(History());
  ASSERT_TRUE(image.Apply(Batch({records::RemoveTopic(kTopic)}), 30).ok());
  EXPECT_EQ(nullptr, image.FindTopic("orders"));
  EXPECT_EQ(nullptr, image.FindTopic(kTopic));
  ASSERT_TRUE(image.Apply(Batch({records::Topic("orders", Uuid{3, 3})}), 31).ok());
  EXPECT_TRUE(image.FindTopic("orders")->configs.empty());
  EXPECT_TRUE(image.FindTopic("orders")->partitions.empty());
}

}  // namespace
}  // namespace samsa
