#include "broker/broker_service.h"

#include "common/metadata_records.h"
#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

MetadataImage TwoBrokersOneFenced() {
  MetadataImage image;
  v1::MetadataBatch b;
  *b.add_records() = records::RegisterBroker(NodeId(1), Uuid{1, 1}, 1, "h:1", "r1");
  *b.add_records() = records::RegisterBroker(NodeId(2), Uuid{1, 2}, 2, "h:2", "r2");
  *b.add_records() = records::UnfenceBroker(NodeId(1), 1);
  *b.add_records() = records::Topic("t", Uuid{5, 5});
  PartitionImage p;
  p.replicas = {NodeId(1), NodeId(2)};
  p.isr = p.replicas;
  p.leader = NodeId(1);
  *b.add_records() = records::Partition(Uuid{5, 5}, 0, p);
  EXPECT_TRUE(image.Apply(b, 7).ok());
  return image;
}

TEST(BrokerMetadataTest, AnswersFromTheImage) {
  const MetadataImage image = TwoBrokersOneFenced();
  v1::MetadataResponse r = DescribeMetadata(image, {}, NodeId(3));
  EXPECT_EQ(7, r.metadata_offset());
  EXPECT_EQ(3, r.controller_id());
  ASSERT_EQ(1, r.brokers_size()) << "fenced brokers are not offered to clients";
  EXPECT_EQ(1, r.brokers(0).broker_id());
  EXPECT_EQ("h:1", r.brokers(0).address());
  ASSERT_EQ(1, r.topics_size());
  EXPECT_EQ("t", r.topics(0).name());
  EXPECT_EQ(1, r.topics(0).partitions(0).leader());
  EXPECT_EQ(2, r.topics(0).partitions(0).replicas_size());
}

TEST(BrokerMetadataTest, UnknownTopicsAreNamedAsSuch) {
  v1::MetadataRequest req;
  req.add_topics("t");
  req.add_topics("missing");
  v1::MetadataResponse r = DescribeMetadata(TwoBrokersOneFenced(), req, kNoNode);
  ASSERT_EQ(2, r.topics_size());
  EXPECT_EQ(v1::NONE, r.topics(0).error().code());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, r.topics(1).error().code());
  EXPECT_EQ("missing", r.topics(1).name());
}

}  // namespace
}  // namespace samsa::broker
