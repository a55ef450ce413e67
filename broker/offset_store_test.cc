#include "broker/offset_store.h"

#include "common/offset_records.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "storage/batch_builder.h"

namespace samsa::broker {
namespace {

std::string Value(int64_t offset, const std::string& metadata = "") {
  v1::OffsetCommitValue v;
  v.set_offset(offset);
  v.set_leader_epoch(3);
  v.set_metadata(metadata);
  v.set_commit_time_ms(1700000000000);
  return v.SerializeAsString();
}

// One batch at `base` of commit records (group, topic, partition, value;
// a null value deletes).
struct Commit {
  std::string group;
  std::string topic;
  int32_t partition;
  std::optional<std::string> value;
};
std::string Batch(int64_t base, const std::vector<Commit>& commits) {
  storage::BatchBuilder b;
  for (const Commit& c : commits) {
    const std::string key = EncodeOffsetCommitKey(c.group, c.topic, c.partition);
    b.Append(1000, key,
             c.value.has_value() ? std::optional<std::string_view>(*c.value) : std::nullopt);
  }
  std::string bytes = *b.Build();
  storage::StampBatch({reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()}, Offset(base),
                      Epoch(0));
  return bytes;
}

std::span<const uint8_t> Span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class OffsetStoreTest : public ::testing::Test {
 protected:
  OffsetStoreTest() : env_(rocksdb::NewMemEnv(rocksdb::Env::Default())) { Reopen(); }
  void Reopen() {
    store_.reset();
    store_ = *OffsetStore::Open("/offsets", env_.get());
  }
  int64_t OffsetOf(int32_t partition, const std::string& g, const std::string& t, int32_t p) {
    absl::StatusOr<std::optional<v1::OffsetCommitValue>> v =
        store_->Get(PartitionId(partition), g, t, PartitionId(p));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() && v->has_value() ? (*v)->offset() : -1;
  }

  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<OffsetStore> store_;
};

TEST_F(OffsetStoreTest, CommitsAreMaterializedPerGroupAndSurviveReopening) {
  ASSERT_TRUE(
      store_
          ->ApplyBatches(PartitionId(7), Span(Batch(0, {{"group-A", "orders", 0, Value(3)},
                                                        {"group-B", "orders", 0, Value(1)},
                                                        {"group-A", "orders", 1, Value(5)}})))
          .ok());
  ASSERT_TRUE(
      store_
          ->ApplyBatches(PartitionId(7), Span(Batch(3, {{"group-A", "orders", 0, Value(4, "m")}})))
          .ok());
  EXPECT_EQ(Offset(4), *store_->AppliedOffset(PartitionId(7)));
  EXPECT_EQ(Offset(0), *store_->AppliedOffset(PartitionId(8)));
  Reopen();
  EXPECT_EQ(4, OffsetOf(7, "group-A", "orders", 0)) << "the later commit wins";
  EXPECT_EQ(5, OffsetOf(7, "group-A", "orders", 1));
  EXPECT_EQ(1, OffsetOf(7, "group-B", "orders", 0)) << "each group its own";
  EXPECT_EQ(-1, OffsetOf(7, "group-C", "orders", 0));
  EXPECT_EQ(-1, OffsetOf(8, "group-A", "orders", 0)) << "per __consumer_offsets partition";
  EXPECT_EQ((std::vector<std::string>{"group-A", "group-B"}), *store_->Groups(PartitionId(7)));
  auto all = *store_->GroupOffsets(PartitionId(7), "group-A");
  ASSERT_EQ(2u, all.size());
  EXPECT_EQ("m", (all[{"orders", PartitionId(0)}].metadata()));
  EXPECT_EQ(3, (all[{"orders", PartitionId(0)}].leader_epoch()));
}

TEST_F(OffsetStoreTest, RecordsBelowTheAppliedOffsetAreSkippedAndTombstonesDelete) {
  const std::string first = Batch(0, {{"g", "t", 0, Value(10)}, {"g", "t", 1, Value(20)}});
  ASSERT_TRUE(store_->ApplyBatches(PartitionId(0), Span(first)).ok());
  // A replay overlapping what was applied (a restart re-reads from a batch
  // start): the old records are not applied again over newer ones.
  ASSERT_TRUE(
      store_->ApplyBatches(PartitionId(0), Span(Batch(2, {{"g", "t", 0, Value(11)}}))).ok());
  ASSERT_TRUE(
      store_->ApplyBatches(PartitionId(0), Span(first + Batch(2, {{"g", "t", 0, Value(11)}})))
          .ok());
  EXPECT_EQ(11, OffsetOf(0, "g", "t", 0));
  EXPECT_EQ(Offset(3), *store_->AppliedOffset(PartitionId(0)));
  ASSERT_TRUE(
      store_->ApplyBatches(PartitionId(0), Span(Batch(3, {{"g", "t", 1, std::nullopt}}))).ok());
  EXPECT_EQ(-1, OffsetOf(0, "g", "t", 1));
  EXPECT_EQ(11, OffsetOf(0, "g", "t", 0));
}

TEST_F(OffsetStoreTest, ResetForgetsOnePartitionOnly) {
  ASSERT_TRUE(
      store_->ApplyBatches(PartitionId(1), Span(Batch(0, {{"g1", "t", 0, Value(1)}}))).ok());
  ASSERT_TRUE(
      store_->ApplyBatches(PartitionId(2), Span(Batch(0, {{"g2", "t", 0, Value(2)}}))).ok());
  ASSERT_TRUE(store_->ResetPartition(PartitionId(1)).ok());
  EXPECT_EQ(-1, OffsetOf(1, "g1", "t", 0));
  EXPECT_EQ(Offset(0), *store_->AppliedOffset(PartitionId(1)));
  EXPECT_EQ(2, OffsetOf(2, "g2", "t", 0));
  EXPECT_EQ(Offset(1), *store_->AppliedOffset(PartitionId(2)));
}

TEST_F(OffsetStoreTest, GarbageIsRefusedAndChangesNothing) {
  ASSERT_TRUE(store_->ApplyBatches(PartitionId(0), Span(Batch(0, {{"g", "t", 0, Value(1)}}))).ok());
  storage::BatchBuilder b;
  b.Append(1000, "not a key \xff\xff\xff", "v");
  std::string bad = *b.Build();
  storage::StampBatch({reinterpret_cast<uint8_t*>(bad.data()), bad.size()}, Offset(3), Epoch(0));
  const std::string good = Batch(2, {{"g", "t", 0, Value(9)}});
  EXPECT_EQ(absl::StatusCode::kDataLoss,
            store_->ApplyBatches(PartitionId(0), Span(good + bad)).code());
  EXPECT_EQ(1, OffsetOf(0, "g", "t", 0)) << "nothing of the failed call applied";
  EXPECT_EQ(Offset(1), *store_->AppliedOffset(PartitionId(0)));
  EXPECT_FALSE(store_->ApplyBatches(PartitionId(0), Span(std::string("\x01\x02\x03", 3))).ok());
}

}  // namespace
}  // namespace samsa::broker
