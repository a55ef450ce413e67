// The consumer against the fake broker: offset reset, order, seek, pause,
// out-of-range positions.
#include "client/consumer.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/errors.h"
#include "client/fake_broker.h"
#include "common/eventually.h"
#include "gtest/gtest.h"

namespace samsa::client {
namespace {

using samsa::testing::Eventually;

using testing::FakeBroker;

const TopicPartition kP0{"t", 0};
const TopicPartition kP1{"t", 1};

std::vector<std::string> Values(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::StrCat(prefix, i));
  return out;
}

// Polls until `n` records came (or 10 s passed); per partition, in order.
std::map<int, std::vector<std::pair<int64_t, std::string>>> PollN(Consumer& c, size_t n) {
  std::map<int, std::vector<std::pair<int64_t, std::string>>> out;
  size_t got = 0;
  bool failed = false;
  // Poll waits for records itself.
  (void)Eventually(
      [&] {
        absl::StatusOr<std::vector<ConsumerRecord>> records = c.Poll(absl::Milliseconds(100));
        EXPECT_TRUE(records.ok()) << records.status();
        failed = !records.ok();
        for (const ConsumerRecord& r : records.value_or(std::vector<ConsumerRecord>())) {
          out[r.partition].emplace_back(r.offset, r.value.value_or("null"));
          ++got;
        }
        return failed || got >= n;
      },
      absl::Seconds(10), absl::ZeroDuration());
  return out;
}

std::vector<std::pair<int64_t, std::string>> Expected(const std::string& prefix, int from, int to) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (int i = from; i < to; ++i) out.emplace_back(i, absl::StrCat(prefix, i));
  return out;
}

TEST(ConsumerTest, EarliestReadsEverythingInOrderLatestOnlyWhatComesAfter) {
  auto fake = std::make_shared<FakeBroker>(2);
  fake->Append(0, Values("a", 10));
  fake->Append(1, Values("b", 5));
  auto earliest = Consumer::Create(
      {.bootstrap = "fake:1", .auto_offset_reset = OffsetReset::kEarliest, .max_poll_records = 3},
      fake);
  ASSERT_TRUE(earliest.ok());
  (*earliest)->Assign({kP0, kP1});
  auto got = PollN(**earliest, 15);
  EXPECT_EQ(Expected("a", 0, 10), got[0]);
  EXPECT_EQ(Expected("b", 0, 5), got[1]);
  EXPECT_EQ(10, *(*earliest)->Position(kP0, absl::Seconds(1)));

  auto latest = Consumer::Create({.bootstrap = "fake:1"}, fake);
  ASSERT_TRUE(latest.ok());
  (*latest)->Assign({kP0, kP1});
  ASSERT_EQ(10, *(*latest)->Position(kP0, absl::Seconds(5)));
  ASSERT_EQ(5, *(*latest)->Position(kP1, absl::Seconds(5)));
  fake->Append(1, {"new"});
  got = PollN(**latest, 1);
  EXPECT_TRUE(got[0].empty());
  EXPECT_EQ((std::vector<std::pair<int64_t, std::string>>{{5, "new"}}), got[1]);
}

TEST(ConsumerTest, SeekRereadsAndDropsWhatWasAlreadyFetched) {
  auto fake = std::make_shared<FakeBroker>(2);
  fake->Append(0, Values("a", 10));
  auto c = Consumer::Create(
      {.bootstrap = "fake:1", .auto_offset_reset = OffsetReset::kEarliest, .max_poll_records = 4},
      fake);
  ASSERT_TRUE(c.ok());
  (*c)->Assign({kP0});
  auto first = PollN(**c, 4);
  ASSERT_EQ(Expected("a", 0, 4), first[0]);
  // Records 4..9 are fetched (pipelined) by now; a seek back discards them.
  ASSERT_TRUE((*c)->Seek(kP0, 2).ok());
  EXPECT_EQ(2, *(*c)->Position(kP0, absl::Seconds(1)));
  auto again = PollN(**c, 8);
  EXPECT_EQ(Expected("a", 2, 10), again[0]);
  EXPECT_FALSE((*c)->Seek(kP1, 0).ok()) << "not assigned";
}

TEST(ConsumerTest, APausedPartitionIsHeldBackUntilResumed) {
  auto fake = std::make_shared<FakeBroker>(2);
  fake->Append(0, Values("a", 3));
  fake->Append(1, Values("b", 3));
  auto c =
      Consumer::Create({.bootstrap = "fake:1", .auto_offset_reset = OffsetReset::kEarliest}, fake);
  ASSERT_TRUE(c.ok());
  (*c)->Assign({kP0, kP1});
  (*c)->Pause({kP1});
  auto got = PollN(**c, 3);
  EXPECT_EQ(Expected("a", 0, 3), got[0]);
  absl::StatusOr<std::vector<ConsumerRecord>> none = (*c)->Poll(absl::Milliseconds(200));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "partition 1 is paused";
  (*c)->Resume({kP1});
  got = PollN(**c, 3);
  EXPECT_EQ(Expected("b", 0, 3), got[1]);
}

TEST(ConsumerTest, AnOutOfRangePositionIsResetOrReported) {
  auto fake = std::make_shared<FakeBroker>(2);
  fake->Append(0, Values("a", 3));
  auto reset =
      Consumer::Create({.bootstrap = "fake:1", .auto_offset_reset = OffsetReset::kEarliest}, fake);
  ASSERT_TRUE(reset.ok());
  (*reset)->Assign({kP0});
  ASSERT_TRUE((*reset)->Seek(kP0, 100).ok());
  EXPECT_EQ(Expected("a", 0, 3), PollN(**reset, 3)[0]) << "reset to the earliest offset";

  auto strict =
      Consumer::Create({.bootstrap = "fake:1", .auto_offset_reset = OffsetReset::kNone}, fake);
  ASSERT_TRUE(strict.ok());
  (*strict)->Assign({kP0});
  ASSERT_TRUE((*strict)->Seek(kP0, 100).ok());
  absl::StatusOr<std::vector<ConsumerRecord>> r = (*strict)->Poll(absl::Seconds(5));
  EXPECT_EQ(v1::OFFSET_OUT_OF_RANGE, KafkaCodeOf(r.status())) << r.status();
}

}  // namespace
}  // namespace samsa::client
