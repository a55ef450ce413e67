#include "storage/producer_state.h"

#include <limits>

#include "gtest/gtest.h"

namespace samsa::storage {
namespace {

using Kind = ProducerState::Verdict::Kind;

storage::BatchHeader Batch(int64_t pid, int16_t epoch, int32_t first_seq, int32_t records,
                           int64_t base_offset = 0) {
  storage::BatchHeader h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = first_seq;
  h.last_offset_delta = records - 1;
  h.record_count = records;
  h.base_offset = Offset(base_offset);
  return h;
}

TEST(ProducerStateTest, SequencesMustFollowAndStartAtZero) {
  ProducerState s;
  EXPECT_EQ(Kind::kOutOfOrder, s.Check(Batch(7, 0, 5, 1)).kind) << "unknown producer";
  ASSERT_EQ(Kind::kAppend, s.Check(Batch(7, 0, 0, 3)).kind);
  s.Update(Batch(7, 0, 0, 3, 100));
  EXPECT_EQ(Kind::kAppend, s.Check(Batch(7, 0, 3, 2)).kind);
  EXPECT_EQ(Kind::kOutOfOrder, s.Check(Batch(7, 0, 4, 2)).kind) << "a gap";
  EXPECT_EQ(Kind::kOutOfOrder, s.Check(Batch(7, 0, 1, 1)).kind) << "going back";
  EXPECT_EQ(Kind::kAppend, s.Check(Batch(storage::kNoProducerId, -1, -1, 4)).kind)
      << "batches without a producer id are not checked";
}

TEST(ProducerStateTest, RetriesOfTheLastFiveBatchesAreDuplicates) {
  ProducerState s;
  for (int i = 0; i < 6; ++i) s.Update(Batch(7, 0, i * 2, 2, 10 * i));
  const ProducerState::Verdict dup = s.Check(Batch(7, 0, 8, 2));
  ASSERT_EQ(Kind::kDuplicate, dup.kind);
  EXPECT_EQ(Offset(40), dup.duplicate_first);
  EXPECT_EQ(Offset(41), dup.duplicate_last);
  EXPECT_EQ(Kind::kOutOfOrder, s.Check(Batch(7, 0, 0, 2)).kind)
      << "the sixth-last batch is forgotten";
}

TEST(ProducerStateTest, EpochsFenceOldProducersAndRestartSequences) {
  ProducerState s;
  s.Update(Batch(7, 1, 0, 1, 0));
  EXPECT_EQ(Kind::kFencedEpoch, s.Check(Batch(7, 0, 1, 1)).kind);
  EXPECT_EQ(Kind::kOutOfOrder, s.Check(Batch(7, 2, 5, 1)).kind) << "a new epoch starts at 0";
  ASSERT_EQ(Kind::kAppend, s.Check(Batch(7, 2, 0, 1)).kind);
  s.Update(Batch(7, 2, 0, 1, 1));
  EXPECT_EQ(Kind::kFencedEpoch, s.Check(Batch(7, 1, 1, 1)).kind);
}

TEST(ProducerStateTest, SequencesWrapPastInt32Max) {
  ProducerState s;
  s.Update(Batch(7, 0, 0, 2, 0));
  s.Update(Batch(7, 0, 2, std::numeric_limits<int32_t>::max() - 1, 2));  // ends at INT32_MAX
  EXPECT_EQ(Kind::kAppend, s.Check(Batch(7, 0, 0, 1)).kind);
}

TEST(ProducerStateSnapshotTest, EncodeDecodeRoundTripsAndRejectsDamage) {
  ProducerState state;
  for (int64_t id : {7, 3}) {
    for (int seq = 0; seq < 7; ++seq) {
      BatchHeader h;
      h.producer_id = id;
      h.producer_epoch = 1;
      h.base_sequence = seq;
      h.base_offset = Offset(seq * 10 + id);
      state.Update(h);
    }
  }
  const std::string bytes = state.Encode(Offset(77));
  absl::StatusOr<ProducerState::Snapshot> back = ProducerState::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Offset(77), back->offset);
  EXPECT_EQ(bytes, back->state.Encode(Offset(77)));
  EXPECT_EQ(2u, back->state.producer_count());

  for (size_t cut : {size_t{0}, size_t{3}, bytes.size() - 1}) {
    EXPECT_FALSE(ProducerState::Decode(bytes.substr(0, cut)).ok()) << cut;
  }
  std::string flipped = bytes;
  flipped[20] ^= 0x40;
  absl::Status st = ProducerState::Decode(flipped).status();
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
  EXPECT_NE(std::string::npos, st.message().find("CRC")) << st;
}

}  // namespace
}  // namespace samsa::storage
