#include "common/offset_records.h"

#include "gtest/gtest.h"

namespace samsa {
namespace {

TEST(OffsetRecordsTest, DecodesWhatACommitWrites) {
  v1::OffsetCommitValue value;
  value.set_offset(4);
  value.set_leader_epoch(2);
  value.set_metadata("m");
  value.set_commit_time_ms(1700000000000);
  const std::string key = EncodeOffsetCommitKey("group-A", "orders", 1);
  absl::StatusOr<OffsetCommitRecord> r = DecodeOffsetCommitRecord(key, value.SerializeAsString());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ("group-A", r->key.group());
  EXPECT_EQ("orders", r->key.topic());
  EXPECT_EQ(1, r->key.partition());
  ASSERT_TRUE(r->value.has_value());
  EXPECT_EQ(4, r->value->offset());
  EXPECT_EQ("m", r->value->metadata());
}

TEST(OffsetRecordsTest, ANullValueDeletesAndGarbageIsDataLoss) {
  absl::StatusOr<OffsetCommitRecord> tombstone =
      DecodeOffsetCommitRecord(EncodeOffsetCommitKey("g", "t", 0), std::nullopt);
  ASSERT_TRUE(tombstone.ok());
  EXPECT_FALSE(tombstone->value.has_value());

  absl::StatusOr<OffsetCommitRecord> no_key = DecodeOffsetCommitRecord(std::nullopt, "");
  EXPECT_EQ(absl::StatusCode::kDataLoss, no_key.status().code());
  EXPECT_EQ("not a commit key", no_key.status().message());
  // A field tag with a truncated length: not a protobuf message.
  absl::StatusOr<OffsetCommitRecord> bad_value =
      DecodeOffsetCommitRecord(EncodeOffsetCommitKey("g", "t", 0), std::string("\x1a\x05m", 3));
  EXPECT_EQ(absl::StatusCode::kDataLoss, bad_value.status().code());
  EXPECT_EQ("not a commit value", bad_value.status().message());
}

}  // namespace
}  // namespace samsa
