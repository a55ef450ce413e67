#include "broker/wire.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

storage::Buffer Bytes(size_t n, char fill) {
  storage::Buffer b(n);
  std::memset(b.data(), fill, n);
  return b;
}

TEST(WireTest, FetchAnswerParsesAsIfRecordsWereInTheMessage) {
  FetchAnswer answer;
  v1::FetchResponse expected;
  const size_t sizes[] = {0, 10, 5000, 1 << 20};
  for (int t = 0; t < 2; ++t) {
    v1::FetchResponse::Topic* topic = answer.response.add_topics();
    topic->set_name("topic-" + std::to_string(t));
    for (int p = 0; p < 4; ++p) {
      v1::FetchResponse::Partition* part = topic->add_partitions();
      part->set_partition(p);
      part->set_high_watermark(100 + p);
      part->set_log_start_offset(p);
      if (p == 1) part->mutable_error()->set_code(v1::OFFSET_OUT_OF_RANGE);
      if (p == 2) part->add_decoded()->set_value("decoded");
      answer.records.push_back(Bytes(sizes[p], static_cast<char>('a' + p)));
    }
  }
  expected = answer.response;
  for (int t = 0; t < 2; ++t) {
    for (int p = 0; p < 4; ++p) {
      expected.mutable_topics(t)->mutable_partitions(p)->set_records(
          std::string(sizes[p], static_cast<char>('a' + p)));
    }
  }

  v1::FetchResponse parsed;
  ASSERT_TRUE(FromWire(ToWire(std::move(answer)), &parsed));
  EXPECT_EQ(expected.SerializeAsString(), parsed.SerializeAsString());
}

TEST(WireTest, LargeRecordBuffersAreSentWithoutACopy) {
  ReplicaFetchAnswer answer;
  answer.response.add_partitions()->set_topic("t");
  answer.response.set_session_id(7);
  storage::Buffer records = Bytes(64 << 10, 'r');
  const uint8_t* where = records.data();
  answer.records.push_back(std::move(records));

  grpc::ByteBuffer wire = ToWire(std::move(answer));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(wire.Dump(&slices).ok());
  bool shared = false;
  for (const grpc::Slice& s : slices)
    shared = shared || (s.begin() == where && s.size() == 64 << 10);
  EXPECT_TRUE(shared) << "the log's buffer is a slice of the response";

  v1::ReplicaFetchResponse parsed;
  ASSERT_TRUE(FromWire(wire, &parsed));
  ASSERT_EQ(1, parsed.partitions_size());
  EXPECT_EQ("t", parsed.partitions(0).topic());
  EXPECT_EQ(std::string(64 << 10, 'r'), parsed.partitions(0).records());
  EXPECT_EQ(7, parsed.session_id()) << "the fields beside the partitions are sent too";
}

TEST(WireTest, GarbageIsNotAMessage) {
  const std::string garbage = "\xff\xff\xff\xff not a protobuf";
  grpc::Slice slice(garbage);
  v1::FetchRequest request;
  EXPECT_FALSE(FromWire(grpc::ByteBuffer(&slice, 1), &request));
}

}  // namespace
}  // namespace samsa::broker
