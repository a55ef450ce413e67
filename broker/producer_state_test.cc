#include "broker/producer_state.h"

#include <limits>

#include "gtest/gtest.h"

namespace samsa::broker {
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

}  // namespace
}  // namespace samsa::broker
