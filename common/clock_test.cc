#include "common/clock.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

TEST(ClockTest, RealMonotonicNeverGoesBack) {
  Clock& c = Clock::Real();
  absl::Duration prev = c.Monotonic();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration now = c.Monotonic();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(ClockTest, RealWallClockIsNearAbslNow) {
  EXPECT_LT(absl::AbsDuration(Clock::Real().Now() - absl::Now()), absl::Seconds(5));
}

TEST(ClockTest, FakeMovesOnlyWhenAdvanced) {
  FakeClock c(absl::FromUnixSeconds(100));
  EXPECT_EQ(absl::ZeroDuration(), c.Monotonic());
  EXPECT_EQ(absl::FromUnixSeconds(100), c.Now());
  c.Advance(absl::Milliseconds(250));
  EXPECT_EQ(absl::Milliseconds(250), c.Monotonic());
  EXPECT_EQ(absl::FromUnixMillis(100250), c.Now());
}

TEST(ClockTest, FakeWallStepLeavesMonotonicAlone) {
  FakeClock c(absl::FromUnixSeconds(100));
  c.Advance(absl::Seconds(1));
  c.SetWallTime(absl::FromUnixSeconds(50));
  EXPECT_EQ(absl::FromUnixSeconds(50), c.Now());
  EXPECT_EQ(absl::Seconds(1), c.Monotonic());
}

TEST(ClockDeathTest, FakeRefusesToGoBack) {
  FakeClock c;
  EXPECT_DEATH(c.Advance(absl::Seconds(-1)), "a clock cannot go back");
}

}  // namespace
}  // namespace samsa
